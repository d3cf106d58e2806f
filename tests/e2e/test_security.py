"""Web security in real Chromium: CSRF, inert XSS payloads, no publish for reps, account pages, secrets.

Payloads go in through the REST API (as an outside client could), then each
page must show them as text: no dialog fires, no element is injected, no
Vue template expression is evaluated.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORDS
from tests.e2e.conftest import login
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e]

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"
# Vue compiles templates in the browser: a name must never reach a template as template text.
VUE = "{{ constructor.constructor('alert(1)')() }}"
EVIL_ORIGIN = "http://evil.test"


def unique(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:6]}"


def watch(page: Page) -> list[str]:
    """Record (and dismiss) any alert/confirm/prompt; a fired dialog means script ran."""
    fired: list[str] = []
    page.on("dialog", lambda d: (fired.append(d.message), d.dismiss()))
    return fired


def injected(page: Page, scope: str = "body") -> dict[str, int]:
    """Elements a payload could have created inside `scope`."""
    return page.evaluate(
        """(scope) => {
            const root = document.querySelector(scope) || document.body;
            return {
              img: root.querySelectorAll('img[src="x"]').length,
              script: [...root.querySelectorAll('script')].filter((s) => !s.src).length,
              onerror: root.querySelectorAll('[onerror]').length,
            };
        }""",
        scope,
    )


@pytest.fixture(scope="module")
def deal(server: Any) -> dict[str, Any]:
    """A sales pipeline with an XSS-laden contact, opportunity (owned by rep1) and notes."""
    stages = [{"number": n, "name": name, "target_days": 7, "probability": p, "checklist": []}
              for n, name, p in [(10, "New", 10), (20, "Won", 100)]]
    pipeline = server.api("POST", "/pipelines", json={"name": unique("Security"), "kind": "sales", "stages": stages})
    users = {u["username"]: u["id"] for u in server.api("GET", "/users")}
    contact = server.api("POST", "/contacts", json={
        "email": f"xss.{uuid.uuid4().hex[:8]}@example.com", "first_name": SCRIPT, "last_name": IMG})
    opp = server.api("POST", "/opportunities", json={
        "title": f"Deal {IMG} {VUE}", "contact_id": contact["id"], "pipeline_id": pipeline["id"],
        "stage_id": pipeline["stages"][0]["id"], "owner_id": users["rep1"], "value": 1234,
        "next_action_note": SCRIPT})
    notes = [server.api("POST", f"/opportunities/{opp['id']}/notes", json={"body": body}, as_user="rep1")
             for body in (SCRIPT, IMG, VUE)]
    return {"pipeline": pipeline, "contact": contact, "opp": opp, "notes": notes, "users": users}


# --- CSRF ------------------------------------------------------------------------------------

def test_fetch_without_csrf_header_is_refused(page: Page, server: Any) -> None:
    """From the app's own page, a session call without X-CSRFToken gets 400; with it, 201."""
    login(page, server, "rep1")
    page.goto(f"{server.base_url}/contacts")
    result = page.evaluate(
        """async () => {
            const post = (headers) => fetch('/api/v1/contacts', {method: 'POST', credentials: 'same-origin',
                headers: {'Content-Type': 'application/json', ...headers},
                body: JSON.stringify({email: `csrf.${Math.random().toString(36).slice(2)}@example.com`})});
            const bare = await post({});
            const forged = await post({'X-CSRFToken': 'forged'});
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const good = await post({'X-CSRFToken': token});
            return {bare: bare.status, code: (await bare.json()).error.code, forged: forged.status, good: good.status};
        }"""
    )
    assert result == {"bare": 400, "code": "csrf_failed", "forged": 400, "good": 201}


