"""A 12-stage fulfillment board at 1280x800: compact by default, every stage name readable, no sideways
scrolling; the choice is remembered; the pipeline's name is shown once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.e2e.conftest import screenshot
from tests.e2e.workspace_data import contact
from tests.e2e.workspace_data import opportunity
from tests.e2e.workspace_data import user_ids

pytestmark = [pytest.mark.e2e]


def test_fulfillment_board_fits_and_names_are_whole(page: Page, server: Any) -> None:
    name = f"Delivery {uuid.uuid4().hex[:4]}"
    pipeline = server.api("POST", "/pipelines", json={"name": name, "kind": "fulfillment", "template": "fulfillment"})
    stages = sorted(pipeline["stages"], key=lambda s: s["number"])
    rep1 = user_ids(server)["rep1"]
    for i, stage in enumerate(stages[:5]):
        opportunity(server, pipeline, stage, f"Onboarding project {i}", contact(server, "Ola", f"Nordmann{i}"), rep1, 4000)
    login(page, server, "rep1")
    page.goto(f"{server.base_url}/pipelines/{pipeline['id']}")
    expect(page.locator(".column")).to_have_count(12)
    expect(page.locator(".card")).to_have_count(5)
    expect(page.locator("#compact-toggle")).to_be_checked()
    sizes = page.evaluate("""() => {
        const cols = document.getElementById('board-columns');
        return {scroll: cols.scrollWidth, client: cols.clientWidth,
                cut: [...document.querySelectorAll('.column-title h2')].filter(h => h.scrollWidth > h.clientWidth + 1)
                      .map(h => h.textContent)};
    }""")
    assert sizes["scroll"] <= sizes["client"], sizes  # no sideways scrolling
    assert sizes["cut"] == []  # "Order received", "Kick-off scheduled"… in full
    expect(page.locator(".column-title h2").first).to_have_text("Order received")
    screenshot(page, "board-fulfillment-compact")
    # the pipeline's name: once on screen (the picker), the heading is for screen readers
    expect(page.locator(".board-title h1")).to_have_class("sr-only")
    expect(page.locator("#pipeline-select option:checked")).to_have_text(name)
    page.uncheck("#compact-toggle")
    page.reload()
    expect(page.locator(".column")).to_have_count(12)
    expect(page.locator("#compact-toggle")).not_to_be_checked()
    expect(page.locator("#board-columns")).not_to_have_class("compact")
