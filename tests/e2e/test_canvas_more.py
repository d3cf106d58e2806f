"""More of the canvas in real Chromium: the campaign list, roles, versions/rollback/pause, save retries,
the problems drawer, step ordering, notes, tidy up, export/import."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.e2e.test_canvas import draft
from tests.e2e.test_canvas import drop_from_palette
from tests.e2e.test_canvas import new_campaign
from tests.e2e.test_canvas import node
from tests.e2e.test_canvas import open_canvas
from tests.e2e.test_canvas import simple_pipeline
from tests.e2e.test_canvas import stage
from tests.e2e.test_canvas import task_campaign
from tests.e2e.test_canvas import unique
from tests.e2e.test_canvas import wait_draft

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def pipeline(server: Any) -> dict[str, Any]:
    """A checklist-free pipeline shared by this module's tests."""
    return simple_pipeline(server)


def test_campaign_list_create_duplicate_archive(page: Page, server: Any, pipeline: dict[str, Any]) -> None:
    """Create from the list, see status/version/publisher, duplicate, archive."""
    page.on("dialog", lambda d: d.accept())
    login(page, server, "marketer")
    page.goto(f"{server.base_url}/campaigns")
    name = unique("Listed")
    page.fill("#new-campaign-name", name)
    page.click("#new-campaign button[type=submit]")
    page.wait_for_url(lambda url: "/campaigns/" in url)
    expect(page.locator(".cv-title")).to_have_value(name)

    live = new_campaign(server, unique("Listed live"), task_campaign(pipeline, "List task"))
    server.api("POST", f"/campaigns/{live['id']}/publish", as_user="marketer")
    page.goto(f"{server.base_url}/campaigns")
    row = page.locator(f"tr[data-campaign-id='{live['id']}']")
    expect(row.locator(".badge.live")).to_have_text("Live")
    expect(row).to_contain_text("v1")
    expect(row).to_contain_text("by marketer")
    row.locator(".duplicate-btn").click()
    page.wait_for_url(lambda url: url.rstrip("/").split("/")[-1] not in ("campaigns", str(live["id"])))
    page.goto(f"{server.base_url}/campaigns")
    row = page.locator(f"tr[data-campaign-id='{live['id']}']")
    row.locator(".archive-btn").click()
    expect(row).to_have_count(0)
    page.check("#show-archived")
    expect(page.locator(f"tr[data-campaign-id='{live['id']}'] .badge.archived")).to_be_visible()


def test_rep_sees_names_only(page: Page, server: Any) -> None:
    """A rep gets names without links or controls, and no canvas."""
    campaign = new_campaign(server, unique("Rep view"))
    login(page, server, "rep1")
    page.goto(f"{server.base_url}/campaigns")
    row = page.locator(f"tr[data-campaign-id='{campaign['id']}']")
    expect(row.locator(".campaign-name")).to_have_text(campaign["name"])
    assert row.locator("a, button").count() == 0
    assert page.locator("#new-campaign, #import-campaign, .cv-publish").count() == 0
    response = page.goto(f"{server.base_url}/campaigns/{campaign['id']}")
    assert response is not None and response.status == 403


def test_versions_rollback_pause_resume(page: Page, server: Any, pipeline: dict[str, Any]) -> None:
    """The versions list rolls back; pause and resume switch the status."""
    page.on("dialog", lambda d: d.accept())
    graph = task_campaign(pipeline, "Versioned task")
    campaign = new_campaign(server, unique("Versions"), graph)
    cid = campaign["id"]
    server.api("POST", f"/campaigns/{cid}/publish", as_user="marketer")
    graph["nodes"][1]["name"] = "Renamed sequence"
    server.api("PUT", f"/campaigns/{cid}/draft", json={"graph": graph}, as_user="marketer")
    server.api("POST", f"/campaigns/{cid}/publish", as_user="marketer")
    open_canvas(page, server, cid)
    expect(page.locator(".cv-version")).to_have_text("v2")
    page.locator("button", has_text="Versions").click()
    dialog = page.locator("#versions-dialog")
    expect(dialog.locator("tr[data-version]")).to_have_count(2)
    dialog.locator("tr[data-version='1'] .rollback-btn").click()
    expect(page.locator(".cv-version")).to_have_text("v3")
    assert server.api("GET", f"/campaigns/{cid}", as_user="marketer")["live_version"] == 3
    page.locator("button", has_text="Pause").click()
    expect(page.locator(".cv-status")).to_have_text("Paused")
    page.locator("button", has_text="Resume").click()
    expect(page.locator(".cv-status")).to_have_text("Live")


