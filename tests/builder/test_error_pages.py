"""Forbidden and not-found pages: in the app's layout, with navigation and a way back, never bare text."""

from __future__ import annotations

from tests.builder.conftest import ApiActions


def page(api: ApiActions, username: str | None, path: str) -> tuple[int, str]:
    client = api.app.test_client()
    if username is not None:
        api.login_session(username, client)
    response = client.get(path, headers={"Accept": "text/html"})
    return response.status_code, response.get_data(as_text=True)


def test_not_found_page_has_the_layout_and_a_way_back(api: ApiActions) -> None:
    status, html = page(api, "marketer", "/campaigns/999999")
    assert status == 404
    assert '<nav class="mainnav"' in html and "<h1>We couldn&#39;t find that page</h1>" in html
    assert '<a href="/campaigns">Back to the campaigns</a>' in html
    assert '<a href="/">Go to your start page</a>' in html
    assert "app.css" in html


def test_forbidden_page_has_the_layout(api: ApiActions) -> None:
    campaign = api.ok("POST", "/campaigns", {"name": "Secret"}, as_user="marketer", status=201)
    status, html = page(api, "rep1", f"/campaigns/{campaign['id']}")
    assert status == 403
    assert "<h1>You don&#39;t have access to this page</h1>" in html and '<nav class="mainnav"' in html
    assert '<a href="/campaigns">Back to the campaigns</a>' in html


def test_unknown_page_for_a_visitor_offers_the_login(api: ApiActions) -> None:
    status, html = page(api, None, "/no-such-page")
    assert status == 404
    assert '<a href="/login">Log in</a>' in html and "mainnav" not in html


def test_api_errors_stay_json(api: ApiActions) -> None:
    response = api.get("/campaigns/999999", as_user="marketer")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_csrf_failure_page_says_what_happened(api: ApiActions) -> None:
    client = api.app.test_client()
    api.login_session("marketer", client)
    response = client.post("/logout", headers={"Accept": "text/html"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "security check (CSRF) failed" in html and "app.css" in html
    assert "csrf-token" not in html and "Set-Cookie" not in response.headers  # the login cookie is left alone
