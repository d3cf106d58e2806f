"""Authentication through /api/v1: tokens, expiry, revocation, rate limiting, sessions and CSRF, users."""

from __future__ import annotations

import re
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from builder.api.base import ROUTES
from models import clock
from tests.builder.conftest import ApiActions
from tests.builder.conftest import error_fields
from tests.builder.conftest import error_of

PUBLIC = {"api_auth.issue_token", "api_docs.openapi"}
"""Endpoints that answer without credentials; anything else must be deliberate (add it here)."""


def parse_time(value: str) -> datetime:
    """An API timestamp as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def api_calls(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, concrete URL) for every /api/v1 rule of the URL map."""
    calls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        url = re.sub(r"<int:\w+>", "1", rule.rule)
        url = re.sub(r"<(?:\w+:)?\w+>", "x", url)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            calls.append((rule.endpoint, method, url))
    return calls


# --- tokens ----------------------------------------------------------------------------


def test_token_exchange_returns_token_expiry_and_user(api: ApiActions, fake_clock: clock.FakeClock) -> None:
    """POST /auth/token 200 {token, expires_at (30 days), user} without any password material."""
    api.user("rep1")
    response = api.login_token("rep1")
    assert response.status_code == 200
    body = response.get_json()
    assert body["token"].startswith("sc_") and len(body["token"]) > 30
    assert parse_time(body["expires_at"]) == fake_clock.now() + timedelta(days=30)
    assert (body["user"]["username"], body["user"]["role"]) == ("rep1", "rep")
    assert "password" not in response.get_data(as_text=True)
    me = api.ok("GET", "/users/me", headers={"Authorization": f"Bearer {body['token']}"}, as_user=None)
    assert me["id"] == api.uid("rep1")


@pytest.mark.parametrize(("username", "password"), [("rep1", "wrong-password"), ("nobody", "correct-horse-1")])
def test_bad_credentials_are_401_without_saying_which_part(api: ApiActions, username: str, password: str) -> None:
    """Wrong password and unknown user give the same 401 bad_credentials."""
    api.user("rep1")
    response = api.client.post("/api/v1/auth/token", json={"username": username, "password": password})
    error = error_of(response, 401, "bad_credentials")
    assert error["message"] == "wrong username or password"


@pytest.mark.parametrize(("body", "field"), [({"username": "rep1"}, "password"), ({"password": "x"}, "username"),
                                             ({"username": "a", "password": "b", "scope": "all"}, "scope")])
def test_token_request_is_validated(api: ApiActions, body: dict[str, Any], field: str) -> None:
    """Missing or unknown fields give 422 naming them."""
    assert field in error_fields(api.client.post("/api/v1/auth/token", json=body))


def test_password_spaces_are_significant(api: ApiActions) -> None:
    """A password with surrounding spaces logs in as typed (not stripped) and not without them."""
    api.add_user("spacey", "rep", password="  padded pass  ")
    assert api.login_token("spacey").status_code == 200
    error_of(api.login_token("spacey", password="padded pass"), 401, "bad_credentials")


@pytest.mark.parametrize("header", ["Bearer sc_not-a-real-token", "Bearer ", "Basic YWRtaW46YWRtaW4=", "sc_x"])
def test_bad_authorization_header_is_401(api: ApiActions, header: str) -> None:
    """Unknown tokens and other schemes are unauthenticated."""
    error_of(api.get("/users/me", as_user=None, headers={"Authorization": header}), 401, "unauthorized")


def test_token_expires_after_30_days(api: ApiActions, fake_clock: clock.FakeClock) -> None:
    """A token works until its expiry and is 401 after it."""
    token = api.token("rep1")
    headers = {"Authorization": f"Bearer {token}"}
    fake_clock.advance(days=30, seconds=-1)
    assert api.get("/users/me", as_user=None, headers=headers).status_code == 200
    fake_clock.advance(seconds=1)
    error_of(api.get("/users/me", as_user=None, headers=headers), 401, "unauthorized")


def test_revoked_token_stops_working_and_others_do_not(api: ApiActions) -> None:
    """DELETE /auth/tokens/{id} 204; that token is 401, the user's other token still works."""
    first = api.login_token("rep1").get_json()["token"]
    second = api.login_token("rep1").get_json()["token"]
    tokens = api.ok("GET", "/auth/tokens", headers={"Authorization": f"Bearer {first}"}, as_user=None)
    assert len(tokens) == 2
    assert all(set(t) >= {"id", "label", "created_at", "expires_at", "revoked_at"} for t in tokens)
    assert first not in str(tokens) and "hash" not in str(tokens)
    response = api.delete(f"/auth/tokens/{tokens[0]['id']}", as_user=None,
                          headers={"Authorization": f"Bearer {second}"})
    assert response.status_code == 204
    error_of(api.get("/users/me", as_user=None, headers={"Authorization": f"Bearer {first}"}), 401)
    assert api.get("/users/me", as_user=None, headers={"Authorization": f"Bearer {second}"}).status_code == 200


