"""Web security: headers, cookies, CSRF, login (fixation, redirects, rate limit), secrets at rest and in logs, audit."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from builder.auth import safe_next
from tests.builder.security_world import PASSWORDS
from tests.builder.security_world import World
from tests.builder.security_world import build_world
from tests.builder.security_world import csrf_of
from tests.builder.security_world import logged_in
from tests.builder.security_world import login

P = "/api/v1"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = build_world(Path(tmp_path_factory.mktemp("security")))
    yield world
    world.close()


@pytest.fixture
def fresh(world: World) -> Iterator[World]:
    """The seeded world, reset before and after the test."""
    world.restore()
    yield world
    world.restore()


# --- headers ------------------------------------------------------------------------------------

def _check_headers(response: Any) -> None:
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert "'unsafe-inline'" not in directives["script-src"], csp
    assert directives["script-src"].split()[0] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'self'" and directives["base-uri"] == "'self'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_security_headers_on_pages_and_api(fresh: World) -> None:
    client, _ = logged_in(fresh, "admin")
    for path in ("/login", "/account", "/admin/users", "/admin/audit", "/contacts", "/tasks",
                 f"/pipelines/{fresh.ids['pipeline']}", f"/opportunities/{fresh.ids['opportunity']}"):
        response = client.get(path)
        assert response.status_code == 200, path
        _check_headers(response)
    for path in (f"{P}/openapi.json", f"{P}/users/me", f"{P}/nope"):
        response = client.get(path)
        _check_headers(response)
        assert response.headers["Cache-Control"] == "no-store"
    _check_headers(fresh.app.test_client().get(f"{P}/users/me"))  # errors too


def test_pages_have_no_inline_script_or_handlers(fresh: World) -> None:
    """The CSP forbids inline scripts; the templates must not need them."""
    client, _ = logged_in(fresh, "admin")
    for path in ("/login", "/account", "/admin/users", "/admin/audit", "/contacts", "/tasks",
                 f"/pipelines/{fresh.ids['pipeline']}", f"/opportunities/{fresh.ids['opportunity']}"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+\s*=", html), path
        assert "javascript:" not in html, path


# --- cookies and sessions --------------------------------------------------------------------

def _session_cookie(response: Any) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_session_cookie_flags_over_http_and_https(fresh: World) -> None:
    plain = login(fresh.app.test_client(), "rep_a")
    cookie = _session_cookie(plain)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    # over https Flask-WTF also checks the Referer is this site
    secure = login(fresh.app.test_client(), "rep_a", base_url="https://localhost",
                   headers={"Referer": "https://localhost/login"})
    assert "Secure" in _session_cookie(secure) and "HttpOnly" in _session_cookie(secure)
    # the next plain-http request is not affected by the https one (no shared config flip)
    assert "Secure" not in _session_cookie(login(fresh.app.test_client(), "rep_b"))


def test_login_starts_a_fresh_session(fresh: World) -> None:
    """Session fixation: what the anonymous session held (its CSRF token) does not survive login."""
    client = fresh.app.test_client()
    before = csrf_of(client.get("/login").get_data(as_text=True))
    with client.session_transaction() as sess:
        sess["planted"] = "by-attacker"
    response = client.post("/login", data={"username": "rep_a", "password": PASSWORDS["rep_a"], "csrf_token": before})
    assert response.status_code == 302
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert "csrf_token" not in sess
    after = csrf_of(client.get("/account").get_data(as_text=True))
    assert after != before


def test_logout_needs_post_and_csrf(fresh: World) -> None:
    client, token = logged_in(fresh, "rep_a")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token: a cross-site logout is refused
    assert client.get(f"{P}/users/me").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get(f"{P}/users/me").status_code == 401
    assert client.get("/account").status_code == 302


def test_password_change_ends_other_sessions_but_keeps_this_one(fresh: World) -> None:
    one, token = logged_in(fresh, "rep_a")
    two, _ = logged_in(fresh, "rep_a")
    wrong = one.post(f"{P}/users/me/password", headers={"X-CSRFToken": token},
                     json={"current_password": "not-it", "new_password": "another-pass-123"})
    assert wrong.status_code == 403
    changed = one.post(f"{P}/users/me/password", headers={"X-CSRFToken": token},
                       json={"current_password": PASSWORDS["rep_a"], "new_password": "another-pass-123"})
    assert changed.status_code == 204
    assert one.get(f"{P}/users/me").status_code == 200
    assert one.post(f"{P}/tags", headers={"X-CSRFToken": token}, json={"tag": "still-works"}).status_code == 201
    assert two.get(f"{P}/users/me").status_code == 401
    assert login(fresh.app.test_client(), "rep_a").status_code == 401
    assert login(fresh.app.test_client(), "rep_a", "another-pass-123").status_code == 302


def test_deactivated_user_loses_the_session(fresh: World) -> None:
    client, _ = logged_in(fresh, "rep_b")
    assert client.get(f"{P}/users/me").status_code == 200
    admin = fresh.app.test_client()
    assert admin.patch(f"{P}/users/{fresh.users['rep_b']}", headers=fresh.headers("admin"),
                       json={"active": False}).status_code == 200
    assert client.get(f"{P}/users/me").status_code == 401
    assert client.get("/pipelines").status_code == 302


@pytest.mark.parametrize("target", [
    "//evil.example/", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "/%0d%0aSet-Cookie:x=1",
    "\\\\evil.example", "/%09/evil.example", "/%5Cevil.example", "evil.example",
])
def test_login_next_is_not_an_open_redirect(fresh: World, target: str) -> None:
    response = login(fresh.app.test_client(), "rep_a", next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/", target


def test_login_next_keeps_local_paths(fresh: World) -> None:
    response = login(fresh.app.test_client(), "rep_a", next_url="/tasks?open=1")
    assert response.headers["Location"] == "/tasks?open=1"
    with fresh.app.test_request_context():
        assert safe_next("/pipelines/3") == "/pipelines/3"
        assert safe_next(None) == "/"


# --- CSRF ---------------------------------------------------------------------------------------

def test_csrf_refuses_session_posts_without_a_token(fresh: World) -> None:
    client, token = logged_in(fresh, "rep_a")
    # JSON API call riding on the session cookie
    refused = client.post(f"{P}/contacts", json={"email": "csrf@example.com"})
    assert refused.status_code == 400 and refused.json["error"]["code"] == "csrf_failed"
    wrong = client.post(f"{P}/contacts", json={"email": "csrf@example.com"}, headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == 400
    for method in ("PATCH", "PUT", "DELETE"):
        assert client.open(f"{P}/contacts/{fresh.ids['contact']}", method=method, json={}).status_code == 400
    accepted = client.post(f"{P}/contacts", json={"email": "csrf@example.com"}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201
    # form posts: login and logout without a token
    anonymous = fresh.app.test_client()
    assert anonymous.post("/login", data={"username": "rep_a", "password": PASSWORDS["rep_a"]}).status_code == 400
    # a bearer call needs no CSRF token (it carries no ambient credential)
    bearer = fresh.app.test_client().post(f"{P}/contacts", json={"email": "bearer@example.com"},
                                          headers=fresh.headers("rep_a"))
    assert bearer.status_code == 201
    # the session does not leak into a bad bearer call
    assert client.post(f"{P}/contacts", json={"email": "x@example.com"},
                       headers={"Authorization": "Bearer sc_nope"}).status_code == 401


# --- login rate limiting ---------------------------------------------------------------------

def test_login_form_is_rate_limited(fresh: World) -> None:
    client = fresh.app.test_client()
    for _ in range(5):
        assert login(client, "rep_b", "wrong-password").status_code == 401
    assert login(client, "rep_b").status_code == 429  # even the right password now
    # the token endpoint shares the same counter
    assert client.post(f"{P}/auth/token", json={"username": "rep_b", "password": PASSWORDS["rep_b"]}).status_code == 429
    # another user is not affected
    assert login(fresh.app.test_client(), "rep_a").status_code == 302


def test_token_endpoint_is_rate_limited(fresh: World) -> None:
    client = fresh.app.test_client()
    for _ in range(5):
        assert client.post(f"{P}/auth/token", json={"username": "marketer", "password": "guess"}).status_code == 401
    assert client.post(f"{P}/auth/token", json={"username": "marketer",
                                                 "password": PASSWORDS["marketer"]}).status_code == 429
    assert login(client, "marketer").status_code == 429
    unknown = client.post(f"{P}/auth/token", json={"username": "nobody", "password": "guess"})
    assert unknown.status_code == 401 and unknown.json["error"]["code"] == "bad_credentials"


def test_rate_limit_expires(fresh: World, fake_clock: Any) -> None:
    client = fresh.app.test_client()
    for _ in range(5):
        client.post(f"{P}/auth/token", json={"username": "rep_a", "password": "guess"})
    assert client.post(f"{P}/auth/token", json={"username": "rep_a", "password": PASSWORDS["rep_a"]}).status_code == 429
    fake_clock.advance(minutes=16)
    assert client.post(f"{P}/auth/token", json={"username": "rep_a", "password": PASSWORDS["rep_a"]}).status_code == 200


# --- secrets never in clear ----------------------------------------------------------------------

def test_passwords_and_tokens_are_never_stored_or_logged_in_clear(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """Create users, tokens, failed logins and a password change; grep the DB files and the logs."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # SQL with its parameters
    try:
        world = build_world(tmp_path)
        client = world.app.test_client()
        secrets: list[str] = list(PASSWORDS.values()) + [t for t in world.tokens.values()]
        made_password = "Zebra-Clear-Pass-0001"
        assert client.post(f"{P}/users", headers=world.headers("admin"), json={
            "username": "carol", "password": made_password, "role": "rep"}).status_code == 201
        secrets.append(made_password)
        token = client.post(f"{P}/auth/token", json={"username": "carol", "password": made_password}).json["token"]
        secrets.append(token)
        minted = client.post(f"{P}/auth/tokens", headers={"Authorization": f"Bearer {token}"},
                             json={"label": "ci"}).json["token"]
        secrets.append(minted)
        wrong = "Wrong-Guess-Pass-0002"
        client.post(f"{P}/auth/token", json={"username": "carol", "password": wrong})
        login(world.app.test_client(), "carol", wrong)
        secrets.append(wrong)
        newer = "Newer-Clear-Pass-0003"
        assert client.post(f"{P}/users/me/password", headers={"Authorization": f"Bearer {minted}"},
                           json={"current_password": made_password, "new_password": newer}).status_code == 204
        secrets.append(newer)
        admin_set = "Admin-Set-Pass-0004"
        assert client.patch(f"{P}/users/{world.users['rep_b']}", headers=world.headers("admin"),
                            json={"password": admin_set}).status_code == 200
        secrets.append(admin_set)
        # a validation error must not echo the password either
        bad = client.post(f"{P}/users", headers=world.headers("admin"), json={
            "username": "bad name!", "password": "Echo-Me-Not-0005", "role": "rep"})
        assert bad.status_code == 422 and "Echo-Me-Not-0005" not in bad.get_data(as_text=True)
        secrets.append("Echo-Me-Not-0005")
        # the live files first (recent pages sit in the -wal), then again after a checkpoint
        live_files = [p for p in tmp_path.iterdir() if p.name.startswith("world.db")]
        assert any(p.name.endswith("-wal") for p in live_files), live_files
        blob = b"".join(p.read_bytes() for p in live_files)
        world.close()
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    files = [p for p in tmp_path.iterdir() if p.name.startswith("world.db")]
    blob += b"".join(p.read_bytes() for p in files)
    assert b"scrypt$" in blob  # the hashes are there
    for secret in secrets:
        assert secret.encode() not in blob, f"clear secret in {[p.name for p in files]}"
        assert secret not in caplog.text, "clear secret in the log"
    assert "SELECT" in caplog.text  # the SQL log was really captured


