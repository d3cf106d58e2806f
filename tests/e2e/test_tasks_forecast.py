"""My tasks (open tasks by due date, today's load vs capacity) and the forecast, in Chromium."""

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
from tests.e2e.workspace_data import sales_board

# pytest-base-url (pulled in by pytest-playwright) trips a pytest 9 deprecation.
pytestmark = [
    pytest.mark.e2e,
]


def _due_today(server: Any) -> int:
    today = date.today().isoformat()
    me = server.api("GET", "/users/me", as_user="rep1")
    return sum(
        1
        for t in server.api("GET", f"/tasks?assignee_id={me['id']}", as_user="rep1")
        if t["due_date"] == today
    )


def test_my_tasks(page: Page, server: Any) -> None:
    """Open tasks by due date; today's load against capacity; Complete removes a task."""
    board = sales_board(server, f"tasks {uuid.uuid4().hex[:4]}")
    opp = board["opps"]["umbrella"]
    today = date.today()
    titles = {
        "Call Ada about the renewal": 0,
        "Prepare the QBR deck": 0,
        "Chase the signed order form": -2,
        "Review the contract redlines": 1,
        "Plan the onsite visit": 5,
    }
    for title, offset in titles.items():
        server.api(
            "POST",
            "/tasks",
            as_user="rep1",
            json={
                "title": title,
                "opportunity_id": opp["id"],
                "contact_id": opp["contact_id"],
                "due_date": (today + timedelta(days=offset)).isoformat(),
            },
        )
    capacity = server.api("GET", "/users/me", as_user="rep1")["daily_task_capacity"]
    login(page, server, "rep1")
    page.goto(f"{server.base_url}/tasks")
    overdue = page.locator('.task-group[data-group="overdue"]')
    expect(overdue).to_contain_text("Chase the signed order form")
    groups = page.locator(".task-group h2")
    expect(groups.first).to_contain_text("Overdue")
    today_group = page.locator(f'.task-group[data-group="{today.isoformat()}"]')
    expect(today_group.locator("h2")).to_contain_text("Today")
    expect(today_group).to_contain_text("Call Ada about the renewal")
    expect(today_group).to_contain_text("Umbrella Health renewal")  # the deal it belongs to, linked
    expect(
        page.locator(f'.task-group[data-group="{(today + timedelta(days=1)).isoformat()}"] h2')
    ).to_contain_text("Tomorrow")
    expect(page.locator("#load-capacity")).to_have_text(str(capacity))
    expect(page.locator("#load-today-count")).to_have_text(str(_due_today(server)))
    screenshot(page, "my-tasks")

    row = today_group.locator(".task-row").filter(has_text="Prepare the QBR deck")
    row.get_by_role("button", name="Complete Prepare the QBR deck").click()
    expect(page.locator(".task-row").filter(has_text="Prepare the QBR deck")).to_have_count(0)
    expect(page.locator("#load-note")).to_contain_text("done")
    task = next(
        t
        for t in server.api("GET", "/tasks", as_user="rep1")
        if t["title"] == "Prepare the QBR deck"
    )
    assert task["completed_at"] is not None


def test_forecast(page: Page, server: Any) -> None:
    """A Chart.js bar chart of value and weighted value per stage; a table with overdue counts."""
    board = sales_board(server, f"forecast {uuid.uuid4().hex[:4]}")
    pid = board["pipeline"]["id"]
    data = server.api("GET", f"/pipelines/{pid}/forecast")
    login(page, server, "admin")
    page.goto(f"{server.base_url}/pipelines/{pid}/forecast")
    rows = page.locator("#forecast-table tbody tr")
    expect(rows).to_have_count(len(board["stages"]))
    qualified = rows.nth(1)
    expect(qualified).to_contain_text("Qualified")
    expect(qualified.locator("td").nth(3)).to_have_text("2")
    expect(qualified.locator("td").nth(4)).to_have_text("$39,000")
    expect(qualified.locator("td").nth(5)).to_have_text("$9,750")
    expect(qualified.locator("td").nth(6)).to_have_text("1")  # Umbrella Health renewal is overdue
    expect(page.locator("#forecast-kpis")).to_contain_text(f"${data['total_weighted_value']:,.0f}")
    chart = page.evaluate("""() => {
        const c = window.Chart.getChart(document.getElementById('forecast-chart'));
        return c && {labels: c.data.labels, sets: c.data.datasets.map(d => [d.label, d.data])};
    }""")
    assert chart is not None
    assert chart["labels"][:2] == ["10 Prospect", "20 Qualified"]
    assert [name for name, _ in chart["sets"]] == ["Value", "Weighted value"]
    assert chart["sets"][0][1][1] == 39000 and chart["sets"][1][1][1] == 9750
    screenshot(page, "forecast")
    # the owner filter narrows it
    page.select_option("#forecast-owner", str(board["users"]["rep2"]))
    expect(qualified.locator("td").nth(3)).to_have_text("0")
    expect(rows.nth(0).locator("td").nth(3)).to_have_text("1")  # Initech pilot
