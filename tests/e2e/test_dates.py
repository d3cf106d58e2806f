"""One date format on every page, in the viewer's account time zone; calendar dates are never shifted."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import login
from tests.e2e.workspace_data import user_ids

pytestmark = [pytest.mark.e2e]


def test_times_follow_the_viewers_time_zone(page: Page, server: Any) -> None:
    """23:30 UTC on 5 January is 12:30 PM on 6 January in Auckland; the day "2026-01-05" stays 5 January."""
    rep2 = user_ids(server)["rep2"]
    server.api("PATCH", f"/users/{rep2}", json={"timezone": "Pacific/Auckland"})
    try:
        login(page, server, "rep2")
        for path in ("/tasks", "/account", "/contacts"):  # the same helper on every page
            page.goto(server.base_url + path)
            shown = page.evaluate("""() => [Stagecraft.dates.dateTime("2026-01-05T23:30:00+00:00"),
                                             Stagecraft.dates.date("2026-01-05T23:30:00+00:00"),
                                             Stagecraft.dates.date("2026-01-05")]""")
            assert shown == ["Jan 6, 2026, 12:30 PM", "Jan 6, 2026", "Jan 5, 2026"], (path, shown)
    finally:
        server.api("PATCH", f"/users/{rep2}", json={"timezone": "UTC"})
