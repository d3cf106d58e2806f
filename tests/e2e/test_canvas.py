"""The campaign canvas in real Chromium: build by drag and drop, configure, autosave, validate,
undo/redo, refuse bad connections, publish, live counts, XSS, copy/paste, and a screenshot."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.e2e.canvas_data import sales_followup_graph
from tests.e2e.conftest import login
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e]

XSS_NAMES = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]


# --- helpers -----------------------------------------------------------------------------

def unique(label: str) -> str:
    """A name unique within the shared e2e server."""
    return f"{label} {uuid.uuid4().hex[:6]}"


def simple_pipeline(server: Any) -> dict[str, Any]:
    """A pipeline without checklists, so stage moves are never refused."""
    stages = [{"number": n, "name": name, "target_days": 7, "probability": p, "checklist": []}
              for n, name, p in [(10, "New", 10), (20, "Qualified", 30), (30, "Proposed", 60), (40, "Won", 100)]]
    return server.api("POST", "/pipelines", json={"name": unique("Canvas"), "kind": "sales", "stages": stages})


def stage(pipeline: dict[str, Any], name: str) -> dict[str, Any]:
    """A stage of the pipeline by name."""
    return next(s for s in pipeline["stages"] if s["name"] == name)


def new_campaign(server: Any, name: str, graph: dict[str, Any] | None = None) -> dict[str, Any]:
    """A draft campaign made by the marketer."""
    body: dict[str, Any] = {"name": name}
    if graph is not None:
        body["graph"] = graph
    return server.api("POST", "/campaigns", json=body, as_user="marketer")


def draft(server: Any, campaign_id: int) -> dict[str, Any]:
    """The stored draft graph."""
    return server.api("GET", f"/campaigns/{campaign_id}", as_user="marketer")["draft"]  # type: ignore[no-any-return]


def wait_draft(server: Any, campaign_id: int, check: Callable[[dict[str, Any]], bool], timeout: float = 8.0) -> dict[str, Any]:
    """Poll the stored draft until `check` holds (the autosave reached the API)."""
    deadline = time.monotonic() + timeout
    graph = draft(server, campaign_id)
    while not check(graph):
        if time.monotonic() > deadline:
            raise AssertionError("the draft never reached the expected state:\n" + json.dumps(graph, indent=1)[:3000])
        time.sleep(0.15)
        graph = draft(server, campaign_id)
    return graph


def open_canvas(page: Page, server: Any, campaign_id: int, username: str = "marketer") -> None:
    """Log in and open a campaign's canvas; wait until it is interactive."""
    login(page, server, username)
    page.goto(f"{server.base_url}/campaigns/{campaign_id}")
    expect(page.locator("body[data-canvas-ready='1']")).to_have_count(1, timeout=10000)
    expect(page.locator(".vue-flow__pane")).to_be_visible()


def node(page: Page, node_id: str) -> Any:
    """The canvas node with this id."""
    return page.locator(f".vue-flow__node[data-id='{node_id}']")


def drop_from_palette(page: Page, item: str, x: int, y: int) -> None:
    """Drag a palette item (HTML5 drag and drop) onto the pane at (x, y) relative to the pane."""
    page.drag_and_drop(f".cv-palette {item}", ".cv-stage .vue-flow__pane", target_position={"x": x, "y": y})


def connect(page: Page, source: str, target: str) -> None:
    """Drag from the source node's out-handle to the target node's in-handle."""
    a = node(page, source).locator(".sc-handle-out").bounding_box()
    b = node(page, target).locator(".sc-handle-in").bounding_box()
    assert a and b
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move((a["x"] + b["x"]) / 2, (a["y"] + b["y"]) / 2 + 20, steps=6)
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=6)
    page.mouse.up()


def click_pane(page: Page) -> None:
    """Click an empty spot of the canvas (clears the selection, keeps focus on the page)."""
    page.locator(".cv-stage .vue-flow__pane").click(position={"x": 30, "y": 30})


def ids_by_kind(graph: dict[str, Any], kind: str) -> list[str]:
    """Ids of the graph's nodes of a kind."""
    return [n["id"] for n in graph["nodes"] if n["kind"] == kind]


