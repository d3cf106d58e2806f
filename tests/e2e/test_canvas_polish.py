"""The canvas polish a marketer asked for, in real Chromium: axe-clean (with and without the panel),
keyboard-only building, readable opening zoom, the capped fit, free-space placement, "Unpublished
changes" after undo, no Live pill on drafts, word search, the overview of big campaigns, error pages."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.e2e.axe import axe_violations
from tests.e2e.canvas_data import big_graph
from tests.e2e.canvas_data import sales_followup_graph
from tests.e2e.conftest import login
from tests.e2e.test_canvas import click_pane
from tests.e2e.test_canvas import new_campaign
from tests.e2e.test_canvas import node
from tests.e2e.test_canvas import open_canvas
from tests.e2e.test_canvas import simple_pipeline
from tests.e2e.test_canvas import unique
from tests.e2e.test_canvas import wait_draft
from tests.e2e.test_canvas_branching import seeded

pytestmark = [pytest.mark.e2e]

# The smallest text inside the visible canvas nodes, in screen pixels at the current zoom.
SMALLEST_TEXT_JS = """() => {
  const zoom = window.__stagecraftCanvas.api.viewport().zoom;
  let smallest = Infinity;
  for (const el of document.querySelectorAll('.vue-flow__node *')) {
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    smallest = Math.min(smallest, parseFloat(getComputedStyle(el).fontSize) * zoom);
  }
  return smallest;
}"""

BOXES_JS = """() => Array.from(document.querySelectorAll('.vue-flow__node')).map((el) => {
  const r = el.getBoundingClientRect(); return [el.dataset.id, r.left, r.top, r.right, r.bottom]; })"""


def overlapping(boxes: list[list[Any]]) -> list[tuple[str, str]]:
    out = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]:
                out.append((a[0], b[0]))
    return out


@pytest.fixture(scope="module")
def pipeline(server: Any) -> dict[str, Any]:
    return simple_pipeline(server)


def test_canvas_has_no_axe_violations_with_and_without_the_panel(page: Page, server: Any, pipeline: dict[str, Any]) -> None:
    graph = sales_followup_graph({**pipeline, "stages": [{**s, "name": n} for s, n in zip(
        pipeline["stages"], ["New", "Qualified", "Proposed", "Closed"], strict=True)]})
    graph["nodes"].append({"id": "d1", "kind": "decision", "name": "VIP?", "mode": "first", "otherwise": True,
                           "position": {"x": 960, "y": 460},
                           "branches": [{"id": "vip", "label": "VIP", "rules": {"all": [{"field": "tags", "op": "has", "value": "vip"}]}}]})
    campaign = new_campaign(server, unique("Accessible"), graph)
    open_canvas(page, server, campaign["id"])
    assert axe_violations(page) == []
    node(page, "g_lead").click()
    expect(page.locator(".cv-panel")).to_be_visible()
    assert axe_violations(page) == []
    node(page, "s_welcome").click()
    expect(page.locator(".cv-panel[data-node-id='s_welcome']")).to_be_visible()
    page.locator(".step-title").first.click()
    assert axe_violations(page) == []
    page.locator("button[title='Fit view']").click()
    node(page, "d1").click()
    expect(page.locator(".cv-panel[data-node-id='d1']")).to_be_visible()
    assert axe_violations(page) == []
    page.locator("#tab-test").click()
    assert axe_violations(page) == []


def test_keyboard_only_add_focus_escape(page: Page, server: Any) -> None:
    campaign = new_campaign(server, unique("Keyboard"))
    open_canvas(page, server, campaign["id"])
    expect(page.locator("h1")).to_have_text(f"Campaign: {campaign['name']}")
    page.locator(".pal-item[data-kind=sequence]").focus()
    page.keyboard.press("Space")
    graph = wait_draft(server, campaign["id"], lambda g: len(g["nodes"]) == 1)
    sid = graph["nodes"][0]["id"]
    expect(page.locator(".cv-panel .panel-name")).to_be_focused()  # the keyboard lands in the new node's panel
    page.keyboard.type("Welcome mails")
    page.keyboard.press("Tab")
    wait_draft(server, campaign["id"], lambda g: g["nodes"][0]["name"] == "Welcome mails")
    page.keyboard.press("Escape")
    expect(page.locator(".cv-panel")).to_have_count(0)
    focused = page.locator(f".vue-flow__node[data-id='{sid}']")
    expect(focused).to_be_focused()
    outline = focused.locator(".sc-node").evaluate("(el) => getComputedStyle(el).outlineStyle")
    assert outline == "solid"  # a visible focus ring on the node
    page.locator(".pal-item[data-type=tag_applied]").focus()
    page.keyboard.press("Enter")
    wait_draft(server, campaign["id"], lambda g: len(g["nodes"]) == 2)
    expect(page.locator(".cv-panel .panel-name")).to_be_focused()
    expect(page.locator(".cv-panel")).to_have_attribute("data-kind", "goal")


def test_opening_zoom_is_readable_and_fit_is_capped(page: Page, server: Any, pipeline: dict[str, Any]) -> None:
    wide = sales_followup_graph({**pipeline, "stages": [{**s, "name": n} for s, n in zip(
        pipeline["stages"], ["New", "Qualified", "Proposed", "Closed"], strict=True)]})
    campaign = new_campaign(server, unique("Readable"), wide)
    login(page, server, "marketer")
    page.evaluate("localStorage.clear()")
    page.goto(f"{server.base_url}/campaigns/{campaign['id']}")
    expect(page.locator("body[data-canvas-ready='1']")).to_have_count(1, timeout=10000)
    expect(node(page, "g_lead")).to_be_visible()
    assert page.evaluate(SMALLEST_TEXT_JS) >= 11
    small = new_campaign(server, unique("Small"), {"nodes": [
        {"id": "s1", "kind": "sequence", "name": "Only one", "steps": [], "position": {"x": 0, "y": 0}}], "edges": []})
    page.goto(f"{server.base_url}/campaigns/{small['id']}")
    expect(page.locator("body[data-canvas-ready='1']")).to_have_count(1, timeout=10000)
    page.locator("button[title='Fit view']").click()
    page.wait_for_function("() => Math.abs(window.__stagecraftCanvas.api.viewport().zoom - 1.1) < 0.001")
    page.locator("button[aria-label='Zoom in']").click()
    page.locator("button[title='Fit view']").click()
    page.wait_for_function("() => Math.abs(window.__stagecraftCanvas.api.viewport().zoom - 1.1) < 0.001")


def test_new_nodes_land_in_free_space(page: Page, server: Any) -> None:
    campaign = new_campaign(server, unique("Free space"))
    cid = campaign["id"]
    open_canvas(page, server, cid)
    for count, kind in enumerate(("note", "sequence", "note", "sequence"), 1):
        page.locator(f".pal-item[data-kind={kind}]").dblclick()
        wait_draft(server, cid, lambda g, c=count: len(g["nodes"]) == c)
        page.keyboard.press("Escape")
    graph = wait_draft(server, cid, lambda g: len(g["nodes"]) == 4)
    expect(page.locator(".vue-flow__node")).to_have_count(4)
    click_pane(page)
    page.keyboard.press("Control+a")
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    page.keyboard.press("Control+v")
    wait_draft(server, cid, lambda g: len(g["nodes"]) == 12)
    expect(page.locator(".vue-flow__node")).to_have_count(12)
    page.locator("button[title='Fit view']").click()
    page.wait_for_timeout(400)  # the fit's animation
    assert overlapping(page.evaluate(BOXES_JS)) == []
    assert graph["nodes"]


def test_undo_back_to_live_clears_unpublished_changes(page: Page, server: Any) -> None:
    lead = f"lead-{uuid.uuid4().hex[:6]}"
    for tag in (lead, "went-vip", "went-big", "went-rest"):
        server.api("POST", "/tags", json={"tag": tag})
    graph = seeded(lead)
    graph["edges"] = [{"source": "g1", "target": "s_vip"}]
    graph["nodes"] = graph["nodes"][:2]
    campaign = new_campaign(server, unique("Undo"), graph)
    server.api("POST", f"/campaigns/{campaign['id']}/publish", as_user="marketer")
    open_canvas(page, server, campaign["id"])
    changes = page.locator(".badge.changes")
    expect(changes).to_have_count(0)
    expect(page.locator(".cv-live")).to_be_visible()
    node(page, "s_vip").click()
    name = page.locator(".cv-panel .panel-name")
    name.fill("Renamed")
    name.press("Tab")
    expect(changes).to_be_visible()
    click_pane(page)
    page.keyboard.press("Control+z")
    wait_draft(server, campaign["id"], lambda g: next(n for n in g["nodes"] if n["id"] == "s_vip")["name"] == "VIP welcome")
    expect(changes).to_have_count(0)


def test_no_live_pill_on_drafts_and_palette_search_matches_words(page: Page, server: Any) -> None:
    campaign = new_campaign(server, unique("Draft only"))
    open_canvas(page, server, campaign["id"])
    expect(page.locator(".cv-live")).to_have_count(0)
    search = page.locator(".cv-search input")
    search.fill("tag")
    expect(page.locator(".pal-item[data-type=tag_applied]")).to_be_visible()
    expect(page.locator(".pal-item[data-type=stage_moved]")).to_have_count(0)
    expect(page.locator(".pal-item[data-type=stage_overdue]")).to_have_count(0)
    search.fill("stage")
    expect(page.locator(".pal-item[data-type=stage_moved]")).to_be_visible()
    expect(page.locator(".pal-item[data-type=tag_applied]")).to_have_count(0)
    search.fill("a/b")
    expect(page.locator(".pal-item[data-kind=split]")).to_be_visible()
    expect(page.locator(".pal-item[data-kind=decision]")).to_have_count(0)


def test_big_campaign_fit_shows_the_overview_and_a_click_zooms_in(page: Page, server: Any) -> None:
    campaign = new_campaign(server, unique("Big"), big_graph(1000))
    login(page, server, "marketer")
    page.evaluate("localStorage.clear()")
    page.goto(f"{server.base_url}/campaigns/{campaign['id']}")
    expect(page.locator("body[data-canvas-ready='1']")).to_have_count(1, timeout=20000)
    expect(page.locator(".vue-flow__node").first).to_be_visible()
    page.locator("button[title='Fit view']").click()
    page.wait_for_function("() => window.__stagecraftCanvas.overview()")
    # All of it fits: the top-left and bottom-right nodes' boxes are inside the pane.
    assert page.evaluate("""() => {
      const vp = window.__stagecraftCanvas.api.viewport();
      const r = document.querySelector('.vue-flow__pane').getBoundingClientRect();
      return vp.x >= 0 && vp.y >= 0 && vp.x + 12000 * vp.zoom <= r.width && vp.y + 4500 * vp.zoom <= r.height;
    }""")
    expect(page.locator(".flow-overview")).to_be_visible()
    expect(page.locator(".vue-flow__node")).to_have_count(0)  # drawn on the overview, not mounted
    expect(page.locator(".flow-overview-note")).to_contain_text("Overview")
    # Click the box of node n0 (top-left): the canvas zooms in on it and shows real nodes again.
    point = page.evaluate("""() => {
      const vp = window.__stagecraftCanvas.api.viewport();
      const r = document.querySelector('.vue-flow__pane').getBoundingClientRect();
      return { x: r.left + vp.x + 40 * vp.zoom, y: r.top + vp.y + 20 * vp.zoom };
    }""")
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("() => !window.__stagecraftCanvas.overview() && window.__stagecraftCanvas.api.viewport().zoom > 0.9")
    expect(node(page, "n0")).to_be_visible()


def test_error_pages_are_in_the_layout_and_accessible(page: Page, server: Any) -> None:
    login(page, server, "marketer")
    page.goto(f"{server.base_url}/campaigns/99999999")
    expect(page.locator("h1")).to_have_text("We couldn't find that page")
    expect(page.locator("nav.mainnav")).to_be_visible()
    page.locator("a", has_text="Back to the campaigns").click()
    expect(page).to_have_url(f"{server.base_url}/campaigns")
    page.goto(f"{server.base_url}/campaigns/99999999")
    assert axe_violations(page) == []
    page.context.clear_cookies()
    login(page, server, "rep1")
    forbidden = new_campaign(server, unique("Secret"))
    page.goto(f"{server.base_url}/campaigns/{forbidden['id']}")
    expect(page.locator("h1")).to_have_text("You don't have access to this page")
    assert axe_violations(page) == []
