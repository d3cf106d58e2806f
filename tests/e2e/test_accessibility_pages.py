"""axe-core (WCAG 2.1 AA) reports no violation on the rep, marketer and admin pages: board (also with lost deals
shown, and compact), record (every tab), tasks, forecast, reports, contacts, contact, account, users, audit,
campaigns, forms, segments, import."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.e2e.axe import axe_violations
from tests.e2e.conftest import login
from tests.e2e.workspace_data import sales_board

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def data(server: Any) -> dict[str, Any]:
    """A sales board with a won and a lost deal, an empty column, tasks and a note."""
    board = sales_board(server, f"a11y {uuid.uuid4().hex[:4]}")
    opps = board["opps"]
    server.api("POST", f"/opportunities/{opps['initech']['id']}/close", json={"outcome": "lost", "reason": "No budget"})
    server.api("POST", f"/opportunities/{opps['acme']['id']}/notes", json={"body": "Met at the fair"})
    server.api("POST", "/tasks", json={"title": "Send the deck", "opportunity_id": opps["acme"]["id"],
                                       "assignee_id": board["users"]["rep1"]})
    server.api("PATCH", f"/opportunities/{opps['acme']['id']}",
               json={"products": [{"name": "Pro plan", "quantity": 2, "special_price": 99}]})
    return board


def assert_clean(page: Page, what: str) -> None:
    """No axe violation on the page as it is now."""
    violations = axe_violations(page)
    assert violations == [], f"{what}:\n" + "\n".join(violations)


def test_board(page: Page, server: Any, data: dict[str, Any]) -> None:
    """The board as a rep and as an admin (lost deals shown, compact mode, a focused card with its actions)."""
    login(page, server, "rep1")
    page.goto(f"{server.base_url}/pipelines/{data['pipeline']['id']}")
    expect(page.locator(".card").first).to_be_visible()
    expect(page.locator(".column-empty:visible")).not_to_have_count(0)  # an empty column is on the page
    assert_clean(page, "board")
    page.locator(".card").first.focus()
    assert_clean(page, "board with a focused card")
    page.context.clear_cookies()
    login(page, server, "admin")
    page.goto(f"{server.base_url}/pipelines/{data['pipeline']['id']}")
    page.check("#filter-lost")
    expect(page.locator(".card.outcome-lost")).to_have_count(1)
    page.check("#compact-toggle")
    assert_clean(page, "board with lost deals, compact")


def test_record_every_tab(page: Page, server: Any, data: dict[str, Any]) -> None:
    """Each of the seven tabs, and a lost deal's record."""
    login(page, server, "rep1")
    page.goto(f"{server.base_url}/opportunities/{data['opps']['acme']['id']}")
    expect(page.locator("#record-title")).to_have_text("Acme Corp CRM rollout")
    expect(page.locator("#open-tasks .task-row")).to_have_count(1)
    for tab in ("General", "Products", "Custom fields", "Sharing", "Tasks & notes", "Sales history",
                "Follow-up sequences"):
        page.get_by_role("tab", name=tab).click()
        expect(page.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
        assert_clean(page, f"record, {tab} tab")
    page.get_by_role("button", name="Mark as lost").click()
    expect(page.locator("#lost-dialog")).to_be_visible()
    assert_clean(page, "the lost dialog")
    page.keyboard.press("Escape")
    page.context.clear_cookies()
    login(page, server, "admin")
    page.goto(f"{server.base_url}/opportunities/{data['opps']['initech']['id']}")
    expect(page.locator("#outcome-banner")).to_be_visible()
    assert_clean(page, "a lost deal's record")


@pytest.mark.parametrize("path", ["/tasks", "/contacts", "/account"])
def test_rep_pages(page: Page, server: Any, data: dict[str, Any], path: str) -> None:
    """My tasks, contacts and the account page as a rep."""
    login(page, server, "rep1")
    page.goto(server.base_url + path)
    page.wait_for_load_state("networkidle")
    assert_clean(page, path)


def test_forecast_and_reports(page: Page, server: Any, data: dict[str, Any]) -> None:
    """Both pages with their charts drawn."""
    pid = data["pipeline"]["id"]
    login(page, server, "admin")
    page.goto(f"{server.base_url}/pipelines/{pid}/forecast")
    expect(page.locator("#forecast-table tbody tr")).to_have_count(len(data["stages"]))
    assert_clean(page, "forecast")
    page.goto(f"{server.base_url}/reports?pipeline_id={pid}")
    expect(page.locator("#lost-reasons")).to_contain_text("No budget")
    assert_clean(page, "reports")


def test_contact_and_admin_pages(page: Page, server: Any, data: dict[str, Any]) -> None:
    """A contact record, the users and audit pages."""
    login(page, server, "admin")
    page.goto(f"{server.base_url}/contacts/{data['contacts']['grace']['id']}")
    page.wait_for_load_state("networkidle")
    assert_clean(page, "contact")
    for path in ("/admin/users", "/admin/audit"):
        page.goto(server.base_url + path)
        page.wait_for_load_state("networkidle")
        assert_clean(page, path)


@pytest.mark.parametrize("path", ["/campaigns", "/forms", "/segments", "/segments/new", "/contacts/import"])
def test_marketer_pages(page: Page, server: Any, data: dict[str, Any], path: str) -> None:
    """The campaign list, hosted forms, segments and the import page, whole page (top bar included)."""
    login(page, server, "marketer")
    page.goto(server.base_url + path)
    page.wait_for_load_state("networkidle")
    assert_clean(page, path)
