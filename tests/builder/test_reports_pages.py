"""The reports page shell, the favicon, and the login form after a wrong password."""

from __future__ import annotations

from typing import Any

from tests.builder.conftest import ApiActions
from tests.builder.conftest import csrf_token_of


def test_reports_page_picks_the_asked_pipeline_or_the_first(api: ApiActions, sales: dict[str, Any]) -> None:
    """/reports renders the pipeline asked for (a real <select> lists them all); an unknown id falls back."""
    other = api.pipeline("fulfillment", name="Delivery")
    api.login_session("rep1")
    page = api.client.get(f"/reports?pipeline_id={other['id']}").get_data(as_text=True)
    assert f'data-pipeline-id="{other["id"]}"' in page
    assert "js/reports.js" in page and "<h1>Sales reports</h1>" in page
    fallback = api.client.get("/reports?pipeline_id=99999").get_data(as_text=True)
    assert f'data-pipeline-id="{sales["id"]}"' in fallback
    assert 'href="/reports"' in fallback  # in the main navigation


def test_reports_page_without_pipelines_says_so(api: ApiActions) -> None:
    """No pipeline yet: an empty state, no script."""
    api.login_session("rep1")
    page = api.client.get("/reports").get_data(as_text=True)
    assert "No pipelines yet" in page and "js/reports.js" not in page


def test_favicon_is_served_and_linked(api: ApiActions) -> None:
    """/favicon.ico answers (no 404 in the console) and every page links the SVG icon."""
    response = api.client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert 'rel="icon"' in api.client.get("/login").get_data(as_text=True)


def test_wrong_password_keeps_the_username_and_says_it_in_a_sentence(api: ApiActions) -> None:
    """The form comes back with the username filled in and a capitalised message; focus goes to the password."""
    api.user("rep1")
    response = api.client.post("/login", data={"username": "rep1", "password": "nope-nope-1",
                                               "csrf_token": csrf_token_of(api.client)})
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert 'value="rep1"' in page
    assert "Wrong username or password." in page
    assert 'type="password" autocomplete="current-password" required\n    autofocus' in page