def test_form_post_from_another_origin_is_refused(page: Page, server: Any) -> None:
    """A page on another origin auto-submits forms to our logout and contacts: both refused, session intact."""
    login(page, server, "rep1")
    forms = {
        "logout": f'<form id="f" method="post" action="{server.base_url}/logout"></form>',
        "api": (f'<form id="f" method="post" enctype="text/plain" action="{server.base_url}/api/v1/contacts">'
                '<input name=\'{"email": "forged@example.com", "x": "\' value=\'"}\'></form>'),
        "login": (f'<form id="f" method="post" action="{server.base_url}/login">'
                  f'<input name="username" value="rep2"><input name="password" value="{PASSWORDS["rep2"]}"></form>'),
    }
    for name, form in forms.items():
        html = f"<!doctype html><html><body>{form}<script>document.getElementById('f').submit()</script></body></html>"
        page.route(f"{EVIL_ORIGIN}/{name}", lambda route, _request=None, body=html: route.fulfill(
            status=200, content_type="text/html", body=body))
        with page.expect_response(lambda r: r.url.startswith(server.base_url) and r.request.method == "POST") as info:
            page.goto(f"{EVIL_ORIGIN}/{name}")
        assert info.value.status in (400, 401), (name, info.value.status)
        if name != "api":
            assert info.value.status == 400, name
            expect(page.locator("body")).to_contain_text("CSRF")
    # still logged in as rep1, not logged out and not switched to rep2
    page.goto(f"{server.base_url}/account")
    expect(page.locator(".whoami-name")).to_have_text("rep1")
    assert server.api("GET", "/contacts?q=forged@example.com") == []


# --- XSS ---------------------------------------------------------------------------------------

def test_payloads_are_inert_on_the_board(page: Page, server: Any, deal: dict[str, Any]) -> None:
    fired = watch(page)
    login(page, server, "rep1")
    page.goto(f"{server.base_url}/pipelines/{deal['pipeline']['id']}")
    card = page.locator(f'.card[data-opp-id="{deal["opp"]["id"]}"]')
    expect(card).to_contain_text(f"Deal {IMG} {VUE}")
    expect(card).to_contain_text(SCRIPT)  # the contact's first name
    page.wait_for_timeout(300)
    assert injected(page, "#board-columns") == {"img": 0, "script": 0, "onerror": 0}
    assert fired == []


def test_payloads_are_inert_on_the_record(page: Page, server: Any, deal: dict[str, Any]) -> None:
    fired = watch(page)
    login(page, server, "rep1")
    page.goto(f"{server.base_url}/opportunities/{deal['opp']['id']}")
    expect(page.locator("#record-title")).to_have_text(f"Deal {IMG} {VUE}")
    expect(page.locator("#record-contact")).to_contain_text(SCRIPT)
    expect(page.locator("#record-contact")).to_contain_text(IMG)
    bodies = page.locator(".tl-note .note-body")
    expect(bodies).to_have_count(3)
    assert sorted(bodies.all_text_contents()) == sorted([SCRIPT, IMG, VUE])
    expect(page.locator("#f-next-note")).to_have_value(SCRIPT)
    # a note typed into the page is inert too
    page.fill("#note-body", f"typed {IMG}")
    page.click("#note-add")
    expect(page.locator(".tl-note .note-body").filter(has_text="typed")).to_have_text(f"typed {IMG}")
    page.wait_for_timeout(300)
    assert injected(page, "#record") == {"img": 0, "script": 0, "onerror": 0}
    assert page.title().startswith("Deal <img")  # escaped into the title as text
    assert fired == []


def test_payloads_are_inert_on_the_canvas(page: Page, server: Any) -> None:
    """Node names and a campaign name with HTML and Vue template syntax show literally."""
    fired = watch(page)
    graph = {"nodes": [
        {"id": "g1", "kind": "goal", "type": "api_event", "name": VUE, "config": {"name": SCRIPT},
         "position": {"x": 0, "y": 0}},
        {"id": "s1", "kind": "sequence", "name": IMG, "position": {"x": 340, "y": 0}, "steps": [
            {"id": "m1", "type": "create_note", "config": {"body": SCRIPT}}]},
    ], "edges": [{"id": "e1", "source": "g1", "target": "s1"}]}
    campaign = server.api("POST", "/campaigns", json={"name": f"{VUE} {SCRIPT}", "graph": graph}, as_user="marketer")
    login(page, server, "marketer")
    page.goto(f"{server.base_url}/campaigns/{campaign['id']}")
    expect(page.locator("body[data-canvas-ready='1']")).to_have_count(1, timeout=10000)
    expect(page.locator(".vue-flow__node[data-id='g1'] .sc-node-name")).to_have_text(VUE)
    expect(page.locator(".vue-flow__node[data-id='s1'] .sc-node-name")).to_have_text(IMG)
    expect(page.locator(".cv-title")).to_have_value(f"{VUE} {SCRIPT}")
    page.wait_for_timeout(300)
    assert injected(page, "#canvas-app") == {"img": 0, "script": 0, "onerror": 0}
    assert fired == []
    screenshot(page, "security-canvas-xss")


