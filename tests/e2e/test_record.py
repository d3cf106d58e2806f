"""The opportunity record in real Chromium: tabs, General edits, checklist, notes, tasks, sharing,
sales history and follow-up sequences."""

from __future__ import annotations

import uuid
from datetime import date
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.e2e.conftest import screenshot
from tests.e2e.workspace_data import backdate
from tests.e2e.workspace_data import contact
from tests.e2e.workspace_data import enroll_in_tag_campaign
from tests.e2e.workspace_data import opportunity
from tests.e2e.workspace_data import tick_required
from tests.e2e.workspace_data import user_ids
from tests.e2e.workspace_data import wait_live

# pytest-base-url (pulled in by pytest-playwright) trips a pytest 9 deprecation.
pytestmark = [
    pytest.mark.e2e,
]

XSS_NOTE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def deal(server: Any) -> dict[str, Any]:
    """A rep1 deal: created in Prospect, moved to Qualified by admin, with a note and a task."""
    users = user_ids(server)
    pipeline = server.api(
        "POST",
        "/pipelines",
        json={
            "name": f"Record {uuid.uuid4().hex[:6]}",
            "kind": "sales",
            "template": "sales_workflow",
        },
    )
    stages = sorted(pipeline["stages"], key=lambda s: s["number"])
    person = contact(server, "Katherine", "Johnson")
    opp = opportunity(
        server,
        pipeline,
        stages[0],
        "Northwind analytics suite",
        person,
        users["rep1"],
        27500,
        3,
        "Demo the reporting module",
    )
    server.api(
        "PATCH",
        f"/opportunities/{opp['id']}",
        json={
            "products": [
                {"name": "Analytics Pro (annual)", "quantity": 25, "special_price": 900},
                {"name": "Onboarding package", "quantity": 1, "special_price": None},
            ],
            "custom_fields": {"Launch date": "2026-03-01", "Competitor": "Contoso"},
        },
    )
    backdate(server, opp["id"], 4)
    tick_required(server, opp["id"], stages[0])
    server.api("PATCH", f"/opportunities/{opp['id']}", json={"stage_id": stages[1]["id"]})
    server.api(
        "POST",
        f"/opportunities/{opp['id']}/notes",
        as_user="rep1",
        json={"body": "Intro call went well; they run three BI tools today."},
    )
    server.api(
        "POST",
        "/tasks",
        as_user="rep1",
        json={
            "title": "Send the security questionnaire",
            "opportunity_id": opp["id"],
            "contact_id": person["id"],
            "due_date": (date.today() + timedelta(days=1)).isoformat(),
        },
    )
    return {"pipeline": pipeline, "stages": stages, "opp": opp, "contact": person, "users": users}


def _open(page: Page, server: Any, deal: dict[str, Any], username: str = "rep1") -> None:
    login(page, server, username)
    page.goto(f"{server.base_url}/opportunities/{deal['opp']['id']}")
    expect(page.locator("#record-title")).to_have_text("Northwind analytics suite")
    expect(page.locator("#f-stage option")).to_have_count(len(deal["stages"]))


def _tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_general_tab_and_history(page: Page, server: Any, deal: dict[str, Any]) -> None:
    """General shows owner, stage, value, next action, checklist; Sales history lists moves."""
    _open(page, server, deal)
    qualified = deal["stages"][1]
    expect(page.locator("#f-stage")).to_have_value(str(qualified["id"]))
    expect(page.locator("#f-owner")).to_have_value(str(deal["users"]["rep1"]))
    expect(page.locator("#f-value")).to_have_value("27500")
    expect(page.locator("#f-next-note")).to_have_value("Demo the reporting module")
    expect(page.locator("#record-contact")).to_have_text("Katherine Johnson")
    checklist = page.locator("#checklist li")
    expect(checklist).to_have_count(2)
    expect(checklist.nth(0)).to_contain_text("Confirmed budget and decision maker")
    expect(checklist.nth(0).locator(".req-mark")).to_have_text("Required")
    expect(checklist.nth(1).locator(".req-mark")).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text("Intro call went well")
    expect(page.locator("#open-tasks")).to_contain_text("Send the security questionnaire")
    screenshot(page, "record-general")

    _tab(page, "Sales history")
    rows = page.locator("#history-table tbody tr")
    expect(rows).to_have_count(2)
    newest = rows.nth(0)
    expect(newest).to_contain_text("Prospect → Qualified")
    expect(newest.locator("td").nth(2)).to_have_text("4 days")
    expect(newest.locator("td").nth(3)).to_have_text("admin")
    expect(newest.locator("td").nth(4)).to_have_text("rep1")
    expect(newest.locator(".badge")).to_have_text("User")
    expect(rows.nth(1)).to_contain_text("Created in Prospect")
    screenshot(page, "record-history")

    _tab(page, "Products")
    expect(page.locator("#products-table tbody tr")).to_have_count(2)
    expect(page.locator("#products-table")).to_contain_text("Analytics Pro (annual)")
    expect(page.locator("#products-table")).to_contain_text("$900")
    _tab(page, "Custom fields")
    expect(page.locator('#fields-rows input[data-key="Competitor"]')).to_have_value("Contoso")