def test_failed_save_is_shown_retried_and_guarded(page: Page, server: Any) -> None:
    """A failing autosave says so, retries with backoff, warns on unload, then lands."""
    campaign = new_campaign(server, unique("Flaky network"))
    cid = campaign["id"]
    open_canvas(page, server, cid)
    page.route("**/api/v1/campaigns/*/draft", lambda route: route.abort())
    drop_from_palette(page, ".pal-item[data-kind=note]", 200, 200)
    expect(page.locator(".cv-save")).to_have_text("Save failed — retrying", timeout=5000)
    prevented = page.evaluate("() => { const e = new Event('beforeunload', {cancelable: true}); "
                              "window.dispatchEvent(e); return e.defaultPrevented; }")
    assert prevented is True
    page.keyboard.type("Call the top 10 leads first")
    page.locator(".cv-stage .vue-flow__pane").click(position={"x": 30, "y": 30})
    page.unroute("**/api/v1/campaigns/*/draft")
    expect(page.locator(".cv-save")).to_have_text("All changes saved", timeout=10000)
    graph = draft(server, cid)
    assert [(n["kind"], n["text"]) for n in graph["nodes"]] == [("note", "Call the top 10 leads first")]


def test_problems_drawer_focuses_the_node(page: Page, server: Any) -> None:
    """Clicking a problem selects, centres and opens the node it is about."""
    graph = {"nodes": [
        {"id": "near", "kind": "goal", "type": "tag_applied", "name": "Near", "config": {"tag": "x"}, "position": {"x": 0, "y": 0}},
        {"id": "far", "kind": "goal", "type": "form_submitted", "name": "Far away form", "config": {},
         "position": {"x": 4000, "y": 2400}},
    ], "edges": []}
    campaign = new_campaign(server, unique("Drawer"), graph)
    login(page, server, "marketer")
    page.evaluate(f"localStorage.setItem('stagecraft.viewport.{campaign['id']}', JSON.stringify({{x: 0, y: 0, zoom: 1}}))")
    page.goto(f"{server.base_url}/campaigns/{campaign['id']}")
    expect(page.locator("body[data-canvas-ready='1']")).to_have_count(1)
    page.locator(".cv-errors-btn").click()
    item = page.locator(".issue-item[data-node-id='far']").first
    expect(item).to_contain_text("Far away form")
    item.click()
    expect(page.locator(".cv-panel[data-node-id='far']")).to_be_visible()
    expect(node(page, "far")).to_have_class(re.compile(r"\bselected\b"))
    expect(node(page, "far")).to_be_in_viewport()


def test_sequence_steps_reorder_and_remove(page: Page, server: Any, pipeline: dict[str, Any]) -> None:
    """Up/down buttons and drag reorder steps; remove deletes one; each lands in the draft."""
    steps = [{"id": f"st{i}", "type": "create_note", "config": {"body": f"Note {i}"}} for i in (1, 2, 3)]
    graph = {"nodes": [{"id": "s1", "kind": "sequence", "name": "Steps", "position": {"x": 0, "y": 0}, "steps": steps}],
             "edges": []}
    campaign = new_campaign(server, unique("Steps"), graph)
    cid = campaign["id"]
    open_canvas(page, server, cid)
    node(page, "s1").click()
    order = lambda g: [s["id"] for s in g["nodes"][0]["steps"]]  # noqa: E731
    page.locator(".step-row[data-step-id='st1'] .step-down").click()
    wait_draft(server, cid, lambda g: order(g) == ["st2", "st1", "st3"])
    page.drag_and_drop(".step-row[data-step-id='st3'] .step-grip", ".step-row[data-step-id='st2']")
    wait_draft(server, cid, lambda g: order(g) == ["st3", "st2", "st1"])
    page.locator(".step-row[data-step-id='st2'] .step-remove").click()
    wait_draft(server, cid, lambda g: order(g) == ["st3", "st1"])
    expect(node(page, "s1").locator(".sc-step-count")).to_have_text("2 steps")


