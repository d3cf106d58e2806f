"""Contacts at scale in the browser: import a CSV with a mapping, build a segment with a live count,
bulk-tag it, and watch a campaign's entry count rise live on its open canvas; pages pass axe-core."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.e2e.axe import axe_violations
from tests.e2e.conftest import login
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


def campaign_for(server: Any, tag: str) -> int:
    """A published campaign whose entry goal is the tag; its sequence waits a day (runs stay visible)."""
    graph = {"nodes": [
        {"id": "g1", "kind": "goal", "type": "tag_applied", "name": "Promo", "config": {"tag": tag},
         "position": {"x": 0, "y": 0}},
        {"id": "s1", "kind": "sequence", "name": "Promo follow-up", "position": {"x": 320, "y": 0},
         "steps": [{"id": "w1", "type": "delay", "config": {"amount": 1, "unit": "days"}},
                   {"id": "n1", "type": "create_note", "config": {"body": "Promo"}}]}],
        "edges": [{"source": "g1", "target": "s1"}]}
    server.api("POST", "/tags", json={"tag": tag}, as_user="marketer")
    campaign = server.api("POST", "/campaigns", json={"name": f"Promo {tag}"}, as_user="marketer")
    server.api("PUT", f"/campaigns/{campaign['id']}/draft", json={"graph": graph}, as_user="marketer")
    server.api("POST", f"/campaigns/{campaign['id']}/publish", as_user="marketer")
    return int(campaign["id"])


def test_import_segment_bulk_tag_and_live_entry_count(page: Page, server: Any) -> None:
    run = uuid.uuid4().hex[:8]
    tag, plan = f"promo-{run}", f"gold-{run}"
    campaign_id = campaign_for(server, tag)

    # The campaign's canvas, open in its own tab (same browser, same login), shows its entry goal's count.
    login(page, server, "marketer")
    canvas = page.context.new_page()
    canvas.goto(f"{server.base_url}/campaigns/{campaign_id}")
    expect(canvas.locator("body[data-canvas-ready='1']")).to_have_count(1, timeout=15000)
    expect(canvas.locator(".cv-live")).to_have_attribute("data-state", "live", timeout=15000)
    satisfied = canvas.locator(".vue-flow__node[data-id='g1'] .stat.satisfied b")
    expect(satisfied).to_have_text("0")

    # 1. Import a CSV (semicolons, a BOM, a quoted field, one bad row) through the page, with a mapping.
    page.goto(server.base_url + "/contacts/import")
    rows = [f"a{run}@example.com;Ada;{plan}", f"b{run}@example.com;\"Bea; B.\";{plan}",
            f"c{run}@example.com;Cy;silver", "not-an-email;Dan;" + plan, f"e{run}@example.com;Eve;{plan}"]
    data = ("\ufeffE-mail;Vorname;Plan\n" + "\n".join(rows) + "\n").encode()
    page.set_input_files("#imp-file", files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": data}])
    mapping = page.locator("#imp-mapping")
    expect(mapping.locator("tbody tr")).to_have_count(3, timeout=10000)
    email_field = page.get_by_label("Contact field for the column “E-mail”")
    expect(email_field).to_have_value("email")  # suggested from the header
    page.get_by_label("Contact field for the column “Vorname”").select_option("first_name")
    expect(page.get_by_label("Contact field for the column “Plan”")).to_have_value("custom")
    expect(page.get_by_label("Custom field name for the column “Plan”")).to_have_value("plan")
    assert axe_violations(page) == []
    screenshot(page, "bulk-import-mapping")
    page.click("#imp-start")
    job = page.locator("#imp-job .bk-job")
    expect(job).to_have_attribute("data-status", "done", timeout=20000)
    expect(job.locator(".bk-job-status")).to_contain_text("4 contacts created")
    expect(job.locator(".bk-failed-rows tbody tr")).to_have_text(["5“not-an-email” is not a valid email address"])
    bea = server.api("GET", f"/contacts?q=b{run}")[0]
    assert (bea["first_name"], bea["fields"]) == ("Bea; B.", {"plan": plan})

    # 2. Build a segment: custom field "plan" is the gold plan; the count follows the rules live.
    page.goto(server.base_url + "/segments/new")
    page.fill("#seg-name", f"Gold {run}")
    page.get_by_label("Field of rule 1").select_option("custom")
    page.get_by_label("Custom field name of rule 1").fill("plan")
    page.get_by_label("Comparison of rule 1").select_option(label="is")
    page.get_by_label("Value of rule 1").fill(plan.upper())  # text ignores case
    expect(page.locator("#seg-count")).to_have_text("3", timeout=10000)
    page.get_by_label("Comparison of rule 1").select_option(label="is not")
    expect(page.locator("#seg-count")).not_to_have_text("3", timeout=10000)
    page.get_by_label("Comparison of rule 1").select_option(label="is")
    expect(page.locator("#seg-count")).to_have_text("3", timeout=10000)
    page.click("#seg-save")
    expect(page.locator("#seg-status")).to_contain_text("Saved: 3 contacts match")
    expect(page).to_have_url(re.compile(r"/segments/\d+$"))
    expect(page.locator("#seg-members tbody tr")).to_have_count(3)
    assert axe_violations(page) == []

    # 3. Bulk-tag the segment; each contact enters the campaign, and the open canvas counts them live.
    page.fill("#seg-tag", tag)
    page.click("#seg-apply")
    tagging = page.locator("#seg-job .bk-job")
    expect(tagging).to_have_attribute("data-status", "done", timeout=20000)
    expect(tagging.locator(".bk-job-status")).to_contain_text("3 contacts, 3 changed")
    expect(satisfied).to_have_text("3", timeout=15000)
    screenshot(page, "bulk-segment-tagged")
    stats = server.api("GET", f"/campaigns/{campaign_id}/stats", as_user="marketer")
    assert stats["nodes"]["g1"]["satisfied"] == 3


def test_contacts_page_selection_export_and_keyboard(page: Page, server: Any) -> None:
    """Select contacts from the keyboard, export them; the job panel offers the CSV."""
    run = uuid.uuid4().hex[:8]
    for name in ("Kim", "Lee"):
        server.api("POST", "/contacts", json={"email": f"{name.lower()}{run}@example.com", "first_name": name})
    login(page, server, "marketer")
    page.goto(f"{server.base_url}/contacts?q={run}")
    boxes = page.locator("#contacts-table tbody input[type=checkbox]")
    expect(boxes).to_have_count(2, timeout=10000)
    page.locator("#contacts-all").focus()
    page.keyboard.press("Space")
    expect(page.locator("#contacts-selected")).to_have_text("2 selected")
    page.locator("#contacts-export").focus()
    page.keyboard.press("Enter")
    job = page.locator("#contacts-job .bk-job")
    expect(job).to_have_attribute("data-status", "done", timeout=20000)
    with page.expect_download() as download:
        job.get_by_role("link", name="Download the CSV").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()
    assert f"kim{run}@example.com" in text and f"lee{run}@example.com" in text
    assert axe_violations(page) == []


def test_bulk_pages_refuse_reps(page: Page, server: Any) -> None:
    login(page, server, "rep1")
    response = page.goto(server.base_url + "/segments/new")
    assert response is not None and response.status == 403
    page.goto(server.base_url + "/contacts")
    expect(page.locator("#contacts-bulk")).to_have_count(0)