# --- reps and publishing ---------------------------------------------------------------------

def test_rep_cannot_reach_publish(page: Page, server: Any) -> None:
    """The list has no edit controls for a rep, the canvas page is 403, the publish route is 403."""
    campaign = server.api("POST", "/campaigns", json={"name": unique("Rep-proof")}, as_user="marketer")
    cid = campaign["id"]
    fired = watch(page)
    login(page, server, "rep1")
    page.goto(f"{server.base_url}/campaigns")
    expect(page.get_by_text(campaign["name"])).to_be_visible()
    assert page.get_by_role("button", name=re.compile("publish", re.I)).count() == 0
    assert page.locator(".cv-publish").count() == 0
    assert page.locator(f'a[href="/campaigns/{cid}"]').count() == 0
    response = page.goto(f"{server.base_url}/campaigns/{cid}")
    assert response is not None and response.status == 403
    assert page.locator(".cv-publish").count() == 0
    page.goto(f"{server.base_url}/contacts")
    status = page.evaluate(
        """async (cid) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const r = await fetch(`/api/v1/campaigns/${cid}/publish`, {method: 'POST', credentials: 'same-origin',
                headers: {'X-CSRFToken': token}});
            return r.status;
        }""", cid)
    assert status == 403
    assert server.raw("POST", f"/campaigns/{cid}/publish", as_user="rep1").status_code == 403
    assert server.api("GET", f"/campaigns/{cid}", as_user="marketer")["status"] == "draft"
    assert fired == []


# --- account pages ---------------------------------------------------------------------------

