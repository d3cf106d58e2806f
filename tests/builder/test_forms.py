"""Hosted web forms: the API that builds them and the public page that takes submissions (DESIGN.md §6.3)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.builder.conftest import ApiActions
from tests.builder.conftest import error_of

FIELDS = [
    {"name": "email", "label": "Your email", "required": True},
    {"name": "first_name", "label": "First name", "required": True},
    {"name": "phone", "label": "Phone"},
    {"name": "fields.company", "label": "Company"},
]


def make_form(api: ApiActions, **extra: Any) -> dict[str, Any]:
    """A form through the API (as a marketer)."""
    body = {"name": "Spring webinar", "fields": FIELDS, "tags": ["webinar"], **extra}
    return dict(api.ok("POST", "/forms", body, as_user="marketer", status=201))


def public(app: Flask) -> FlaskClient:
    """A fresh anonymous client (no session, no CSRF token)."""
    return app.test_client()


def valid(**extra: str) -> dict[str, str]:
    return {"email": "Ada@Example.com", "first_name": "Ada", "phone": "+44 20 7946 0000",
            "fields.company": "Analytical", **extra}


def test_create_form_gives_slug_url_and_snippets(api: ApiActions) -> None:
    form = make_form(api)
    assert form["slug"] == "spring-webinar"
    assert form["url"].endswith("/f/spring-webinar")
    assert [f["name"] for f in form["fields"]] == ["email", "first_name", "phone", "fields.company"]
    assert form["tags"] == ["webinar"] and form["submissions"] == 0
    assert f'src="{form["url"]}"' in form["embed"]["iframe"]
    assert f'action="{form["url"]}"' in form["embed"]["html"] and 'name="website"' in form["embed"]["html"]
    assert api.ok("GET", "/forms", as_user="marketer")[0]["id"] == form["id"]


def test_a_second_form_with_the_same_name_is_a_conflict_and_slugs_stay_unique(api: ApiActions) -> None:
    make_form(api)
    error_of(api.post("/forms", {"name": "spring webinar", "fields": FIELDS}, as_user="marketer"), 409,
             "form_name_taken")
    other = api.ok("POST", "/forms", {"name": "Spring Webinar!", "fields": FIELDS}, as_user="marketer", status=201)
    assert other["slug"] == "spring-webinar-2"


@pytest.mark.parametrize(("fields", "words"), [
    ([{"name": "first_name", "label": "First"}], "email"),
    ([{"name": "email", "label": "E"}, {"name": "email", "label": "E2"}], "twice"),
])
def test_form_definitions_are_checked(api: ApiActions, fields: list[dict[str, Any]], words: str) -> None:
    api.token("marketer")
    counts = api.row_counts()
    error = error_of(api.post("/forms", {"name": "F", "fields": fields}, as_user="marketer"), 422, "invalid_form")
    assert words in error["message"]
    assert api.row_counts() == counts


def test_renaming_keeps_the_slug_and_reps_cannot_manage_forms(api: ApiActions) -> None:
    form = make_form(api)
    renamed = api.ok("PATCH", f"/forms/{form['id']}", {"name": "Autumn webinar"}, as_user="marketer")
    assert (renamed["name"], renamed["slug"]) == ("Autumn webinar", "spring-webinar")
    error_of(api.get("/forms", as_user="rep1"), 403)
    error_of(api.post("/forms", {"name": "X", "fields": FIELDS}, as_user="rep1"), 403)


def test_public_page_renders_the_fields_without_login_and_may_be_framed(api: ApiActions, app: Flask) -> None:
    form = make_form(api, title="Join the webinar")
    page = public(app).get(f"/f/{form['slug']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Join the webinar" in html and 'name="fields.company"' in html and 'name="website"' in html
    assert "csrf" not in html.lower() and "<script" not in html
    assert "frame-ancestors *" in page.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in page.headers
    assert "Set-Cookie" not in page.headers
    assert public(app).get("/f/no-such-form").status_code == 404


def test_a_submission_creates_the_contact_tags_it_and_reports_form_submitted(api: ApiActions, app: Flask) -> None:
    form = make_form(api)
    reply = public(app).post(f"/f/{form['slug']}", data=valid())
    assert reply.status_code == 303 and reply.headers["Location"].endswith(f"/f/{form['slug']}/thanks")
    [contact] = api.ok("GET", "/contacts?q=ada@example.com")
    assert (contact["email"], contact["first_name"], contact["phone"]) == ("ada@example.com", "Ada",
                                                                           "+44 20 7946 0000")
    assert contact["fields"] == {"company": "Analytical"} and contact["tags"] == ["webinar"]
    [event] = api.events("form_submitted")
    assert (event["contact_id"], event["payload"]["form"], event["source"]) == (contact["id"], form["slug"], "form")
    assert api.ok("GET", f"/forms/{form['id']}", as_user="marketer")["submissions"] == 1
    thanks = public(app).get(f"/f/{form['slug']}/thanks")
    assert thanks.status_code == 200 and "Thank you" in thanks.get_data(as_text=True)


def test_an_existing_contact_is_matched_by_email_whatever_the_case(api: ApiActions, app: Flask) -> None:
    existing = api.contact("ada@example.com", first_name="Augusta", last_name="King")
    form = make_form(api)
    assert public(app).post(f"/f/{form['slug']}", json=valid(email="ADA@EXAMPLE.COM")).status_code == 202
    contact = api.ok("GET", f"/contacts/{existing['id']}")
    assert api.count("contact") == 1
    assert (contact["first_name"], contact["last_name"]) == ("Ada", "King")  # empty values never erase
    assert "webinar" in contact["tags"]


def test_json_submission_gets_202_and_a_redirect_form_sends_there(api: ApiActions, app: Flask) -> None:
    form = make_form(api, redirect_url="https://example.com/thanks")
    reply = public(app).post(f"/f/{form['slug']}", json=valid())
    assert reply.status_code == 202 and reply.get_json() == {"ok": True}
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    reply = public(app).post(f"/f/{form['slug']}", data=valid(email="b@example.com"))
    assert (reply.status_code, reply.headers["Location"]) == (303, "https://example.com/thanks")
    assert "https://example.com" in public(app).get(f"/f/{form['slug']}").headers["Content-Security-Policy"]


def test_a_form_goal_matches_hosted_and_api_submissions_alike(api: ApiActions, app: Flask) -> None:
    form = make_form(api)
    graph = {"nodes": [
        {"id": "g1", "kind": "goal", "type": "form_submitted", "name": "Signed up", "config": {"form": form["slug"]},
         "position": {"x": 0, "y": 0}},
        {"id": "s1", "kind": "sequence", "name": "Welcome", "position": {"x": 200, "y": 0},
         "steps": [{"id": "t1", "type": "create_note", "config": {"body": "signed up"}}]}],
        "edges": [{"source": "g1", "target": "s1"}]}
    campaign = api.ok("POST", "/campaigns", {"name": "Webinar"}, as_user="marketer", status=201)
    api.ok("PUT", f"/campaigns/{campaign['id']}/draft", {"graph": graph}, as_user="marketer")
    api.ok("POST", f"/campaigns/{campaign['id']}/publish", as_user="marketer", status=200)
    assert public(app).post(f"/f/{form['slug']}", data=valid()).status_code == 303
    other = api.contact("grace@example.com")
    api.ok("POST", "/events", {"type": "form_submitted", "contact_id": other["id"], "form": form["slug"]}, status=202)
    stats = api.ok("GET", f"/campaigns/{campaign['id']}/stats", as_user="marketer")
    assert stats["nodes"]["g1"]["satisfied"] == 2


# --- spam measures and bad input: a clear 4xx and nothing stored ----------------------------------


def assert_nothing_stored(api: ApiActions, before: dict[str, int]) -> None:
    assert api.row_counts() == before


def test_the_honeypot_refuses_the_submission(api: ApiActions, app: Flask) -> None:
    form = make_form(api)
    before = api.row_counts()
    page = public(app).post(f"/f/{form['slug']}", data=valid(website="http://spam.example"))
    assert page.status_code == 422 and "looks automated" in page.get_data(as_text=True)
    error_of(public(app).post(f"/f/{form['slug']}", json=valid(website="x")), 422, "spam_suspected")
    assert_nothing_stored(api, before)


def test_the_rate_limit_is_per_address(api: ApiActions, app: Flask) -> None:
    app.config["FORM_RATE_LIMIT"] = (2, 600)
    form = make_form(api)
    client = public(app)
    for i in range(2):
        assert client.post(f"/f/{form['slug']}", data=valid(email=f"p{i}@example.com")).status_code == 303
    before = api.row_counts()
    error_of(client.post(f"/f/{form['slug']}", json=valid(email="p3@example.com")), 429, "rate_limited")
    page = client.post(f"/f/{form['slug']}", data=valid(email="p4@example.com"))
    assert page.status_code == 429 and "Too many submissions" in page.get_data(as_text=True)
    assert_nothing_stored(api, before)
    other = client.post(f"/f/{form['slug']}", data=valid(email="p5@example.com"),
                        environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 303  # another address has its own allowance


def test_an_oversize_submission_is_413(api: ApiActions, app: Flask) -> None:
    form = make_form(api)
    before = api.row_counts()
    page = public(app).post(f"/f/{form['slug']}", data=valid(**{"fields.company": "x" * 20000}))
    assert page.status_code == 413 and "too large" in page.get_data(as_text=True)
    error_of(public(app).post(f"/f/{form['slug']}", json=valid(**{"fields.company": "x" * 20000})), 413, "too_large")
    assert_nothing_stored(api, before)


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"first_name": "Ada"}, "email", "required"),
    ({"email": "not-an-email", "first_name": "Ada"}, "email", "name@example.com"),
    ({"email": "a@example.com"}, "first_name", "required"),
    ({"email": "a@example.com", "first_name": "A" * 121}, "first_name", "at most 120"),
    ({"email": "a@example.com", "first_name": 7}, "first_name", "type text"),
])
def test_invalid_values_re_render_with_messages_or_422_json(api: ApiActions, app: Flask, body: dict[str, Any],
                                                            field: str, words: str) -> None:
    form = make_form(api)
    before = api.row_counts()
    error = error_of(public(app).post(f"/f/{form['slug']}", json=body), 422, "invalid_submission")
    assert words in error["details"]["fields"][field]
    if all(isinstance(v, str) for v in body.values()):
        page = public(app).post(f"/f/{form['slug']}", data=body)
        html = page.get_data(as_text=True)
        assert page.status_code == 422 and words in html and 'aria-invalid="true"' in html
    assert_nothing_stored(api, before)


@pytest.mark.parametrize(("kwargs", "status"), [
    ({"data": "[1, 2]", "content_type": "application/json"}, 400),
    ({"data": "{not json", "content_type": "application/json"}, 400),
    ({"data": "email=a@example.com", "content_type": "text/plain"}, 400),
])
def test_malformed_submissions_are_400(api: ApiActions, app: Flask, kwargs: dict[str, Any], status: int) -> None:
    form = make_form(api)
    before = api.row_counts()
    reply = public(app).post(f"/f/{form['slug']}", headers={"Accept": "application/json"}, **kwargs)
    error_of(reply, status, "malformed")
    assert_nothing_stored(api, before)
