"""The pipeline board in Chromium: columns, cards, drag to move, checklist dialog, filters, live."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.e2e.conftest import screenshot
from tests.e2e.workspace_data import XSS_FIRST
from tests.e2e.workspace_data import XSS_LAST
from tests.e2e.workspace_data import card
from tests.e2e.workspace_data import column_cards
from tests.e2e.workspace_data import contact
from tests.e2e.workspace_data import opportunity
from tests.e2e.workspace_data import sales_board
from tests.e2e.workspace_data import tick_required
from tests.e2e.workspace_data import wait_live

# pytest-base-url (pulled in by pytest-playwright) trips a pytest 9 deprecation.
pytestmark = [
    pytest.mark.e2e,
]


@pytest.fixture(scope="module")
def board(server: Any) -> dict[str, Any]:
    """A seeded sales board shared by this module's tests."""
    return sales_board(server, "board")


def _open(page: Page, server: Any, board: dict[str, Any], username: str = "rep1") -> None:
    login(page, server, username)
    page.goto(f"{server.base_url}/pipelines/{board['pipeline']['id']}")
    expect(page.locator(".column")).to_have_count(len(board["stages"]), timeout=10000)
    expect(page.locator(".card").first).to_be_visible()


def _watch_dialogs(page: Page) -> list[str]:
    fired: list[str] = []
    page.on("dialog", lambda d: (fired.append(d.message), d.dismiss()))
    return fired


def test_columns_and_cards(page: Page, server: Any, board: dict[str, Any]) -> None:
    """Columns follow stage numbers with their figures; cards show the deal; screenshot."""
    fired = _watch_dialogs(page)
    _open(page, server, board)
    names = page.locator(".column .column-title h2").all_text_contents()
    assert names == [s["name"] for s in board["stages"]]
    numbers = page.locator(".column .stage-number").all_text_contents()
    assert numbers == [str(s["number"]) for s in board["stages"]]
    qualified = board["stages"][1]
    head = page.locator(f'.column[data-stage-id="{qualified["id"]}"] .column-head')
    expect(head).to_contain_text("25%")
    expect(head).to_contain_text("14 day target")
    expect(head.locator('[data-role="count"]')).to_have_text("2")
    expect(head.locator('[data-role="value"]')).to_have_text("$39,000")
    expect(head.locator('[data-role="weighted"]')).to_have_text("$9,750 weighted")

    umbrella = card(page, board["opps"]["umbrella"]["id"])
    expect(umbrella).to_contain_text("Umbrella Health renewal")
    expect(umbrella).to_contain_text("Ada Lovelace")
    expect(umbrella).to_contain_text("$24,000")
    expect(umbrella.locator(".badge.overdue")).to_have_text("Overdue")
    expect(umbrella.locator(".card-days")).to_contain_text("20 days in stage")
    expect(umbrella.locator(".card-next")).to_contain_text("Next:")
    expect(umbrella.locator(".card-owner")).to_contain_text("rep1")
    expect(card(page, board["opps"]["stark"]["id"]).locator(".badge.overdue")).to_have_count(0)
    # rep1 sees only their own deals by default ("Mine"): rep2's Initech pilot is hidden
    expect(page.locator("#filter-owner")).to_have_value("mine")
    expect(card(page, board["opps"]["initech"]["id"])).to_have_count(0)
    screenshot(page, "board")
    assert fired == []


def test_contact_names_with_script_are_inert(
    page: Page, server: Any, board: dict[str, Any]
) -> None:
    """A contact named with <script>/<img onerror> shows as text; nothing runs."""
    fired = _watch_dialogs(page)
    _open(page, server, board)
    evil = card(page, board["opps"]["evil"]["id"])
    expect(evil.locator(".card-contact")).to_have_text(f"{XSS_FIRST} {XSS_LAST}")
    assert evil.locator("script, img").count() == 0
    assert page.evaluate("window.__xss") is None
    assert fired == []


def test_drag_card_to_next_stage(page: Page, server: Any, board: dict[str, Any]) -> None:
    """Dragging a card into the next column saves the stage: API state and history change."""
    prospect, qualified = board["stages"][0], board["stages"][1]
    acme = board["opps"]["acme"]
    tick_required(server, acme["id"], prospect)
    _open(page, server, board)
    card(page, acme["id"]).drag_to(
        page.locator(f'.column[data-stage-id="{qualified["id"]}"] .column-body')
    )
    expect(
        column_cards(page, qualified["id"]).filter(has_text="Acme Corp CRM rollout")
    ).to_have_count(1)
    expect(
        column_cards(page, prospect["id"]).filter(has_text="Acme Corp CRM rollout")
    ).to_have_count(0)
    assert server.api("GET", f"/opportunities/{acme['id']}")["stage_id"] == qualified["id"]
    last = server.api("GET", f"/opportunities/{acme['id']}/history")[-1]
    assert (last["from_stage_id"], last["to_stage_id"], last["source"]) == (
        prospect["id"],
        qualified["id"],
        "user",
    )
    assert last["moved_by_id"] == board["users"]["rep1"]
    expect(
        page.locator(f'.column[data-stage-id="{qualified["id"]}"] [data-role="count"]')
    ).to_have_text("3")


