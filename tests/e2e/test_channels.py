"""Channels in the browser: a marketer builds a hosted form and a visitor submits it; a click on a
tracked link in a received email moves the contact past a link-clicked goal (DESIGN.md §6.3)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.e2e.axe import axe_violations
from tests.e2e.conftest import Server
from tests.e2e.conftest import launch
from tests.e2e.conftest import login
from tests.e2e.conftest import shut
from tests.e2e.test_canvas import new_campaign
from tests.e2e.test_canvas import node
from tests.e2e.test_canvas import open_canvas
from tests.e2e.test_canvas import poll
from tests.e2e.test_canvas import unique
from tests.runtime.relay_fixtures import SmtpSink

pytestmark = [pytest.mark.e2e]


def form_campaign(slug: str) -> dict[str, Any]:
    return {"nodes": [
        {"id": "g1", "kind": "goal", "type": "form_submitted", "name": "Signed up", "config": {"form": slug},
         "position": {"x": 0, "y": 0}},
        {"id": "s1", "kind": "sequence", "name": "Welcome", "position": {"x": 320, "y": 0},
         "steps": [{"id": "n1", "type": "create_note", "config": {"body": "Signed up on the website"}}]}],
        "edges": [{"source": "g1", "target": "s1"}]}


def test_a_marketer_builds_a_form_a_visitor_submits_it(page: Page, browser: Browser, server: Server) -> None:
    name = unique("Webinar signup")
    login(page, server, "marketer")
    page.goto(f"{server.base_url}/forms")
    page.get_by_label("New form name").fill(name)
    page.get_by_role("button", name="Create form").click()
    page.wait_for_url(re.compile(r"/forms/\d+$"))
    expect(page.locator("#fb-fields-table tbody tr")).to_have_count(2)  # email + first name to start with
    page.get_by_label("Add a field").select_option("last_name")
    page.get_by_role("button", name="Add field").click()
    page.get_by_label("Add a field").select_option("custom")
    page.get_by_label("Custom field key").fill("company")
    page.get_by_role("button", name="Add field").click()
    page.get_by_label("Label of Custom: company").fill("Your company")
    page.get_by_label("First name is required").check()
    page.get_by_label("Tags to apply (comma-separated)").fill("webinar")
    page.get_by_label("Thank-you text").fill("See you at the webinar!")
    page.get_by_role("button", name="Save form").click()
    expect(page.locator("#fb-saved")).to_have_text("Saved.")
    # This page's own content (the shared top bar is the app shell's, checked with the shell).
    assert axe_violations(page) == []
    url = page.locator("#fb-url").inner_text()
    slug = url.rsplit("/", 1)[1]
    assert page.locator("#fb-iframe").input_value().startswith(f'<iframe src="{url}"')

    # The form goal's panel picks the form by name.
    campaign = new_campaign(server, unique("Form campaign"), form_campaign(slug))
    server.api("POST", f"/campaigns/{campaign['id']}/publish", as_user="marketer")
    page.goto(f"{server.base_url}/campaigns/{campaign['id']}")  # logged in already
    expect(page.locator("body[data-canvas-ready='1']")).to_have_count(1, timeout=10000)
    node(page, "g1").click()
    choice = page.locator(".cv-panel[data-node-id='g1'] #cfg-g1-form")
    expect(choice.locator("option:checked")).to_have_text(name)
    expect(page.locator(".cv-live")).to_have_attribute("data-state", "live")
    achieved = node(page, "g1").locator(".stat.satisfied b")
    expect(achieved).to_have_text("0")

    # A visitor (no login, no cookies) fills the public page in another context.
    visitor = browser.new_context(viewport={"width": 390, "height": 800}, bypass_csp=True)  # a phone; axe needs eval
    try:
        public = visitor.new_page()
        public.goto(url)
        expect(public.get_by_role("heading", level=1)).to_have_text(name)
        assert axe_violations(public) == []
        email = f"{slug}@example.com"
        public.get_by_label("Email").fill(email.upper())
        public.get_by_label("First name").fill("Vera")
        public.get_by_label("Your company").fill("Acme")
        public.get_by_role("button", name="Submit").click()
        expect(public.get_by_text("See you at the webinar!")).to_be_visible()
        assert visitor.cookies() == []
    finally:
        visitor.close()

    expect(achieved).to_have_text("1", timeout=10000)  # the goal's live count, pushed to the open canvas
    page.goto(f"{server.base_url}/contacts")
    page.get_by_label("Search contacts").fill(email)
    row = page.locator("#contacts-table tbody tr", has_text=email)
    expect(row).to_have_count(1, timeout=10000)
    expect(row).to_contain_text("webinar")


@pytest.fixture(scope="module")
def mailing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, SmtpSink]]:
    """A server of its own that delivers to an aiosmtpd sink."""
    sink = SmtpSink()
    sink.controller.start()
    running = launch(tmp_path_factory.mktemp("e2e-mail"), STAGECRAFT_SMTP_URL=sink.url)
    try:
        yield running, sink
    finally:
        shut(running)
        sink.controller.stop()


def test_a_click_in_a_received_email_moves_the_contact_past_a_link_goal(
    page: Page, mailing: tuple[Server, SmtpSink]
) -> None:
    server, sink = mailing
    guide = f"{server.base_url}/login?from=email"
    for tag in ("go", "read-the-guide"):
        server.api("POST", "/tags", json={"tag": tag})
    graph = {"nodes": [
        {"id": "g1", "kind": "goal", "type": "tag_applied", "name": "Go", "config": {"tag": "go"},
         "position": {"x": 0, "y": 0}},
        {"id": "s1", "kind": "sequence", "name": "Guide", "position": {"x": 320, "y": 0}, "steps": [
            {"id": "e1", "type": "send_email",
             "config": {"subject": "Your guide", "body": f"Hi {{{{contact.first_name}}}},\nread it here: {guide}"}},
            {"id": "w1", "type": "delay", "config": {"amount": 7, "unit": "days"}}]},
        {"id": "g2", "kind": "goal", "type": "link_clicked", "name": "Read it", "config": {"link": guide},
         "position": {"x": 640, "y": 0}},
        {"id": "s2", "kind": "sequence", "name": "Readers", "position": {"x": 960, "y": 0},
         "steps": [{"id": "t1", "type": "apply_tag", "config": {"tag": "read-the-guide"}}]}],
        "edges": [{"source": "g1", "target": "s1"}, {"source": "s1", "target": "g2"}, {"source": "g2", "target": "s2"}]}
    campaign = new_campaign(server, unique("Guide"), graph)
    # The link goal's panel offers the links of the campaign's emails.
    open_canvas(page, server, campaign["id"])
    node(page, "g2").click()
    field = page.locator(".cv-panel[data-node-id='g2'] #cfg-g2-link")
    field.focus()
    expect(page.locator("#cfg-g2-link-links option")).to_have_attribute("value", guide)
    server.api("POST", f"/campaigns/{campaign['id']}/publish", as_user="marketer")

    contact = server.api("POST", "/contacts", json={"email": "reader@example.com", "first_name": "Rita", "tags": ["go"]})
    assert poll(lambda: sink.messages, timeout=20), "the email never arrived"
    html_part = sink.messages[0].get_body(preferencelist=("html",))
    assert html_part is not None
    html = str(html_part.get_content())
    assert f'href="{guide}"' not in html  # the address shows, the link goes through the signed redirect

    page.set_content(html)
    link = page.get_by_role("link", name=guide)
    assert re.match(rf"{re.escape(server.base_url)}/t/c/", link.get_attribute("href") or "")
    link.click()
    page.wait_for_url(re.compile(r"/login\?from=email$"))

    def moved() -> bool:
        return "read-the-guide" in server.api("GET", f"/contacts/{contact['id']}")["tags"]

    assert poll(moved, timeout=20), "the click did not move the contact past the link goal"
    stats = server.api("GET", f"/campaigns/{campaign['id']}/stats", as_user="marketer")
    assert stats["nodes"]["g2"]["satisfied"] == 1
    assert stats["emails"]["e1"]["clicked"] == 1 and stats["emails"]["e1"]["opened"] == 1  # the pixel loaded too


def test_the_contact_page_shows_and_changes_the_email_status(page: Page, server: Server) -> None:
    contact = server.api("POST", "/contacts", json={"email": f"{unique('status').replace(' ', '-')}@example.com",
                                                     "first_name": "Sam", "phone": "+1 555 0100"})
    login(page, server, "marketer")
    page.goto(f"{server.base_url}/contacts/{contact['id']}")
    expect(page.locator("#contact-phone")).to_have_text("+1 555 0100")
    status = page.get_by_label("Email status")
    expect(status).to_have_value("subscribed")
    status.select_option("unsubscribed")
    page.get_by_role("button", name="Update status").click()
    expect(page.locator("#email-status-note")).to_contain_text("campaign emails to this contact are skipped")
    assert server.api("GET", f"/contacts/{contact['id']}")["email_status"] == "unsubscribed"
    page.once("dialog", lambda dialog: dialog.accept())  # re-subscribing asks for consent first
    status.select_option("subscribed")
    page.get_by_role("button", name="Update status").click()
    expect(page.locator("#email-status-note")).to_have_text("Receives campaign emails.")
    audit = server.api("GET", "/audit?action=contact.email_status")
    assert [a["details"]["to"] for a in audit if a["target_id"] == contact["id"]] == ["subscribed", "unsubscribed"]
    assert axe_violations(page) == []