def test_account_page_mints_shows_once_and_revokes_a_token(page: Page, server: Any) -> None:
    login(page, server, "rep2")
    page.goto(f"{server.base_url}/account")
    expect(page.locator("#profile")).to_contain_text("rep2")
    page.fill("#token-label", f"script {IMG}")
    page.click("#token-create")
    expect(page.locator("#new-token")).to_be_visible()
    token = page.locator("#new-token-value").input_value()
    assert token.startswith("sc_")
    me = requests.get(f"{server.base_url}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.status_code == 200 and me.json()["username"] == "rep2"
    row = page.locator("#tokens-table tbody tr").filter(has_text=f"script {IMG}")
    expect(row).to_have_count(1)
    assert injected(page, "#tokens-table") == {"img": 0, "script": 0, "onerror": 0}
    page.click("#new-token-done")
    expect(page.locator("#new-token")).to_be_hidden()
    page.reload()
    assert token not in page.content()  # shown once only
    screenshot(page, "account")
    row.get_by_role("button", name="Revoke").click()
    expect(row.locator(".badge")).to_have_text("revoked")
    gone = requests.get(f"{server.base_url}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert gone.status_code == 401


def test_account_page_changes_the_password(page: Page, server: Any) -> None:
    username = f"pw{uuid.uuid4().hex[:6]}"
    server.api("POST", "/users", json={"username": username, "password": "first-pass-123", "role": "rep"})
    page.goto(server.base_url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "first-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{server.base_url}/account")
    page.fill("#pw-current", "wrong-pass-999")
    page.fill("#pw-new", "second-pass-456")
    page.fill("#pw-confirm", "second-pass-456")
    page.click("#pw-save")
    expect(page.locator("#pw-error")).to_contain_text("current password is wrong")
    page.fill("#pw-current", "first-pass-123")
    page.click("#pw-save")
    expect(page.locator("#pw-status")).to_contain_text("Password changed")
    # this browser stays logged in and can still make CSRF-protected calls
    page.fill("#token-label", "after change")
    page.click("#token-create")
    expect(page.locator("#new-token")).to_be_visible()
    old = requests.post(f"{server.base_url}/api/v1/auth/token",
                        json={"username": username, "password": "first-pass-123"}, timeout=10)
    new = requests.post(f"{server.base_url}/api/v1/auth/token",
                        json={"username": username, "password": "second-pass-456"}, timeout=10)
    assert (old.status_code, new.status_code) == (401, 200)


def test_admin_users_page_creates_changes_and_deactivates(page: Page, server: Any) -> None:
    dialogs: list[str] = []  # only the deactivation confirm may appear (and is accepted)
    page.on("dialog", lambda d: (dialogs.append(d.type), d.accept() if d.type == "confirm" else d.dismiss()))
    team = unique("Team")
    username = f"new{uuid.uuid4().hex[:6]}"
    login(page, server, "admin")
    page.goto(f"{server.base_url}/admin/users")
    expect(page.locator("#users-table tbody tr").first).to_be_visible()
    page.fill("#team-name", team)
    page.click("#team-create")
    expect(page.locator("#teams-list")).to_contain_text(team)
    page.fill("#nu-username", username)
    page.fill("#nu-name", f"New {IMG}")
    page.fill("#nu-password", "new-user-pass-1")
    page.select_option("#nu-role", "rep")
    page.select_option("#nu-team", team)
    page.click("#nu-create")
    expect(page.locator("#nu-status")).to_contain_text(f"Created {username}")
    row = page.locator(f'#users-table tr[data-username="{username}"]')
    expect(row).to_contain_text(f"New {IMG}")
    row.locator("select[name=role]").select_option("marketer")
    row.locator("input[name=daily_task_capacity]").fill("7")
    row.get_by_role("button", name="Save").click()
    expect(row.locator(".status")).to_have_text("Saved")
    made = next(u for u in server.api("GET", "/users") if u["username"] == username)
    teams = {t["name"]: t["id"] for t in server.api("GET", "/teams")}
    assert (made["role"], made["daily_task_capacity"], made["team_id"]) == ("marketer", 7, teams[team])
    row.get_by_role("button", name="Deactivate").click()
    expect(page.locator(f'#users-table tr[data-username="{username}"]')).to_contain_text("deactivated")
    assert dialogs == ["confirm"]
    assert requests_token(server, username, "new-user-pass-1") == 401
    assert injected(page, "#users-table") == {"img": 0, "script": 0, "onerror": 0}
    screenshot(page, "admin-users")
    # the audit page shows the role change and the deactivation, by the admin
    page.goto(f"{server.base_url}/admin/audit")
    expect(page.locator("#audit-table tbody tr").first).to_be_visible()
    page.select_option("#audit-filter", "user.role_changed")
    role_row = page.locator("#audit-table tbody tr").filter(has_text=f"New {IMG}").first
    expect(role_row).to_contain_text("rep → marketer")
    expect(role_row).to_contain_text("changed the role of")
    screenshot(page, "admin-audit")


def requests_token(server: Any, username: str, password: str) -> int:
    """The status of a token request with these credentials."""
    return requests.post(f"{server.base_url}/api/v1/auth/token",
                         json={"username": username, "password": password}, timeout=10).status_code


def test_admin_pages_are_forbidden_to_others(page: Page, server: Any) -> None:
    login(page, server, "marketer")
    for path in ("/admin/users", "/admin/audit"):
        response = page.goto(server.base_url + path)
        assert response is not None and response.status == 403, path
    page.goto(f"{server.base_url}/account")
    nav = page.locator(".mainnav")
    expect(nav.get_by_role("link", name="Account")).to_be_visible()
    assert nav.get_by_role("link", name="Users").count() == 0
    assert nav.get_by_role("link", name="Audit").count() == 0


# --- secrets at rest and in the server log ------------------------------------------------------

def test_no_clear_password_or_token_in_the_database_or_server_log(server: Any) -> None:
    """After a whole browser session of logins and tokens, grep the SQLite files and the server log."""
    secrets = list(PASSWORDS.values()) + [server.token(u) for u in PASSWORDS]
    data_dir = Path(server.data_dir)
    blobs = {p.name: p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("e2e.db")}
    assert "e2e.db" in blobs
    log = (data_dir / "server.log").read_bytes()
    for secret in secrets:
        for name, blob in blobs.items():
            assert secret.encode() not in blob, f"clear secret in {name}"
        assert secret.encode() not in log, "clear secret in the server log"