def test_tidy_up_and_export_import(page: Page, server: Any, pipeline: dict[str, Any], tmp_path: Path) -> None:
    """Tidy up lays the graph out left to right; export downloads JSON; import opens the copy with missing refs."""
    graph = task_campaign(pipeline, "Export task")
    graph["nodes"][1]["position"] = {"x": -600, "y": 400}  # a messy layout
    campaign = new_campaign(server, unique("Export"), graph)
    cid = campaign["id"]
    open_canvas(page, server, cid)
    page.locator("button", has_text="Tidy up").click()
    laid = wait_draft(server, cid, lambda g: g["nodes"][1]["position"]["x"] > g["nodes"][0]["position"]["x"])
    assert laid["nodes"][1]["position"]["x"] > laid["nodes"][0]["position"]["x"]

    page.locator(".cv-menu > button").click()
    with page.expect_download() as info:
        page.locator(".cv-menu-list button", has_text="Export JSON").click()
    exported = json.loads(Path(info.value.path()).read_text())
    assert exported["graph"] == draft(server, cid)

    exported["name"] = unique("Imported")
    exported["graph"]["nodes"][0]["config"]["stage_id"] = 987654  # a stage this CRM lacks
    file = tmp_path / "campaign.json"
    file.write_text(json.dumps(exported))
    page.goto(f"{server.base_url}/campaigns")
    with page.expect_file_chooser() as chooser:
        page.click("#import-campaign")
    chooser.value.set_files(str(file))
    page.wait_for_url(lambda url: url.rstrip("/").split("/")[-1] not in ("campaigns", str(cid)))
    expect(page.locator(".cv-title")).to_have_value(exported["name"])
    expect(page.locator(".cv-imported")).to_contain_text("lacks 1 referenced item")
    assert stage(pipeline, "Qualified")["id"] != 987654


def test_history_and_clipboard_units(page: Page, server: Any) -> None:
    """history.js caps at 100 and ignores no-ops; clipboard.js gives fresh ids, keeps inner edges, offsets pastes."""
    page.goto(f"{server.base_url}/login")
    page.add_script_tag(url="/static/js/history.js")
    page.add_script_tag(url="/static/js/clipboard.js")
    result = page.evaluate("""() => {
      const h = Stagecraft.createHistory(100);
      h.reset("s0");
      const noop = h.push("s0");
      for (let i = 1; i <= 150; i++) h.push("s" + i);
      let undos = 0; while (h.undo() !== null) undos++;
      const oldest = h.present;
      const redo = h.redo();
      h.push("branch");
      const afterBranch = h.canRedo;
      const graph = {nodes: [
        {id: "a", kind: "goal", type: "tag_applied", config: {tag: "x"}, position: {x: 0, y: 0}},
        {id: "b", kind: "sequence", steps: [{id: "st", type: "delay", config: {amount: 1}}], position: {x: 300, y: 0}},
        {id: "c", kind: "goal", type: "tag_applied", config: {}, position: {x: 600, y: 0}}],
        edges: [{id: "e1", source: "a", target: "b"}, {id: "e2", source: "b", target: "c"}]};
      const copied = Stagecraft.clipboard.copy(graph, ["a", "b"]);
      let n = 0; const newId = (kind) => kind + "_new" + (n++);
      const p1 = Stagecraft.clipboard.paste(newId, 40), p2 = Stagecraft.clipboard.paste(newId, 40);
      return {noop, undos, oldest, redo, afterBranch, copied, p1, p2};
    }""")
    assert result["noop"] is False
    assert result["undos"] == 100 and result["oldest"] == "s50" and result["redo"] == "s51"
    assert result["afterBranch"] is False
    assert result["copied"] == 2
    p1, p2 = result["p1"], result["p2"]
    assert [n["id"] for n in p1["nodes"]] == ["goal_new0", "sequence_new1"]
    assert p1["nodes"][1]["steps"][0]["id"] == "step_new2"
    assert p1["edges"] == [{"id": "e_goal_new0_sequence_new1", "source": "goal_new0", "target": "sequence_new1"}]
    assert p1["nodes"][0]["position"] == {"x": 40, "y": 40} and p2["nodes"][0]["position"] == {"x": 80, "y": 80}