def test_cannot_revoke_someone_elses_token(api: ApiActions) -> None:
    """Another user's token id is 404 to a rep; the token keeps working."""
    api.token("rep2")
    [theirs] = api.ok("GET", "/auth/tokens", as_user="rep2")
    error_of(api.delete(f"/auth/tokens/{theirs['id']}", as_user="rep1"), 404, "not_found")
    assert api.get("/users/me", as_user="rep2").status_code == 200


def test_tokens_and_passwords_are_stored_hashed(api: ApiActions, tmp_path: Path) -> None:
    """Neither the clear token nor the password appears anywhere in the database files."""
    api.add_user("secretive", "rep", password="Sup3r-Secret-Passphrase")
    token = api.token("secretive")
    assert api.get("/users/me", as_user="secretive").status_code == 200
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("t.db*"))
    assert b"secretive" in raw  # the files hold the data ...
    assert token.encode() not in raw  # ... but not the secrets
    assert token.removeprefix("sc_").encode() not in raw
    assert b"Sup3r-Secret-Passphrase" not in raw
    assert b"scrypt$" in raw


def test_login_is_rate_limited_after_five_failures(api: ApiActions, fake_clock: clock.FakeClock) -> None:
    """Five failures in 15 minutes lock the username (429, even with the right password) until the window passes."""
    api.user("rep1")
    api.user("rep2")
    for _ in range(5):
        error_of(api.login_token("rep1", password="guess"), 401, "bad_credentials")
    error_of(api.login_token("rep1"), 429, "rate_limited")
    assert api.login_token("rep2").status_code == 200
    fake_clock.advance(minutes=15, seconds=1)
    assert api.login_token("rep1").status_code == 200


# --- unauthenticated calls ---------------------------------------------------------------


def test_every_non_public_api_route_needs_credentials(app: Flask, api: ApiActions) -> None:
    """Each method of each /api/v1 rule answers 401 unauthorized without a token or session."""
    calls = api_calls(app)
    assert len(calls) > 30
    public = {endpoint for endpoint, spec in ROUTES.items() if spec.public}
    assert public <= PUBLIC, f"new public endpoints: {public - PUBLIC}"
    checked = 0
    for endpoint, method, url in calls:
        if endpoint in PUBLIC:
            continue
        response = api.client.open(url, method=method, json={})
        error_of(response, 401, "unauthorized")
        checked += 1
    assert checked == len(calls) - 2
    assert api.count("domain_event") == 0


def test_public_routes_answer_without_credentials(api: ApiActions) -> None:
    """The OpenAPI document and the token exchange need no credentials."""
    assert api.client.get("/api/v1/openapi.json").status_code == 200
    api.user("rep1")
    assert api.login_token("rep1").status_code == 200


def test_inactive_users_tokens_stop_working(api: ApiActions) -> None:
    """Deactivating a user makes their token 401 and their login fail."""
    token = api.token("rep1")
    api.ok("PATCH", f"/users/{api.uid('rep1')}", {"active": False})
    error_of(api.get("/users/me", as_user=None, headers={"Authorization": f"Bearer {token}"}), 401)
    error_of(api.login_token("rep1"), 401, "bad_credentials")


# --- browser sessions and CSRF -------------------------------------------------------------


def test_session_cookie_call_without_csrf_token_is_refused(api: ApiActions) -> None:
    """A logged-in browser may GET freely, but a POST without the CSRF token is 400 csrf_failed."""
    api.login_session("admin")
    assert api.get("/users/me", as_user=None).get_json()["username"] == "admin"
    counts = api.row_counts()
    error_of(api.post("/contacts", {"email": "csrf@example.com"}, as_user=None), 400, "csrf_failed")
    error_of(api.post("/contacts", {"email": "csrf@example.com"}, as_user=None,
                      headers={"X-CSRFToken": "forged"}), 400, "csrf_failed")
    assert api.row_counts() == counts