def test_stage_picker_respects_checklist(page: Page, server: Any, deal: dict[str, Any]) -> None:
    """A blocked stage change errs next to the picker; ticking the item lets it through."""
    _open(page, server, deal)
    discovery = deal["stages"][2]
    page.select_option("#f-stage", str(discovery["id"]))
    expect(page.locator("#stage-error")).to_contain_text("Confirmed budget and decision maker")
    expect(page.locator("#f-stage")).to_have_value(str(deal["stages"][1]["id"]))
    page.locator("#checklist li").nth(0).get_by_role("checkbox").check()
    expect(page.locator("#stage-error")).to_be_hidden()
    page.select_option("#f-stage", str(discovery["id"]))
    expect(page.locator("#fact-stage")).to_contain_text("Discovery")
    expect(page.locator("#checklist li").nth(0)).to_contain_text("Documented the purchase issues")
    assert server.api("GET", f"/opportunities/{deal['opp']['id']}")["stage_id"] == discovery["id"]


def test_general_save(page: Page, server: Any, deal: dict[str, Any]) -> None:
    """Value and next action save with Save; a bad value shows its error by the field."""
    _open(page, server, deal)
    page.fill("#f-value", "31000")
    next_date = (date.today() + timedelta(days=7)).isoformat()
    page.fill("#f-next-date", next_date)
    page.fill("#f-next-note", "Send the revised quote")
    page.click("#general-save")
    expect(page.locator("#general-status")).to_have_text("Saved")
    expect(page.locator("#fact-value")).to_have_text("$31,000")
    rec = server.api("GET", f"/opportunities/{deal['opp']['id']}")
    assert (rec["value"], rec["next_action_date"], rec["next_action_note"]) == (
        31000,
        next_date,
        "Send the revised quote",
    )
    page.fill("#f-value", "-5")
    page.click("#general-save")
    expect(page.locator('[data-error-for="value"]')).to_be_visible()


def test_note_with_markup_renders_as_text(page: Page, server: Any, deal: dict[str, Any]) -> None:
    """A note holding an <img onerror> payload shows as text: no element, nothing fires."""
    fired: list[str] = []
    page.on("dialog", lambda d: (fired.append(d.message), d.dismiss()))
    _open(page, server, deal)
    page.fill("#note-body", XSS_NOTE)
    page.click("#note-add")
    note = page.locator("#timeline .tl-note .note-body").filter(has_text="onerror")
    expect(note).to_have_count(1)
    expect(note).to_have_text(XSS_NOTE)
    assert page.locator("#timeline img, #record img").count() == 0
    page.wait_for_timeout(300)
    assert fired == []


def test_tasks_and_sharing(page: Page, server: Any, deal: dict[str, Any]) -> None:
    """Add and complete a task (it moves to the timeline); share with rep2 and revoke it."""
    _open(page, server, deal)
    page.fill("#task-title", "Book the pricing call")
    page.fill("#task-due", date.today().isoformat())
    page.click("#task-add")
    row = page.locator("#open-tasks .task-row").filter(has_text="Book the pricing call")
    expect(row).to_have_count(1)
    expect(page.locator("#timeline .tl-open").filter(has_text="Book the pricing call")).to_have_count(1)  # to do
    row.get_by_role("button", name="Complete Book the pricing call").click()
    expect(page.locator("#open-tasks")).not_to_contain_text("Book the pricing call")
    expect(page.locator("#timeline .tl-task")).to_contain_text("Book the pricing call")

    _tab(page, "Sharing")
    expect(page.locator("#share-list")).to_contain_text("Not shared")
    page.select_option("#share-user", f"user:{deal['users']['rep2']}")
    page.click("#share-form button[type=submit]")
    expect(page.locator("#share-list .share-row")).to_have_count(1)
    expect(page.locator("#share-list")).to_contain_text("rep2")
    assert [
        s["user_id"] for s in server.api("GET", f"/opportunities/{deal['opp']['id']}")["shares"]
    ] == [deal["users"]["rep2"]]
    # rep2 can now open it
    assert (
        server.raw("GET", f"/opportunities/{deal['opp']['id']}", as_user="rep2").status_code == 200
    )
    page.locator("#share-list .share-row").get_by_role("button", name="Revoke").click()
    expect(page.locator("#share-list .share-row")).to_have_count(0)
    assert (
        server.raw("GET", f"/opportunities/{deal['opp']['id']}", as_user="rep2").status_code == 404
    )


