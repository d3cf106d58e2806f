"""The contact record in real Chromium: name as text, tags, opportunities, follow-up sequences."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.e2e.conftest import screenshot
from tests.e2e.workspace_data import enroll_in_tag_campaign
from tests.e2e.workspace_data import opportunity
from tests.e2e.workspace_data import user_ids

pytestmark = [pytest.mark.e2e]

XSS_NAME = "<img src=x onerror=alert(1)>"


@pytest.fixture
def person(server: Any) -> dict[str, Any]:
    """A contact with a hostile name, a custom field, a tag and one opportunity owned by rep1."""
    contact = server.api(
        "POST",
        "/contacts",
        json={
            "email": f"hostile.{uuid.uuid4().hex[:8]}@example.com",
            "first_name": XSS_NAME,
            "last_name": "Lovelace",
            "fields": {"Company": "<b>Analytical</b> Engines"},
            "tags": ["vip"],
        },
    )
    pipeline = server.api(
        "POST",
        "/pipelines",
        json={"name": f"Contact {uuid.uuid4().hex[:6]}", "kind": "sales", "template": "sales_workflow"},
    )
    stages = sorted(pipeline["stages"], key=lambda s: s["number"])
    opp = opportunity(
        server, pipeline, stages[0], "Difference engine retrofit", contact, user_ids(server)["rep1"], 12000
    )
    return {"contact": contact, "opp": opp}


def _open(page: Page, server: Any, contact_id: int, username: str = "admin") -> list[str]:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, server, username)
    page.goto(f"{server.base_url}/contacts/{contact_id}")
    expect(page.locator("#contact-email")).not_to_be_empty()
    return dialogs


def test_contact_shows_text_fields_tags_and_opportunities(page: Page, server: Any, person: dict[str, Any]) -> None:
    """The hostile name is text; fields and tags show; a tag added on the page reaches the API."""
    contact = person["contact"]
    dialogs = _open(page, server, contact["id"])
    expect(page.locator("#contact-name")).to_have_text(f"{XSS_NAME} Lovelace")
    expect(page.locator("#contact-email")).to_have_text(contact["email"])
    assert page.locator("main img").count() == 0
    assert page.locator("#contact-fields b").count() == 0
    expect(page.locator("#contact-fields")).to_contain_text("<b>Analytical</b> Engines")
    expect(page.locator('#tag-list [data-tag="vip"]')).to_be_visible()

    link = page.locator(f'#opps-table a[href="/opportunities/{person["opp"]["id"]}"]')
    expect(link).to_have_text("Difference engine retrofit")
    row = page.locator(f'#opps-table tr[data-opportunity-id="{person["opp"]["id"]}"]')
    expect(row).to_contain_text("Prospect")
    expect(row).to_contain_text("12,000")

    page.fill("#tag-new", "met-at-expo")
    page.click("#tag-add")
    expect(page.locator('#tag-list [data-tag="met-at-expo"]')).to_be_visible()
    expect(page.locator("#tag-error")).to_be_hidden()
    assert "met-at-expo" in server.api("GET", f"/contacts/{contact['id']}")["tags"]

    page.get_by_role("button", name="Remove tag vip").click()
    expect(page.locator('#tag-list [data-tag="vip"]')).to_have_count(0)
    assert "vip" not in server.api("GET", f"/contacts/{contact['id']}")["tags"]

    page.evaluate("document.getElementById('tag-new').removeAttribute('maxlength')")
    page.fill("#tag-new", "x" * 300)
    page.click("#tag-add")
    expect(page.locator("#tag-error")).to_be_visible()

    screenshot(page, "contact-record")
    page.click(f'#opps-table a[href="/opportunities/{person["opp"]["id"]}"]')
    page.wait_for_url(f"**/opportunities/{person['opp']['id']}")
    expect(page.locator("#record-contact")).to_have_attribute("href", f"/contacts/{contact['id']}")
    assert dialogs == []


def test_contacts_list_links_to_the_record(page: Page, server: Any, person: dict[str, Any]) -> None:
    """Each contacts-list row links to its contact record."""
    contact = person["contact"]
    login(page, server, "admin")
    page.goto(f"{server.base_url}/contacts?q={contact['email']}")
    link = page.locator(f'#contacts-table a[href="/contacts/{contact["id"]}"]')
    expect(link).to_have_text(f"{XSS_NAME} Lovelace")
    link.click()
    page.wait_for_url(f"**/contacts/{contact['id']}")
    expect(page.locator("#contact-name")).to_have_text(f"{XSS_NAME} Lovelace")


def test_sequence_runs_pause_from_the_contact(page: Page, server: Any, person: dict[str, Any]) -> None:
    """A tag-triggered campaign's run is listed; Pause, Resume and Stop work from the page."""
    contact = person["contact"]
    runs = enroll_in_tag_campaign(server, contact["id"])
    _open(page, server, contact["id"])
    run = runs[0]
    row = page.locator(f'#sequences-table tr[data-run-id="{run["id"]}"]')
    expect(row).to_contain_text("Call follow-up")
    expect(row).to_contain_text("Call nurture")
    assert run["status"] == "active", run
    row.get_by_role("button", name="Pause").click()
    expect(row.locator(".badge.run-paused")).to_be_visible()
    assert row.locator(".field-error:not([hidden])").count() == 0
    assert server.api("GET", f"/contacts/{contact['id']}/sequences")[0]["status"] == "paused"
    row.get_by_role("button", name="Resume").click()
    expect(row.locator(".badge.run-active")).to_be_visible()
    row.get_by_role("button", name="Stop").click()
    expect(row.locator(".badge.run-stopped")).to_be_visible()
    expect(row.get_by_role("button")).to_have_count(0)


def test_rep_sees_the_refusal_next_to_the_button(page: Page, server: Any) -> None:
    """A rep who sees none of the contact's opportunities gets the API's 404 shown by the button."""
    stranger = server.api(
        "POST", "/contacts", json={"email": f"stranger.{uuid.uuid4().hex[:8]}@example.com", "first_name": "Grace"}
    )
    runs = enroll_in_tag_campaign(server, stranger["id"])
    _open(page, server, stranger["id"], "rep1")
    row = page.locator(f'#sequences-table tr[data-run-id="{runs[0]["id"]}"]')
    row.get_by_role("button", name="Pause").click()
    error = row.locator(".field-error")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    assert server.api("GET", f"/contacts/{stranger['id']}/sequences")[0]["status"] == "active"