def test_blocked_move_opens_checklist_dialog(
    page: Page, server: Any, board: dict[str, Any]
) -> None:
    """A blocked move returns the card and lists the items; ticking them and retrying moves it."""
    fired = _watch_dialogs(page)
    qualified, discovery = board["stages"][1], board["stages"][2]
    stark = board["opps"]["stark"]
    _open(page, server, board)
    card(page, stark["id"]).drag_to(
        page.locator(f'.column[data-stage-id="{discovery["id"]}"] .column-body')
    )
    dialog = page.locator("#checklist-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Confirmed budget and decision maker")
    expect(dialog.locator(".req-mark")).to_have_count(1)
    # the card went back to its column
    expect(
        column_cards(page, qualified["id"]).filter(has_text="Stark Industries seats")
    ).to_have_count(1)
    assert server.api("GET", f"/opportunities/{stark['id']}")["stage_id"] == qualified["id"]
    screenshot(page, "board-checklist-dialog")

    dialog.get_by_role("checkbox").check()
    expect(dialog.get_by_role("checkbox")).to_be_enabled()
    dialog.get_by_role("button", name="Retry move").click()
    expect(dialog).to_be_hidden()
    expect(
        column_cards(page, discovery["id"]).filter(has_text="Stark Industries seats")
    ).to_have_count(1)
    assert server.api("GET", f"/opportunities/{stark['id']}")["stage_id"] == discovery["id"]
    assert fired == []


def _stage_of(server: Any, opp_id: int, wanted: int) -> int:
    """The opportunity's stage on the server, polled until it is `wanted` (the save may still be landing)."""
    deadline = time.monotonic() + 10
    while True:
        stage = int(server.api("GET", f"/opportunities/{opp_id}")["stage_id"])
        if stage == wanted or time.monotonic() > deadline:
            return stage
        time.sleep(0.1)


def test_move_with_keyboard_select(page: Page, server: Any, board: dict[str, Any]) -> None:
    """"Move to…" on a focused card: choosing a stage does nothing until Enter confirms; focus stays on the card."""
    wayne = board["opps"]["wayne"]
    discovery, developed = board["stages"][2], board["stages"][3]
    tick_required(server, wayne["id"], discovery)
    _open(page, server, board)
    wayne_card = card(page, wayne["id"])
    wayne_card.focus()
    expect(wayne_card).to_be_focused()
    page.keyboard.press("Tab")
    move = wayne_card.locator('select[data-role="move"]')
    expect(move).to_be_focused()
    page.keyboard.press("ArrowDown")  # a closed select changes its value on arrows: that alone must not move
    page.keyboard.press("5")
    expect(move).not_to_have_value("")
    assert server.api("GET", f"/opportunities/{wayne['id']}")["stage_id"] == discovery["id"]
    expect(column_cards(page, discovery["id"]).filter(has_text="Wayne Enterprises audit")).to_have_count(1)
    move.select_option(str(developed["id"]))
    page.keyboard.press("Enter")
    expect(
        column_cards(page, developed["id"]).filter(has_text="Wayne Enterprises audit")
    ).to_have_count(1)
    assert _stage_of(server, wayne["id"], developed["id"]) == developed["id"]
    expect(card(page, wayne["id"])).to_be_focused()  # not dropped to the top of the page