def watch_dialogs(page: Page) -> list[str]:
    """Record (and dismiss) every JS dialog the page opens."""
    fired: list[str] = []
    page.on("dialog", lambda d: (fired.append(d.message), d.dismiss()))
    return fired


def poll(fn: Callable[[], Any], timeout: float = 10.0, interval: float = 0.25) -> Any:
    """Call fn until it returns something truthy; return it (or None after the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(interval)
    return None


def move_opportunity(server: Any, pipeline: dict[str, Any], first: str) -> dict[str, Any]:
    """A contact with a hand-made opportunity in New, then saved into Qualified (a stage move)."""
    contact = server.api("POST", "/contacts", json={"email": f"{uuid.uuid4().hex[:8]}@example.com",
                                                    "first_name": first, "last_name": "Lovelace"})
    opp = server.api("POST", "/opportunities", json={"title": f"{first}'s deal", "contact_id": contact["id"],
                                                     "pipeline_id": pipeline["id"], "stage_id": stage(pipeline, "New")["id"]})
    server.api("PATCH", f"/opportunities/{opp['id']}", json={"stage_id": stage(pipeline, "Qualified")["id"]})
    return contact


def task_campaign(pipeline: dict[str, Any], title: str) -> dict[str, Any]:
    """Moved into Qualified → a sequence creating a task for the owner."""
    return {"nodes": [
        {"id": "g1", "kind": "goal", "type": "stage_moved", "name": "Moved to Qualified", "position": {"x": 0, "y": 0},
         "config": {"pipeline_id": pipeline["id"], "stage_id": stage(pipeline, "Qualified")["id"], "direction": "into"}},
        {"id": "s1", "kind": "sequence", "name": "Call them", "position": {"x": 340, "y": 0},
         "steps": [{"id": "t1", "type": "create_task", "config": {"title": title, "assignee": "owner", "due_in_days": 0}}]},
    ], "edges": [{"id": "e_g1_s1", "source": "g1", "target": "s1"}]}


@pytest.fixture(scope="module")
def pipeline(server: Any) -> dict[str, Any]:
    """A checklist-free pipeline shared by this module's tests."""
    return simple_pipeline(server)


# --- tests -------------------------------------------------------------------------------