def test_session_cookie_call_with_csrf_token_succeeds(api: ApiActions) -> None:
    """The session's CSRF token in X-CSRFToken lets the call through as the logged-in user."""
    csrf = api.login_session("rep1")
    contact = api.ok("POST", "/contacts", {"email": "csrf@example.com"}, as_user=None,
                     headers={"X-CSRFToken": csrf})
    assert contact["email"] == "csrf@example.com"
    [event] = api.events() or [None]
    assert event is None  # no tags, no event
    opp_body = {"title": "Mine"}
    assert "contact_id" in error_fields(api.post("/opportunities", opp_body, as_user=None,
                                                 headers={"X-CSRFToken": csrf}))


def test_bearer_calls_need_no_csrf_token_even_with_a_session(api: ApiActions) -> None:
    """A bearer token is not an ambient credential: no CSRF check, even if a session cookie rides along."""
    api.token("rep2")
    api.login_session("rep1")
    contact = api.ok("POST", "/contacts", {"email": "bearer@example.com"}, as_user="rep2")
    assert contact["id"]
    error_of(api.post("/contacts", {"email": "cookie@example.com"}, as_user=None), 400, "csrf_failed")


def test_logout_ends_api_access_by_session(api: ApiActions) -> None:
    """After POST /logout the session no longer authenticates API calls."""
    csrf = api.login_session("rep1")
    assert api.get("/users/me", as_user=None).status_code == 200
    api.client.post("/logout", data={"csrf_token": csrf})
    error_of(api.get("/users/me", as_user=None), 401, "unauthorized")


# --- users -----------------------------------------------------------------------------


def test_admin_creates_users_without_echoing_the_password(api: ApiActions) -> None:
    """POST /users 201 for admins; the new user can get a token."""
    response = api.post("/users", {"username": "newrep", "password": "long-enough-1", "role": "rep",
                                   "name": "New Rep", "daily_task_capacity": 5, "team": "South"})
    assert response.status_code == 201
    user = response.get_json()
    assert (user["role"], user["daily_task_capacity"], user["name"]) == ("rep", 5, "New Rep")
    assert user["team_id"] is not None
    assert "long-enough-1" not in response.get_data(as_text=True)
    token = api.client.post("/api/v1/auth/token", json={"username": "newrep", "password": "long-enough-1"})
    assert token.status_code == 200


def test_user_creation_rules(api: ApiActions) -> None:
    """Reps cannot create users (403); duplicates are 409; weak passwords and bad roles 422."""
    body = {"username": "x1", "password": "long-enough-1", "role": "rep"}
    error_of(api.post("/users", body, as_user="rep1"), 403, "forbidden")
    api.ok("POST", "/users", body)
    error_of(api.post("/users", body), 409, "username_taken")
    assert "password" in error_fields(api.post("/users", {**body, "username": "x2", "password": "short"}))
    assert "role" in error_fields(api.post("/users", {**body, "username": "x3", "role": "boss"}))
    assert "username" in error_fields(api.post("/users", {**body, "username": "has space"}))


def test_users_edit_their_own_name_but_not_their_role(api: ApiActions) -> None:
    """A rep may rename themself; changing a role is for admins."""
    me = api.uid("rep1")
    assert api.ok("PATCH", f"/users/{me}", {"name": "Riley"}, as_user="rep1")["name"] == "Riley"
    error_of(api.patch(f"/users/{me}", {"role": "admin"}, as_user="rep1"), 403, "forbidden")
    error_of(api.patch(f"/users/{api.uid('rep2')}", {"name": "Nope"}, as_user="rep1"), 403, "forbidden")
    assert api.ok("PATCH", f"/users/{me}", {"role": "marketer"})["role"] == "marketer"


@pytest.mark.parametrize(("body", "field"), [
    ({"name": None}, "name"), ({"active": None}, "active"), ({"daily_task_capacity": 0}, "daily_task_capacity"),
    ({"timezone": None}, "timezone"), ({"email": None}, "email"), ({"username": "renamed"}, "username"),
])
def test_bad_user_patch_names_the_field(api: ApiActions, body: dict[str, Any], field: str) -> None:
    """null for required fields, out-of-range and unknown fields are 422 and change nothing."""
    before = api.ok("GET", f"/users/{api.uid('rep1')}")
    assert field in error_fields(api.patch(f"/users/{api.uid('rep1')}", body))
    assert api.ok("GET", f"/users/{api.uid('rep1')}") == before


def test_list_and_get_users(api: ApiActions) -> None:
    """Any user lists users; an unknown id is 404."""
    api.user("rep1")
    names = [u["username"] for u in api.ok("GET", "/users", as_user="rep1")]
    assert names == ["admin", "rep1"]
    error_of(api.get("/users/9999"), 404, "not_found")