def test_move_with_arrow_keys_needs_enter(page: Page, server: Any, board: dict[str, Any]) -> None:
    """→ on a focused card picks the next stage (announced, highlighted); Escape cancels; Enter moves."""
    hooli = board["opps"]["hooli"]
    developed, proposed = board["stages"][3], board["stages"][4]
    tick_required(server, hooli["id"], developed)
    _open(page, server, board, "admin")
    hooli_card = card(page, hooli["id"])
    hooli_card.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator(f'.column[data-stage-id="{proposed["id"]}"]')).to_have_class(re.compile("is-picked"))
    expect(page.locator('[role="status"]').last).to_contain_text("Move Hooli migration to Proposed?")
    page.keyboard.press("Escape")
    expect(page.locator(".column.is-picked")).to_have_count(0)
    assert server.api("GET", f"/opportunities/{hooli['id']}")["stage_id"] == developed["id"]
    page.keyboard.press("ArrowRight")
    expect(page.locator(f'.column[data-stage-id="{proposed["id"]}"]')).to_have_class(re.compile("is-picked"))
    page.keyboard.press("Enter")
    expect(column_cards(page, proposed["id"]).filter(has_text="Hooli migration")).to_have_count(1)
    assert _stage_of(server, hooli["id"], proposed["id"]) == proposed["id"]
    expect(card(page, hooli["id"])).to_be_focused()
    tick_required(server, hooli["id"], proposed)
    page.keyboard.press("ArrowLeft")  # and back, all from the keyboard
    expect(page.locator(f'.column[data-stage-id="{developed["id"]}"]')).to_have_class(re.compile("is-picked"))
    page.keyboard.press("Enter")
    expect(column_cards(page, developed["id"]).filter(has_text="Hooli migration")).to_have_count(1)
    expect(card(page, hooli["id"])).to_be_focused()


def test_filters(page: Page, server: Any, board: dict[str, Any]) -> None:
    """Owner (admins default to everyone), overdue only, and text search."""
    _open(page, server, board, "admin")
    expect(page.locator("#filter-owner")).to_have_value("all")
    expect(card(page, board["opps"]["initech"]["id"])).to_have_count(1)
    page.select_option("#filter-owner", str(board["users"]["rep2"]))
    expect(page.locator(".card")).to_have_count(2)  # Initech pilot, Hooli migration
    page.select_option("#filter-owner", "all")
    page.check("#filter-overdue")
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator(".card")).to_contain_text("Umbrella Health renewal")
    page.uncheck("#filter-overdue")
    # Wait for the unfiltered board first: a count of 1 could still be the overdue view.
    expect(page.locator(".card")).not_to_have_count(1)
    page.fill("#filter-q", "Soylent")
    expect(page.locator(".card").filter(has_text="Soylent supply deal")).to_have_count(1)
    expect(page.locator(".card")).to_have_count(1)
    page.fill("#filter-q", "hamilton")  # contact last name
    expect(page.locator(".card").filter(has_text="Hooli migration")).to_have_count(1)
    expect(page.locator(".card")).to_have_count(1)


def test_pipeline_picker_separates_boards(page: Page, server: Any, board: dict[str, Any]) -> None:
    """Leads and sales are separate boards (picker); /pipelines remembers the last one."""
    leads = server.api(
        "POST",
        "/pipelines",
        json={
            "name": "Leads board",
            "kind": "leads",
            "stages": [
                {"number": 1, "name": "New lead", "target_days": 2, "probability": 5},
                {"number": 2, "name": "Engaged", "target_days": 5, "probability": 15},
            ],
        },
    )
    lead = contact(server, "Rosalind", "Franklin")
    opportunity(
        server, leads, leads["stages"][0], "Inbound webinar lead", lead, board["users"]["rep1"], 0
    )
    _open(page, server, board)
    page.select_option("#pipeline-select", str(leads["id"]))
    page.wait_for_url(f"**/pipelines/{leads['id']}")
    expect(page.locator(".column .column-title h2")).to_have_text(["New lead", "Engaged"])
    expect(page.locator(".card")).to_contain_text("Inbound webinar lead")
    page.goto(f"{server.base_url}/pipelines")
    page.wait_for_url(f"**/pipelines/{leads['id']}")


def test_second_page_sees_move_live(page: Page, server: Any, board: dict[str, Any]) -> None:
    """Another browser (its own context and login) sees a move as soon as it is saved."""
    globex = board["opps"]["globex"]
    prospect, qualified = board["stages"][0], board["stages"][1]
    tick_required(server, globex["id"], prospect)
    other_context = page.context.browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        other = other_context.new_page()
        _open(other, server, board, "admin")
        wait_live(other)
        expect(card(other, globex["id"]).locator("xpath=ancestor::section[1]")).to_have_attribute(
            "data-stage-id", str(prospect["id"])
        )
        _open(page, server, board)
        globex_card = card(page, globex["id"])
        globex_card.hover()
        globex_card.locator('select[data-role="move"]').select_option(str(qualified["id"]))
        globex_card.get_by_role("button", name="Move", exact=True).click()
        expect(
            column_cards(page, qualified["id"]).filter(has_text="Globex expansion")
        ).to_have_count(1)
        # no reload on the other page: the push makes it re-fetch
        expect(
            column_cards(other, qualified["id"]).filter(has_text="Globex expansion")
        ).to_have_count(1, timeout=10000)
        expect(
            column_cards(other, prospect["id"]).filter(has_text="Globex expansion")
        ).to_have_count(0)
    finally:
        other_context.close()
