"""The contact record page: login required, renders, 404s, CSP header, no inline scripts."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.builder.conftest import ApiActions


def test_contact_page_needs_login(api: ApiActions, app: Flask) -> None:
    """An anonymous visitor is sent to the login form."""
    person = api.contact("anon@example.com", first_name="Ada")
    r = app.test_client().get(f"/contacts/{person['id']}")
    assert r.status_code == 302
    assert "/login" in r.headers["Location"]


def test_contact_page_renders_with_csp_and_no_inline_scripts(api: ApiActions, client: FlaskClient) -> None:
    """A known contact renders (name escaped), with the CSP header and only external scripts."""
    person = api.contact("ada@example.com", first_name="Ada", last_name="<script>x</script>")
    api.login_session("admin", client)
    r = client.get(f"/contacts/{person['id']}")
    assert r.status_code == 200
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    html = r.get_data(as_text=True)
    for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
        assert "src=" in attrs and not body.strip(), "inline script"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert f'data-contact-id="{person["id"]}"' in html
    assert "Ada &lt;script&gt;x&lt;/script&gt;" in html
    assert "<script>x</script>" not in html
    for script in ("js/api.js", "js/workspace.js", "js/contact.js"):
        assert script in html


def test_contact_page_renders_for_a_rep(api: ApiActions, client: FlaskClient) -> None:
    """Reps open contact records too (the scripts fetch only what the API lets them see)."""
    person = api.contact()
    api.login_session("rep1", client)
    assert client.get(f"/contacts/{person['id']}").status_code == 200


def test_unknown_contact_is_404(api: ApiActions, client: FlaskClient) -> None:
    """An unknown id is the 404 page."""
    api.login_session("admin", client)
    assert client.get("/contacts/999999").status_code == 404