def test_record_shares_with_a_team(page: Page, server: Any, deal: dict[str, Any]) -> None:
    """Sharing with a team lets its members open the record; the team shows by name."""
    team = server.api("POST", "/teams", json={"name": f"Closers {uuid.uuid4().hex[:4]}"})
    server.api("PATCH", f"/users/{deal['users']['rep2']}", json={"team_id": team["id"]})
    try:
        _open(page, server, deal)
        _tab(page, "Sharing")
        expect(page.locator("#share-user option", has_text=f"{team['name']} (team)")).to_have_count(1)
        page.select_option("#share-user", f"team:{team['id']}")
        page.click("#share-form button[type=submit]")
        expect(page.locator("#share-list .share-row")).to_contain_text(team["name"])
        assert server.raw("GET", f"/opportunities/{deal['opp']['id']}", as_user="rep2").status_code == 200
    finally:
        server.api("PATCH", f"/users/{deal['users']['rep2']}", json={"team_id": None})


def test_follow_up_sequences_tab(page: Page, server: Any, deal: dict[str, Any]) -> None:
    """Empty state first; once a campaign enrolls the contact, its runs with Pause/Resume/Stop."""
    _open(page, server, deal)
    _tab(page, "Follow-up sequences")
    expect(page.locator("#panel-sequences")).to_be_visible()
    expect(page.locator("#sequences-empty")).to_be_visible()
    expect(page.locator("#sequences-empty")).to_contain_text("No follow-up sequences")

    runs = enroll_in_tag_campaign(server, deal["contact"]["id"])
    page.reload()
    _tab(page, "Follow-up sequences")
    rows = page.locator("#sequences-table tbody tr")
    expect(rows).to_have_count(len(runs))
    run = runs[0]
    row = page.locator(f'#sequences-table tr[data-run-id="{run["id"]}"]')
    expect(row).to_contain_text("Call follow-up")
    assert run["current_step_summary"] == "Email “Our call”"  # the catalog's summary, not the step id
    expect(row.locator("td").nth(3)).to_have_text("Email “Our call”")
    expect(row.locator(".badge")).to_contain_text(
        "waiting" if run.get("waiting") else run["status"]
    )
    assert run["status"] == "active"
    screenshot(page, "record-sequences")
    row.get_by_role("button", name="Pause").click()
    error = row.locator(".field-error:not([hidden])")
    # were PATCH /sequence-runs/{id} refused (or missing), its error would show next to the button
    expect(row.locator(".badge.run-paused, .field-error:not([hidden])").first).to_be_visible()
    assert error.count() == 0, error.all_text_contents()
    assert (
        server.api("GET", f"/contacts/{deal['contact']['id']}/sequences")[0]["status"] == "paused"
    )
    row.get_by_role("button", name="Resume").click()
    expect(row.locator(".badge.run-active")).to_be_visible()
    row.get_by_role("button", name="Stop").click()
    expect(row.locator(".badge.run-stopped")).to_be_visible()
    expect(row.get_by_role("button")).to_have_count(0)


def test_record_updates_live(page: Page, server: Any, deal: dict[str, Any]) -> None:
    """A note and a stage move made elsewhere appear without a reload."""
    _open(page, server, deal)
    wait_live(page)
    server.api(
        "POST", f"/opportunities/{deal['opp']['id']}/notes", json={"body": "Pinged by the admin"}
    )
    expect(page.locator("#timeline")).to_contain_text("Pinged by the admin", timeout=10000)
    tick_required(server, deal["opp"]["id"], deal["stages"][1])
    server.api(
        "PATCH", f"/opportunities/{deal['opp']['id']}", json={"stage_id": deal["stages"][2]["id"]}
    )
    expect(page.locator("#fact-stage")).to_contain_text("Discovery", timeout=10000)