def test_build_configure_autosave_validate_and_undo(page: Page, server: Any, pipeline: dict[str, Any]) -> None:
    """Drag a goal and a sequence in, connect, configure; badges follow validation; undo/redo are exact."""
    campaign = new_campaign(server, unique("Built by hand"))
    cid = campaign["id"]
    open_canvas(page, server, cid)

    drop_from_palette(page, ".pal-item[data-type=stage_moved]", 60, 220)
    graph = wait_draft(server, cid, lambda g: len(g["nodes"]) == 1)
    goal = graph["nodes"][0]
    assert (goal["kind"], goal["type"], goal["config"]) == ("goal", "stage_moved", {"direction": "into"})
    gid = goal["id"]
    drop_from_palette(page, ".pal-item[data-kind=sequence]", 380, 220)
    graph = wait_draft(server, cid, lambda g: len(g["nodes"]) == 2)
    sid = ids_by_kind(graph, "sequence")[0]
    # dropped where released: the sequence sits right of the goal, on the grid
    positions = {n["id"]: n["position"] for n in graph["nodes"]}
    assert positions[sid]["x"] > positions[gid]["x"] + 200
    assert all(v % 20 == 0 for p in positions.values() for v in p.values())

    # the incomplete goal (no stage) carries a validation badge with the message on hover
    badge = node(page, gid).locator(".sc-badge")
    expect(badge).to_be_visible()
    assert "stage" in (badge.get_attribute("title") or "").lower()

    connect(page, gid, sid)
    wait_draft(server, cid, lambda g: [(e["source"], e["target"]) for e in g["edges"]] == [(gid, sid)])
    expect(page.locator(".vue-flow__edge")).to_have_count(1)

    # configure the goal: pipeline, then a stage of that pipeline
    node(page, gid).click()
    panel = page.locator(f".cv-panel[data-node-id='{gid}']")
    expect(panel).to_be_visible()
    panel.locator(f"#cfg-{gid}-pipeline_id").select_option(str(pipeline["id"]))
    options = panel.locator(f"#cfg-{gid}-stage_id option").all_text_contents()
    assert options[1:] == ["New", "Qualified", "Proposed", "Won"]  # only this pipeline's stages
    panel.locator(f"#cfg-{gid}-stage_id").select_option(str(stage(pipeline, "Qualified")["id"]))
    wait_draft(server, cid, lambda g: next(n for n in g["nodes"] if n["id"] == gid)["config"] == {
        "pipeline_id": pipeline["id"], "stage_id": stage(pipeline, "Qualified")["id"], "direction": "into"})
    expect(badge).to_have_count(0)
    expect(node(page, gid).locator(".sc-node-summary")).to_contain_text("Moved into Qualified")

    # configure the sequence: add a create_task step and fill it in
    node(page, sid).click()
    panel = page.locator(f".cv-panel[data-node-id='{sid}']")
    panel.locator(".add-step-btn").click()
    panel.locator(".step-type[data-type=create_task]").click()
    graph = wait_draft(server, cid, lambda g: len(next(n for n in g["nodes"] if n["id"] == sid)["steps"]) == 1)
    step_id = next(n for n in graph["nodes"] if n["id"] == sid)["steps"][0]["id"]
    expect(panel.locator(f".step-row[data-step-id='{step_id}'] .step-badge")).to_be_visible()  # no title yet
    expect(node(page, sid).locator(".sc-badge")).to_be_visible()
    title = panel.locator(f"#cfg-{step_id}-title")
    title.fill("Call ")
    panel.locator(f".step-row[data-step-id='{step_id}'] [data-field=title] .sc-merge-picker").select_option("contact.first_name")
    panel.locator(f"#cfg-{step_id}-due_in_days").fill("2")
    panel.locator(f"#cfg-{step_id}-due_in_days").press("Tab")
    graph = wait_draft(server, cid, lambda g: next(n for n in g["nodes"] if n["id"] == sid)["steps"][0]["config"] == {
        "title": "Call {{contact.first_name}}", "assignee": "owner", "due_in_days": 2, "description": ""})
    expect(node(page, sid).locator(".sc-badge")).to_have_count(0)
    expect(panel.locator(".sc-preview-body")).to_have_text("Call Jane")
    expect(node(page, sid).locator(".sc-step-count")).to_have_text("1 step")
    expect(page.locator(".cv-save")).to_have_text("All changes saved")

    # undo/redo restore the exact stored graph
    before = draft(server, cid)
    click_pane(page)
    box = node(page, sid).bounding_box()
    assert box
    page.mouse.move(box["x"] + 60, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + 160, box["y"] + 140, steps=8)
    page.mouse.up()
    moved = wait_draft(server, cid, lambda g: g != before)
    assert next(n for n in moved["nodes"] if n["id"] == sid)["position"] != next(
        n for n in before["nodes"] if n["id"] == sid)["position"]
    click_pane(page)
    page.keyboard.press("Control+z")
    assert wait_draft(server, cid, lambda g: g == before) == before
    page.keyboard.press("Control+Shift+z")
    assert wait_draft(server, cid, lambda g: g == moved) == moved
    # undo through a delete, too (Delete key, then the toolbar's undo button)
    node(page, sid).click()
    click_pane(page)
    node(page, gid).click()
    page.keyboard.press("Delete")
    wait_draft(server, cid, lambda g: ids_by_kind(g, "goal") == [] and g["edges"] == [])
    page.locator("button[aria-label=Undo]").click()
    assert wait_draft(server, cid, lambda g: g == moved) == moved
    expect(page.locator(".vue-flow__edge")).to_have_count(1)


