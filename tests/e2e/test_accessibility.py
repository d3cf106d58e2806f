"""axe-core finds no WCAG 2.1 AA violation on the pages that are already clean (more pages join as they are fixed)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from tests.e2e.axe import axe_violations
from tests.e2e.conftest import login


def test_login_page_has_no_violations(page: Page, server: Any) -> None:
    page.goto(server.base_url + "/login")
    assert axe_violations(page) == []


def test_the_check_finds_a_violation(page: Page, server: Any) -> None:
    """Not vacuous: an image without a text alternative is reported."""
    login(page, server, "admin")
    page.evaluate("() => { const i = document.createElement('img'); i.src = '/static/none.png'; "
                  "document.querySelector('main, body').appendChild(i); }")
    assert any("image-alt" in line for line in axe_violations(page))
