"""Browser logins are server-side sessions: logout ends them even for a copied cookie."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from models import clock
from models.users import LOGIN_DAYS
from tests.builder.conftest import ApiActions


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_logout_ends_the_session_even_for_a_copied_cookie(app: Flask, api: ApiActions) -> None:
    """A cookie copied before logout no longer logs anyone in."""
    api.add_user("ria")
    browser = app.test_client()
    csrf = api.login_session("ria", browser)
    copied = _cookie(browser)
    assert browser.get("/api/v1/users/me").status_code == 200
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/api/v1/users/me").status_code == 200
    assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 302
    assert thief.get("/api/v1/users/me").status_code == 401


def test_deactivation_ends_every_login(app: Flask, api: ApiActions) -> None:
    """Deactivating a user logs out all their browsers."""
    uid = api.add_user("dee")["id"]
    browser = app.test_client()
    api.login_session("dee", browser)
    assert browser.get("/api/v1/users/me").status_code == 200
    api.ok("PATCH", f"/users/{uid}", {"active": False})
    assert browser.get("/api/v1/users/me").status_code == 401


def test_login_expires_after_its_lifetime(app: Flask, api: ApiActions, fake_clock: clock.FakeClock) -> None:
    """A login lasts LOGIN_DAYS at most."""
    api.add_user("exp")
    browser = app.test_client()
    api.login_session("exp", browser)
    fake_clock.advance(days=LOGIN_DAYS, seconds=1)
    assert browser.get("/api/v1/users/me").status_code == 401


def test_only_a_digest_of_the_login_id_is_stored(app: Flask, api: ApiActions) -> None:
    """The database keeps SHA-256 digests, never the id the cookie carries."""
    api.add_user("dig")
    browser = app.test_client()
    api.login_session("dig", browser)
    with api.engine.connect() as conn:
        from sqlalchemy import text

        digests = [row[0] for row in conn.execute(text("SELECT token_hash FROM login_session"))]
    assert digests and all(len(d) == 64 for d in digests)