def test_invalid_connections_are_refused(page: Page, server: Any, pipeline: dict[str, Any]) -> None:
    """goal→goal and a loop are refused with a visible reason; no edge is stored."""
    graph = task_campaign(pipeline, "Unused")
    graph["nodes"].append({"id": "g2", "kind": "goal", "type": "tag_applied", "name": "Tagged", "config": {"tag": "x"},
                           "position": {"x": 680, "y": 0}})
    graph["edges"].append({"id": "e_s1_g2", "source": "s1", "target": "g2"})
    campaign = new_campaign(server, unique("Refusals"), graph)
    cid = campaign["id"]
    open_canvas(page, server, cid)
    stored = draft(server, cid)
    page.locator("button[title='Fit view'], .vue-flow__controls-fitview").first.click()

    connect(page, "g2", "g1")
    toast = page.locator(".cv-toast")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("goal can't lead straight to another goal")
    connect(page, "s1", "g1")
    expect(toast).to_contain_text("loop")
    page.wait_for_timeout(1200)  # longer than the autosave delay
    assert draft(server, cid) == stored
    expect(page.locator(".vue-flow__edge")).to_have_count(2)
    expect(page.locator(".cv-save")).to_have_text("All changes saved")


def test_publish_through_diff_dialog_then_stage_move_creates_task(page: Page, server: Any, pipeline: dict[str, Any]) -> None:
    """Publish shows the diff, makes the campaign live; a stage save then creates the task (runtime)."""
    title = unique("Call Ada")
    campaign = new_campaign(server, unique("Publish me"), task_campaign(pipeline, title))
    cid = campaign["id"]
    open_canvas(page, server, cid)
    expect(page.locator(".cv-status")).to_have_text("Draft")
    page.locator(".cv-publish").click()
    dialog = page.locator("#publish-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".diff-added li")).to_have_count(2)
    expect(dialog.locator(".diff-added")).to_contain_text("Moved to Qualified")
    dialog.locator(".confirm-publish").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".cv-status")).to_have_text("Live")
    expect(page.locator(".cv-version")).to_have_text("v1")
    summary = server.api("GET", f"/campaigns/{cid}", as_user="marketer")
    assert (summary["status"], summary["live_version"]) == ("live", 1)

    contact = move_opportunity(server, pipeline, "Ada")
    tasks = poll(lambda: [t for t in server.api("GET", "/tasks") if t["title"] == title and t.get("contact_id") == contact["id"]]
                 or [t for t in server.api("GET", "/tasks") if t["title"] == title])
    assert tasks, "the embedded runtime did not create the task within 10 s"

    # a second publish with a removed node lists it as removed, with its contacts
    page.locator(".cv-publish").click()
    expect(dialog.locator(".diff-empty")).to_be_visible()
    dialog.locator("button", has_text="Cancel").click()


def test_live_counts_change_on_the_open_canvas(page: Page, server: Any, pipeline: dict[str, Any]) -> None:
    """A contact moving through the live campaign updates the node counts without a reload."""
    campaign = new_campaign(server, unique("Live counts"), task_campaign(pipeline, unique("Live task")))
    cid = campaign["id"]
    server.api("POST", f"/campaigns/{cid}/publish", as_user="marketer")
    open_canvas(page, server, cid)
    expect(page.locator(".cv-live")).to_have_attribute("data-state", "live")
    satisfied = node(page, "g1").locator(".stat.satisfied b")
    expect(satisfied).to_have_text("0")
    move_opportunity(server, pipeline, "Grace")
    expect(satisfied).to_have_text("1", timeout=10000)
    seq_stats = node(page, "s1").locator(".sc-node-stats")
    expect(seq_stats).not_to_contain_text("0 active 0 waiting 0 done 0 stopped", timeout=10000)