# --- audit log -----------------------------------------------------------------------------------

def test_audit_records_publish_pause_rollback_roles_teams_and_shares(fresh: World) -> None:
    client = fresh.app.test_client()
    campaign, opp = fresh.ids["campaign"], fresh.ids["opportunity"]
    marketer = fresh.headers("marketer")
    assert client.post(f"{P}/campaigns/{campaign}/publish", headers=marketer).status_code == 200
    assert client.post(f"{P}/campaigns/{campaign}/pause", headers=marketer).status_code == 200
    assert client.post(f"{P}/campaigns/{campaign}/resume", headers=marketer).status_code == 200
    assert client.post(f"{P}/campaigns/{campaign}/versions/1/rollback", headers=marketer).status_code == 200
    assert client.delete(f"{P}/campaigns/{campaign}", headers=marketer).status_code == 200
    admin = fresh.headers("admin")
    rep_b = fresh.users["rep_b"]
    assert client.patch(f"{P}/users/{rep_b}", headers=admin, json={"role": "marketer"}).status_code == 200
    assert client.patch(f"{P}/users/{rep_b}", headers=admin, json={"team_id": fresh.ids["team_east"]}).status_code == 200
    assert client.patch(f"{P}/users/{rep_b}", headers=admin, json={"active": False}).status_code == 200
    share = client.post(f"{P}/opportunities/{opp}/shares", headers=fresh.headers("rep_a"),
                        json={"team_id": fresh.ids["team_east"]}).json
    assert client.delete(f"{P}/opportunities/{opp}/shares/{share['id']}", headers=fresh.headers("rep_a")).status_code == 204

    entries = client.get(f"{P}/audit?limit=1000", headers=admin).json
    by_action: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_action.setdefault(entry["action"], []).append(entry)
    for action in ("campaign.published", "campaign.paused", "campaign.resumed", "campaign.rolled_back",
                   "campaign.archived"):
        assert by_action[action][0]["actor_id"] == fresh.users["marketer"], action
        assert by_action[action][0]["target_id"] == campaign
    assert by_action["campaign.rolled_back"][0]["details"]["rolled_back_from"] == 1
    role = by_action["user.role_changed"][0]
    assert (role["actor_id"], role["target_id"], role["details"]) == (fresh.users["admin"], rep_b,
                                                                     {"from": "rep", "to": "marketer"})
    assert by_action["user.team_changed"][0]["details"]["to"] == fresh.ids["team_east"]
    assert by_action["user.deactivated"][0]["target_id"] == rep_b
    shared = [e for e in by_action["opportunity.shared"] if e["details"]["team_id"] == fresh.ids["team_east"]]
    assert shared and shared[0]["actor_id"] == fresh.users["rep_a"] and shared[0]["target_id"] == opp
    assert by_action["opportunity.unshared"][0]["details"]["team_id"] == fresh.ids["team_east"]
    # only admins read it
    assert client.get(f"{P}/audit", headers=marketer).status_code == 403
    filtered = client.get(f"{P}/audit?action=campaign.paused", headers=admin).json
    assert {e["action"] for e in filtered} == {"campaign.paused"}


# --- user strings rendered as text on server-rendered pages ------------------------------------------

def test_user_strings_are_escaped_in_server_rendered_pages(fresh: World) -> None:
    payload = '<img src=x onerror=alert(1)><script>alert(1)</script>'
    api = fresh.app.test_client()
    assert api.patch(f"{P}/opportunities/{fresh.ids['opportunity']}", headers=fresh.headers("rep_a"),
                     json={"title": payload}).status_code == 200
    assert api.patch(f"{P}/users/{fresh.users['rep_a']}", headers=fresh.headers("rep_a"),
                     json={"name": payload}).status_code == 200
    client, _ = logged_in(fresh, "rep_a")
    for path in (f"/opportunities/{fresh.ids['opportunity']}", "/account", "/tasks"):
        html = client.get(path).get_data(as_text=True)
        assert "<img src=x" not in html and "<script>alert" not in html, path
        assert "&lt;script&gt;" in html or "&lt;img" in html, path