def _refuse(message: str, methods: tuple[str, ...] = ("POST", "PUT", "PATCH", "DELETE")) -> Any:
    """A route handler answering the given methods with a 409 carrying `message` (others pass)."""
    def handle(route: Any) -> None:
        if route.request.method in methods:
            route.fulfill(status=409, json={"error": {"code": "conflict", "message": message, "details": {}}})
        else:
            route.continue_()
    return handle


def test_failing_actions_show_their_error_and_re_enable(page: Page, server: Any, deal: dict[str, Any]) -> None:
    """A refused action is disabled while it runs, then shows the error next to its control and is usable again."""
    _open(page, server, deal)
    opp_id = deal["opp"]["id"]
    held: list[Any] = []
    page.route(f"**/api/v1/opportunities/{opp_id}/notes", lambda route: held.append(route))
    page.fill("#note-body", "Kept when the save fails")
    page.click("#note-add")
    expect(page.locator("#note-add")).to_be_disabled()
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    held[0].fulfill(status=409, json={"error": {"code": "conflict", "message": "Notes are frozen", "details": {}}})
    expect(page.locator("#note-error")).to_have_text("Notes are frozen")
    expect(page.locator("#note-error")).to_be_visible()
    expect(page.locator("#note-add")).to_be_enabled()
    expect(page.locator("#note-body")).to_have_value("Kept when the save fails")

    # a checklist box: the tick is undone and the error shows on its row
    page.route(f"**/api/v1/opportunities/{opp_id}/checklist/*", _refuse("Not yours to tick"))
    row = page.locator("#checklist li").nth(1)
    box = row.get_by_role("checkbox")
    was = box.is_checked()
    box.click()
    expect(row.locator(".field-error")).to_have_text("Not yours to tick")
    expect(box).to_be_enabled()
    expect(box).to_be_checked(checked=was)

    # a per-row button (Remove a product): the error goes to the products' error line
    page.route(f"**/api/v1/opportunities/{opp_id}", _refuse("Products are locked", ("PATCH",)))
    _tab(page, "Products")
    remove = page.locator("#products-table tbody tr").nth(0).get_by_role("button", name="Remove")
    remove.click()
    expect(page.locator("#product-error")).to_have_text("Products are locked")
    expect(remove).to_be_enabled()
    expect(page.locator("#products-table tbody tr")).to_have_count(2)

    # once the server accepts, the same controls work and clear their errors
    page.unroute(f"**/api/v1/opportunities/{opp_id}/notes")
    page.click("#note-add")
    expect(page.locator("#timeline")).to_contain_text("Kept when the save fails")
    expect(page.locator("#note-error")).to_be_hidden()


def test_act_and_page_helpers(page: Page, server: Any) -> None:
    """Stagecraft.ws.act disables, reports, re-enables and chains `after`; Stagecraft.page runs only with its root."""
    page.goto(f"{server.base_url}/login")
    page.add_script_tag(url="/static/js/workspace.js")
    result = page.evaluate("""async () => {
      const button = document.createElement("button"), slot = document.createElement("span");
      document.body.append(button, slot);
      let during = null, afters = 0;
      const failed = await Stagecraft.ws.act(button, slot, async () => { during = button.disabled; throw new Error("Nope"); },
                                             { after: () => afters++ });
      const afterFail = { text: slot.textContent, hidden: slot.hidden, disabled: button.disabled };
      const ok = await Stagecraft.ws.act(button, slot, async () => {}, { after: () => afters++ });
      const afterOk = { text: slot.textContent, hidden: slot.hidden, disabled: button.disabled };
      let handed = null;
      await Stagecraft.ws.act(button, slot, async () => { throw new Error("Mine"); }, { onError: (e) => { handed = e.message; } });
      const calls = [];
      Stagecraft.page("no-such-root", () => calls.push("ran without its root"));
      const root = document.createElement("div");
      root.id = "unit-root";
      document.body.append(root);
      Stagecraft.page("unit-root", (p) => calls.push([p.root === root, p.$("unit-root") === root, typeof p.api, typeof p.ws.act]));
      return { failed, during, afterFail, ok, afterOk, afters, handed, slotAfterHanded: slot.textContent, calls };
    }""")
    assert result["failed"] is False and result["during"] is True
    assert result["afterFail"] == {"text": "Nope", "hidden": False, "disabled": False}
    assert result["ok"] is True and result["afterOk"] == {"text": "", "hidden": True, "disabled": False}
    assert result["afters"] == 1  # `after` runs only when the action succeeded
    assert result["handed"] == "Mine" and result["slotAfterHanded"] == ""
    assert result["calls"] == [[True, True, "function", "function"]]