def test_xss_payloads_render_as_text(page: Page, server: Any, pipeline: dict[str, Any]) -> None:
    """Names, notes and email previews carrying markup are shown literally; nothing executes."""
    fired = watch_dialogs(page)
    graph = {"nodes": [
        {"id": "g1", "kind": "goal", "type": "tag_applied", "name": XSS_NAMES[0], "config": {"tag": XSS_NAMES[1]},
         "position": {"x": 0, "y": 0}},
        {"id": "s1", "kind": "sequence", "name": XSS_NAMES[1], "position": {"x": 340, "y": 0}, "steps": [
            {"id": "m1", "type": "send_email", "config": {"subject": XSS_NAMES[0], "body": "Hi {{contact.first_name}} " + XSS_NAMES[1]}}]},
        {"id": "n1", "kind": "note", "text": XSS_NAMES[1], "position": {"x": 0, "y": 200}},
    ], "edges": [{"id": "e_g1_s1", "source": "g1", "target": "s1"}]}
    campaign = new_campaign(server, XSS_NAMES[0], graph)
    cid = campaign["id"]
    open_canvas(page, server, cid)
    expect(node(page, "g1").locator(".sc-node-name")).to_have_text(XSS_NAMES[0])
    expect(node(page, "s1").locator(".sc-node-name")).to_have_text(XSS_NAMES[1])
    expect(node(page, "n1").locator(".sc-note-text")).to_have_text(XSS_NAMES[1])
    node(page, "s1").click()
    page.locator(".step-row[data-step-id='m1'] .step-title").click()
    expect(page.locator(".sc-preview-subject")).to_have_text(XSS_NAMES[0])
    expect(page.locator(".sc-preview-body")).to_have_text("Hi Jane " + XSS_NAMES[1])
    # rename by double-click to a payload, too
    click_pane(page)
    node(page, "g1").locator(".sc-node-name").dblclick()
    rename = node(page, "g1").locator("input.sc-rename")
    expect(rename).to_be_visible()
    rename.fill(XSS_NAMES[1])
    rename.press("Enter")
    expect(node(page, "g1").locator(".sc-node-name")).to_have_text(XSS_NAMES[1])
    wait_draft(server, cid, lambda g: next(n for n in g["nodes"] if n["id"] == "g1")["name"] == XSS_NAMES[1])
    page.wait_for_timeout(300)
    assert page.locator(".cv-shell img").count() == 0
    assert page.locator(".cv-shell script").count() == 0
    assert fired == []


def test_multiselect_copy_paste_into_another_campaign(page: Page, server: Any, pipeline: dict[str, Any]) -> None:
    """Shift-click two nodes, Ctrl+C, open another campaign, Ctrl+V: fresh ids, inner edge kept."""
    source = new_campaign(server, unique("Copy from"), task_campaign(pipeline, "Copied task"))
    target = new_campaign(server, unique("Paste into"))
    open_canvas(page, server, source["id"])
    node(page, "s1").click()
    node(page, "g1").click(modifiers=["Shift"])
    expect(page.locator(".vue-flow__node.selected")).to_have_count(2)
    page.keyboard.press("Control+c")
    expect(page.locator(".cv-toast")).to_contain_text("Copied 2 nodes")
    page.goto(f"{server.base_url}/campaigns/{target['id']}")
    expect(page.locator("body[data-canvas-ready='1']")).to_have_count(1)
    click_pane(page)
    page.keyboard.press("Control+v")
    graph = wait_draft(server, target["id"], lambda g: len(g["nodes"]) == 2 and len(g["edges"]) == 1)
    ids = {n["id"] for n in graph["nodes"]}
    assert not ids & {"g1", "s1"}
    assert {graph["edges"][0]["source"], graph["edges"][0]["target"]} == ids
    seq = next(n for n in graph["nodes"] if n["kind"] == "sequence")
    assert seq["steps"][0]["config"]["title"] == "Copied task" and seq["steps"][0]["id"] != "t1"


def test_realistic_campaign_screenshot(page: Page, server: Any) -> None:
    """A sales follow-up campaign (11 nodes) laid out neatly; screenshots into screenshots/."""
    admin_pipeline = server.api("POST", "/pipelines", json={"name": unique("Sales"), "kind": "sales",
                                                             "template": "sales_workflow"})
    for tag in ("New lead", "Customer"):
        server.raw("POST", "/tags", json={"tag": tag})
    campaign = new_campaign(server, "Sales follow-up", sales_followup_graph(admin_pipeline))
    open_canvas(page, server, campaign["id"])
    expect(page.locator(".vue-flow__node")).to_have_count(11)
    expect(page.locator(".vue-flow__edge")).to_have_count(8)
    page.wait_for_timeout(400)
    screenshot(page, "canvas-sales-followup")
    node(page, "s_discovery").click()
    page.locator(".step-row[data-step-id='s_discovery_2'] .step-title").click()
    page.wait_for_timeout(300)
    screenshot(page, "canvas-sales-followup-panel")
