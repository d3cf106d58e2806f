"""Node and step summaries on the canvas come from the server (POST /catalog/summaries), with names:
one request for everything on load, then only the edited item; stale replies are ignored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import Route
from playwright.sync_api import expect

from tests.e2e.test_canvas import click_pane
from tests.e2e.test_canvas import new_campaign
from tests.e2e.test_canvas import node
from tests.e2e.test_canvas import open_canvas
from tests.e2e.test_canvas import simple_pipeline
from tests.e2e.test_canvas import stage
from tests.e2e.test_canvas import unique
from tests.e2e.test_canvas import wait_draft

pytestmark = [pytest.mark.e2e]

SUMMARIES = "**/api/v1/catalog/summaries"


@pytest.fixture(scope="module")
def pipeline(server: Any) -> dict[str, Any]:
    """A checklist-free pipeline shared by this module's tests."""
    return simple_pipeline(server)


def summaries_graph(pipeline: dict[str, Any], assignee: int) -> dict[str, Any]:
    """Three goals (one incomplete) and a sequence whose steps refer to a stage and a user by id."""
    return {"nodes": [
        {"id": "g1", "kind": "goal", "type": "stage_moved", "name": "Qualified", "position": {"x": 0, "y": 0},
         "config": {"pipeline_id": pipeline["id"], "stage_id": stage(pipeline, "Qualified")["id"], "direction": "into"}},
        {"id": "g2", "kind": "goal", "type": "form_submitted", "name": "Form", "position": {"x": 0, "y": 160},
         "config": {"form": "Contact us"}},
        {"id": "g3", "kind": "goal", "type": "tag_applied", "name": "Untagged", "position": {"x": 0, "y": 320}, "config": {}},
        {"id": "s1", "kind": "sequence", "name": "Follow up", "position": {"x": 340, "y": 0}, "steps": [
            {"id": "m1", "type": "move_opportunity", "config": {"stage_id": stage(pipeline, "Proposed")["id"]}},
            {"id": "t1", "type": "create_task", "config": {"title": "Call", "assignee": assignee, "due_in_days": 1}},
        ]},
    ], "edges": [{"id": "e_g1_s1", "source": "g1", "target": "s1"}]}


def record_summary_requests(page: Page) -> list[list[str]]:
    """The keys of every summaries request the page sends, in order."""
    asked: list[list[str]] = []

    def on_request(request: Any) -> None:
        if request.url.endswith("/api/v1/catalog/summaries"):
            asked.append(sorted(item["key"] for item in json.loads(request.post_data or "{}")["items"]))

    page.on("request", on_request)
    return asked


def wait_for(page: Page, check: Any, timeout_ms: int = 5000) -> None:
    """Let the page run until check() holds."""
    for _ in range(timeout_ms // 50):
        if check():
            return
        page.wait_for_timeout(50)
    raise AssertionError("timed out")


def test_canvas_shows_server_summaries_and_asks_again_for_an_edited_goal(
        page: Page, server: Any, pipeline: dict[str, Any]) -> None:
    """Goal, sequence and step texts carry stage, pipeline and user names; an edit re-asks for that goal only."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    marketer = next(u for u in server.api("GET", "/users") if u["username"] == "marketer")
    campaign = new_campaign(server, unique("Summaries"), summaries_graph(pipeline, marketer["id"]))
    asked = record_summary_requests(page)
    open_canvas(page, server, campaign["id"])

    summary = lambda node_id: node(page, node_id).locator(".sc-node-summary")  # noqa: E731
    expect(summary("g1")).to_have_text(f"Moved into Qualified · {pipeline['name']}")
    expect(summary("g2")).to_have_text("Form “Contact us” submitted")
    expect(summary("g3")).to_have_text("Not configured yet")
    expect(summary("s1")).to_have_text("Move opportunity to Proposed")  # the first step's text
    assert asked == [["g1", "g2", "g3", "m1", "t1"]]  # one request for every goal and step

    node(page, "s1").click()
    step_text = lambda step_id: page.locator(f".step-row[data-step-id='{step_id}'] .step-summary")  # noqa: E731
    expect(step_text("m1")).to_have_text("Move opportunity to Proposed")
    expect(step_text("t1")).to_have_text(f"Task “Call” → {marketer['name'] or marketer['username']}, due in 1d")

    click_pane(page)
    node(page, "g1").click()
    page.locator("#cfg-g1-stage_id").select_option(str(stage(pipeline, "Won")["id"]))
    expect(summary("g1")).to_have_text(f"Moved into Won · {pipeline['name']}")
    assert asked[1:] == [["g1"]]  # just the edited goal
    wait_draft(server, campaign["id"], lambda g: g["nodes"][0]["config"]["stage_id"] == stage(pipeline, "Won")["id"])
    assert errors == []


def test_step_summary_keeps_its_last_text_and_ignores_a_stale_reply(
        page: Page, server: Any, pipeline: dict[str, Any]) -> None:
    """While a reply is pending the last text stays; a reply overtaken by a newer request is dropped."""
    marketer = next(u for u in server.api("GET", "/users") if u["username"] == "marketer")
    campaign = new_campaign(server, unique("Stale summaries"), summaries_graph(pipeline, marketer["id"]))
    open_canvas(page, server, campaign["id"])
    node(page, "s1").click()
    page.locator(".step-row[data-step-id='t1'] .step-title").click()
    text = page.locator(".step-row[data-step-id='t1'] .step-summary")
    who = marketer["name"] or marketer["username"]
    expect(text).to_have_text(f"Task “Call” → {who}, due in 1d")

    held: list[Route] = []

    def hold_the_first(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)  # its reply comes back last

    page.route(SUMMARIES, hold_the_first)
    days = page.locator("#cfg-t1-due_in_days")
    days.fill("2")
    wait_for(page, lambda: bool(held))
    page.wait_for_timeout(300)
    expect(text).to_have_text(f"Task “Call” → {who}, due in 1d")  # the last known text meanwhile
    days.fill("3")
    expect(text).to_have_text(f"Task “Call” → {who}, due in 3d")
    held[0].continue_()  # the older request ("due in 2d") answers now
    page.wait_for_timeout(600)
    expect(text).to_have_text(f"Task “Call” → {who}, due in 3d")
    expect(node(page, "s1").locator(".sc-node-summary")).to_have_text("Move opportunity to Proposed")


def test_summaries_endpoint_failure_keeps_the_last_text(page: Page, server: Any, pipeline: dict[str, Any]) -> None:
    """A failed summaries request leaves the shown text; the next edit asks again and updates it."""
    campaign = new_campaign(server, unique("Failing summaries"), summaries_graph(pipeline, 1))
    open_canvas(page, server, campaign["id"])
    summary = node(page, "g2").locator(".sc-node-summary")
    expect(summary).to_have_text("Form “Contact us” submitted")
    node(page, "g2").click()
    page.route(SUMMARIES, lambda route: route.abort())
    # "Contact us" is no hosted form: the panel shows it as a form name reported by the API.
    expect(page.locator("#cfg-g2-form")).to_have_value("__other__")
    form = page.locator("#cfg-g2-form-other")
    form.fill("Demo request")
    form.press("Tab")
    page.wait_for_timeout(600)
    expect(summary).to_have_text("Form “Contact us” submitted")
    page.unroute(SUMMARIES)
    form.fill("Demo request form")
    form.press("Tab")
    expect(summary).to_have_text("Form “Demo request form” submitted")
