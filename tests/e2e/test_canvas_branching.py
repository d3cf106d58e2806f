"""Decisions and splits in real Chromium: build a decision with two rule paths and Otherwise by drag and
drop, test it in the Test tab, publish, and watch the per-path live counts move; a split's weights."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.e2e.test_canvas import drop_from_palette
from tests.e2e.test_canvas import new_campaign
from tests.e2e.test_canvas import node
from tests.e2e.test_canvas import open_canvas
from tests.e2e.test_canvas import unique
from tests.e2e.test_canvas import wait_draft

pytestmark = [pytest.mark.e2e]


def seq(node_id: str, name: str, tag: str, x: int, y: int) -> dict[str, Any]:
    return {"id": node_id, "kind": "sequence", "name": name, "position": {"x": x, "y": y},
            "steps": [{"id": f"{node_id}_t", "type": "apply_tag", "config": {"tag": tag}}]}


def seeded(lead_tag: str) -> dict[str, Any]:
    """An entry goal and three sequences, unconnected: the decision between them is built by hand."""
    return {"nodes": [
        {"id": "g1", "kind": "goal", "type": "tag_applied", "name": "New lead", "config": {"tag": lead_tag},
         "position": {"x": 0, "y": 160}},
        seq("s_vip", "VIP welcome", "went-vip", 780, 0),
        seq("s_big", "Big deal care", "went-big", 780, 200),
        seq("s_rest", "Everyone else", "went-rest", 780, 400),
    ], "edges": []}


def drag_between(page: Page, start: Any, end: Any) -> None:
    """Drag with the mouse from the centre of `start` to the centre of `end` (a connection)."""
    a, b = start.bounding_box(), end.bounding_box()
    assert a and b
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move((a["x"] + b["x"]) / 2, (a["y"] + b["y"]) / 2 + 10, steps=6)
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=6)
    page.mouse.up()


def path_handle(page: Page, node_id: str, branch_id: str) -> Any:
    return node(page, node_id).locator(f".sc-path[data-branch-id='{branch_id}'] .sc-handle")


def in_handle(page: Page, node_id: str) -> Any:
    return node(page, node_id).locator(".sc-handle-in")


def decision_of(graph: dict[str, Any]) -> dict[str, Any]:
    return next(n for n in graph["nodes"] if n["kind"] == "decision")


def test_build_test_publish_and_watch_path_counts(page: Page, server: Any) -> None:
    lead = f"lead-{uuid.uuid4().hex[:6]}"
    for tag in (lead, "vip", "went-vip", "went-big", "went-rest"):
        server.api("POST", "/tags", json={"tag": tag})
    campaign = new_campaign(server, unique("Branching"), seeded(lead))
    cid = campaign["id"]
    open_canvas(page, server, cid)

    # Drag a decision in between the goal and the sequences.
    drop_from_palette(page, ".pal-item[data-kind=decision]", 420, 240)
    graph = wait_draft(server, cid, lambda g: any(n["kind"] == "decision" for n in g["nodes"]))
    d = decision_of(graph)
    did, first = d["id"], d["branches"][0]["id"]
    assert d["otherwise"] is True and d["mode"] == "first" and len(d["branches"]) == 1
    panel = page.locator(f".cv-panel[data-node-id='{did}']")
    expect(panel).to_be_visible()

    # Path 1: VIP — tags has "vip".
    row1 = panel.locator(f".path-row[data-branch-id='{first}']")
    row1.locator(".path-label").fill("VIP")
    row1.locator(".path-label").press("Tab")
    row1.locator(".rule-value").fill("vip")
    row1.locator(".rule-value").press("Tab")
    # Path 2: Big deal — the deal's value is at least 10000 (the field picked by its name).
    panel.locator(".add-path").click()
    graph = wait_draft(server, cid, lambda g: len(decision_of(g)["branches"]) == 2)
    second = decision_of(graph)["branches"][1]["id"]
    row2 = panel.locator(f".path-row[data-branch-id='{second}']")
    row2.locator(".path-label").fill("Big deal")
    row2.locator(".path-label").press("Tab")
    row2.locator(".rule-field").select_option(label="Deal value")
    row2.locator(".rule-op").select_option(label="is at least")
    row2.locator(".rule-value").fill("10000")
    row2.locator(".rule-value").press("Tab")
    graph = wait_draft(server, cid, lambda g: decision_of(g)["branches"] == [
        {"id": first, "label": "VIP", "rules": {"all": [{"field": "tags", "op": "has", "value": "vip"}]}},
        {"id": second, "label": "Big deal", "rules": {"all": [{"field": "opportunity.value", "op": "gte", "value": 10000}]}}])
    expect(row2.locator(".path-summary")).to_have_text("Deal value is at least 10000")
    expect(node(page, did).locator(".sc-path-label")).to_have_text(["VIP", "Big deal", "Otherwise"])

    # Connect goal → decision, and each path (by its port) to its sequence (Escape closes the panel first).
    page.keyboard.press("Escape")
    expect(page.locator(".cv-panel")).to_have_count(0)
    drag_between(page, node(page, "g1").locator(".sc-handle-out"), in_handle(page, did))
    drag_between(page, path_handle(page, did, first), in_handle(page, "s_vip"))
    drag_between(page, path_handle(page, did, second), in_handle(page, "s_big"))
    drag_between(page, path_handle(page, did, "otherwise"), in_handle(page, "s_rest"))
    graph = wait_draft(server, cid, lambda g: len(g["edges"]) == 4)
    assert {(e["source"], e["target"], e.get("branch")) for e in graph["edges"]} == {
        ("g1", did, None), (did, "s_vip", first), (did, "s_big", second), (did, "s_rest", "otherwise")}
    expect(page.locator(".vue-flow__edge.sc-path-edge .vue-flow__edge-text")).to_have_count(3)
    expect(page.locator(".cv-errors-count")).to_have_text("0")

    # Test tab: a made-up VIP, a made-up big deal, then a real contact.
    node(page, did).click()
    panel.locator("#tab-test").click()
    panel.locator(".test-who input[value=made]").check()
    panel.locator("#test-tags").fill("vip, newsletter")
    panel.locator(".test-run").click()
    expect(panel.locator(".test-verdict")).to_contain_text("Goes to VIP.")
    expect(node(page, did).locator(".sc-path.is-lit")).to_have_attribute("data-branch-id", first)
    vip_result = panel.locator(f".test-path[data-branch-id='{first}']")
    expect(vip_result.locator(".test-state")).to_have_text("Taken")
    expect(vip_result.locator(".test-rule.pass")).to_contain_text("Tags has “vip”")
    panel.locator("#test-tags").fill("")
    panel.locator("#test-value").fill("25000")
    panel.locator(".test-run").click()
    expect(panel.locator(".test-verdict")).to_contain_text("Goes to Big deal.")
    expect(panel.locator(f".test-path[data-branch-id='{first}'] .test-rule.fail")).to_contain_text("the contact has no tags")
    real = server.api("POST", "/contacts", json={"email": f"{uuid.uuid4().hex[:8]}@example.com", "first_name": "Grace",
                                                 "last_name": "Hopper"})
    panel.locator(".test-who input[value=contact]").check()
    panel.locator("#test-search").fill(real["email"])
    panel.locator(".test-search-btn").click()
    panel.locator(".test-pick").first.click()
    panel.locator(".test-run").click()
    expect(panel.locator(".test-verdict")).to_contain_text("Goes to Otherwise.")
    expect(node(page, did).locator(".sc-path.is-lit")).to_have_attribute("data-branch-id", "otherwise")

    # Publish: the dialog lists the new paths.
    page.locator(".cv-publish").click()
    dialog = page.locator("#publish-dialog")
    expect(dialog.locator(".diff-branch")).to_have_count(3)
    dialog.locator(".confirm-publish").click()
    expect(dialog).to_be_hidden()
    expect(node(page, did).locator(f".sc-path[data-branch-id='{first}'] .sc-path-count")).to_have_text("0")

    # Contacts arrive: the counts per path move on the open canvas.
    server.api("POST", "/contacts", json={"email": f"{uuid.uuid4().hex[:8]}@example.com", "tags": ["vip", lead]})
    expect(node(page, did).locator(f".sc-path[data-branch-id='{first}'] .sc-path-count")).to_have_text("1", timeout=15000)
    for _ in range(2):
        server.api("POST", "/contacts", json={"email": f"{uuid.uuid4().hex[:8]}@example.com", "tags": [lead]})
    expect(node(page, did).locator(".sc-path[data-branch-id='otherwise'] .sc-path-count")).to_have_text("2", timeout=15000)
    expect(node(page, did).locator(f".sc-path[data-branch-id='{second}'] .sc-path-count")).to_have_text("0")
    expect(node(page, did).locator(".stat.passed b")).to_have_text("3")


def test_split_weights_show_percentages_and_removing_a_path_drops_its_connection(page: Page, server: Any) -> None:
    campaign = new_campaign(server, unique("Split"), {"nodes": [
        {"id": "g1", "kind": "goal", "type": "tag_applied", "name": "AB", "config": {"tag": "vip"}, "position": {"x": 0, "y": 100}},
        {"id": "x1", "kind": "split", "name": "A/B", "position": {"x": 380, "y": 60},
         "branches": [{"id": "a", "label": "A", "weight": 50}, {"id": "b", "label": "B", "weight": 50}]},
        seq("s_a", "A mail", "went-vip", 780, 0), seq("s_b", "B mail", "went-big", 780, 220)],
        "edges": [{"source": "g1", "target": "x1"}, {"source": "x1", "target": "s_a", "branch": "a"},
                  {"source": "x1", "target": "s_b", "branch": "b"}]})
    cid = campaign["id"]
    open_canvas(page, server, cid)
    expect(node(page, "x1").locator(".sc-path-share")).to_have_text(["50%", "50%"])
    node(page, "x1").click()
    panel = page.locator(".cv-panel[data-node-id='x1']")
    weight = panel.locator(".path-row[data-branch-id='a'] .path-weight input")
    weight.fill("3")
    weight.press("Tab")
    panel.locator(".path-row[data-branch-id='b'] .path-weight input").fill("1")
    panel.locator(".path-row[data-branch-id='b'] .path-weight input").press("Tab")
    expect(panel.locator(".path-share")).to_have_text(["75%", "25%"])
    expect(node(page, "x1").locator(".sc-path-share")).to_have_text(["75%", "25%"])
    wait_draft(server, cid, lambda g: [b["weight"] for b in next(n for n in g["nodes"] if n["id"] == "x1")["branches"]] == [3, 1])
    panel.locator(".path-row[data-branch-id='b'] .path-remove").click()
    graph = wait_draft(server, cid, lambda g: not any(e.get("branch") == "b" for e in g["edges"]))
    assert [b["id"] for b in next(n for n in graph["nodes"] if n["id"] == "x1")["branches"]] == ["a"]
    # A split with zero total weight is shown on the node, in plain words.
    panel.locator(".path-row[data-branch-id='a'] .path-weight input").fill("0")
    panel.locator(".path-row[data-branch-id='a'] .path-weight input").press("Tab")
    expect(node(page, "x1").locator(".sc-badge.error")).to_be_visible()
    expect(panel.locator(".panel-issues")).to_contain_text("Give at least one path a weight above 0")
