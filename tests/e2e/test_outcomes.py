"""Won and lost in Chromium: a rep drags a card to Lost with a reason and the forecast and reports pages
(already open) update; a card body opens its record; Won through the checklist; reopening a lost deal."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.e2e.conftest import screenshot
from tests.e2e.workspace_data import card
from tests.e2e.workspace_data import column_cards
from tests.e2e.workspace_data import sales_board
from tests.e2e.workspace_data import wait_live

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def board(server: Any) -> dict[str, Any]:
    """A fresh sales board for each test (they close deals)."""
    return sales_board(server, f"outcomes {uuid.uuid4().hex[:4]}")


def _open_board(page: Page, server: Any, board: dict[str, Any], username: str = "rep1") -> None:
    login(page, server, username)
    page.goto(f"{server.base_url}/pipelines/{board['pipeline']['id']}")
    expect(page.locator(".column")).to_have_count(len(board["stages"]), timeout=10000)
    expect(page.locator(".card").first).to_be_visible()


def _server_outcome(server: Any, opp_id: int, wanted: str) -> str:
    deadline = time.monotonic() + 10
    while True:
        outcome = str(server.api("GET", f"/opportunities/{opp_id}")["outcome"])
        if outcome == wanted or time.monotonic() > deadline:
            return outcome
        time.sleep(0.1)


def test_drag_to_lost_with_a_reason_updates_forecast_and_reports(page: Page, server: Any,
                                                                  board: dict[str, Any]) -> None:
    """Wayne (32,000 in Discovery, required item unchecked) is dragged to Lost; the open pages follow."""
    pid = board["pipeline"]["id"]
    wayne = board["opps"]["wayne"]
    context = page.context
    _open_board(page, server, board)
    forecast = context.new_page()
    forecast.goto(f"{server.base_url}/pipelines/{pid}/forecast")
    expect(forecast.locator("#forecast-kpis .kpi").filter(has_text="Lost")).to_contain_text("$0")
    before = server.api("GET", f"/pipelines/{pid}/forecast", as_user="rep1")
    reports = context.new_page()
    reports.goto(f"{server.base_url}/reports?pipeline_id={pid}")
    expect(reports.locator("#lost-reasons")).to_contain_text("Nothing in this period.")
    wait_live(page)

    card(page, wayne["id"]).drag_to(page.locator("#zone-lost"))
    dialog = page.locator("#lost-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Wayne Enterprises audit")
    dialog.get_by_role("button", name="Mark as lost").click()
    expect(dialog.locator("#lost-error")).to_have_text("Choose why the deal was lost.")
    dialog.get_by_label("Why was it lost?").select_option("Chose a competitor")
    dialog.get_by_label("Note").fill("Went with Globex")
    screenshot(page, "board-lost-dialog")
    dialog.get_by_role("button", name="Mark as lost").click()
    expect(dialog).to_be_hidden()
    expect(card(page, wayne["id"])).to_have_count(0)  # lost deals are hidden by default
    assert _server_outcome(server, wayne["id"], "lost") == "lost"
    record = server.api("GET", f"/opportunities/{wayne['id']}")
    assert (record["close_reason"], record["close_note"]) == ("Chose a competitor", "Went with Globex")
    assert record["stage_id"] == board["stages"][2]["id"]  # lost where it stood, checklist or not

    # the forecast page, open all along, follows the push: open value down, lost up
    after = before["total_value"] - 32000
    expect(forecast.locator("#forecast-kpis .kpi").filter(has_text="Open value")).to_contain_text(f"${after:,.0f}")
    expect(forecast.locator("#forecast-kpis .kpi").filter(has_text="Lost")).to_contain_text("$32,000")
    screenshot(forecast, "forecast-after-loss")
    expect(reports.locator("#lost-reasons")).to_contain_text("Chose a competitor")
    expect(reports.locator("#report-kpis .kpi").filter(has_text="Lost")).to_contain_text("$32,000")
    expect(reports.locator("#owner-rates")).to_contain_text("rep1")
    screenshot(reports, "reports-after-loss")

    # "Show lost deals" brings it back, marked Lost, in its stage; Reopen makes it open again
    page.check("#filter-lost")
    lost_card = card(page, wayne["id"])
    expect(lost_card.locator(".outcome-badge")).to_have_text("Lost")
    expect(lost_card.locator("xpath=ancestor::section[1]")).to_have_attribute("data-stage-id",
                                                                              str(board["stages"][2]["id"]))
    lost_card.hover()
    lost_card.get_by_role("button", name="Reopen Wayne Enterprises audit").click()
    expect(card(page, wayne["id"]).locator(".outcome-badge")).to_have_count(0)
    assert _server_outcome(server, wayne["id"], "open") == "open"


def test_click_on_the_card_body_opens_the_record(page: Page, server: Any, board: dict[str, Any]) -> None:
    """Not only the title link: the contact line, the value or the empty space of the card open it."""
    acme = board["opps"]["acme"]
    _open_board(page, server, board)
    card(page, acme["id"]).locator(".card-contact").click()
    page.wait_for_url(f"**/opportunities/{acme['id']}")
    expect(page.locator("#record-title")).to_have_text("Acme Corp CRM rollout")
    page.go_back()
    card(page, acme["id"]).locator(".card-value").click()
    page.wait_for_url(f"**/opportunities/{acme['id']}")


def test_won_zone_goes_through_the_checklist(page: Page, server: Any, board: dict[str, Any]) -> None:
    """Dropping Soylent (Proposed, contract not sent) on Won asks for the item; ticking it wins the deal."""
    soylent = board["opps"]["soylent"]
    closed = board["stages"][5]
    _open_board(page, server, board)
    card(page, soylent["id"]).drag_to(page.locator("#zone-won"))
    dialog = page.locator("#checklist-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Sent the contract to legal")
    dialog.get_by_role("checkbox").check()
    expect(dialog.get_by_role("checkbox")).to_be_enabled()
    dialog.get_by_role("button", name="Retry move").click()
    expect(dialog).to_be_hidden()
    won = column_cards(page, closed["id"]).filter(has_text="Soylent supply deal")
    expect(won).to_have_count(1)
    expect(won.locator(".outcome-badge")).to_have_text("Won")
    assert _server_outcome(server, soylent["id"], "won") == "won"
    expect(card(page, soylent["id"])).to_be_focused()  # focus back on the deal, not the top of the page


def test_lost_from_the_record_and_reopen(page: Page, server: Any, board: dict[str, Any]) -> None:
    """The record's Lost button asks for a reason; the outcome shows in the header and the sales history."""
    stark = board["opps"]["stark"]
    login(page, server, "rep1")
    page.goto(f"{server.base_url}/opportunities/{stark['id']}")
    page.get_by_role("button", name="Mark as lost").click()
    dialog = page.locator("#lost-dialog")
    dialog.get_by_label("Why was it lost?").select_option("__other__")
    dialog.get_by_label("In your words").fill("Merged with another company")
    dialog.get_by_role("button", name="Mark as lost").click()
    expect(page.locator("#outcome-banner")).to_contain_text("Lost")
    expect(page.locator("#outcome-banner")).to_contain_text("Merged with another company")
    page.get_by_role("tab", name="Sales history").click()
    expect(page.locator("#history-table tbody tr").first).to_contain_text("Lost")
    expect(page.locator("#history-table tbody tr").first).to_contain_text("Merged with another company")
    page.get_by_role("button", name="Reopen").click()
    expect(page.locator("#outcome-banner")).to_be_hidden()
    assert _server_outcome(server, stark["id"], "open") == "open"
