"""Error replies: JSON shape, malformed bodies, bad ids, nulls, the 500 handler, nothing half-written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from builder import create_app
from tests.builder.conftest import ApiActions
from tests.builder.conftest import error_fields
from tests.builder.conftest import error_of

BODY_ROUTES = [("POST", "/contacts"), ("POST", "/pipelines"), ("POST", "/opportunities"), ("POST", "/tasks"),
               ("POST", "/users"), ("POST", "/auth/token")]


MALFORMED = ['{"email": ', "{'single': 'quotes'}", "not json at all", "\xff\xfe"]
NOT_OBJECTS = ["[]", '["email"]', '"text"', "42", "null", "true"]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_malformed_json_is_400(api: ApiActions, method: str, path: str) -> None:
    """A body that is not JSON gives 400 malformed_json."""
    for raw in MALFORMED:
        response = api.call(method, path, data=raw.encode("latin-1"), content_type="application/json")
        error_of(response, 400, "malformed_json")


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_non_object_json_body_is_400(api: ApiActions, method: str, path: str) -> None:
    """Valid JSON that is not an object gives 400 malformed_json."""
    for raw in NOT_OBJECTS:
        error_of(api.call(method, path, data=raw, content_type="application/json"), 400, "malformed_json")


def test_form_encoded_body_is_not_json(api: ApiActions) -> None:
    """A form post to the API is refused as malformed, not half-parsed."""
    response = api.call("POST", "/contacts", data={"email": "a@example.com"})
    error_of(response, 400, "malformed_json")
    assert api.count("contact") == 0


def test_empty_body_lists_every_missing_field(api: ApiActions) -> None:
    """No body at all is an empty object: 422 naming each required field."""
    response = api.call("POST", "/opportunities")
    assert error_fields(response) == {"title", "contact_id", "pipeline_id", "stage_id"}


def test_validation_errors_do_not_echo_the_input(api: ApiActions) -> None:
    """details.errors carry field, message and type, never the submitted value."""
    response = api.post("/users", {"username": "ok", "password": "s3cr3t!", "role": "rep"})
    error = error_of(response, 422, "validation_error")
    assert error["details"]["errors"] == [{"field": "password", "message": error["details"]["errors"][0]["message"],
                                           "type": "string_too_short"}]
    assert "s3cr3t!" not in response.get_data(as_text=True)


def test_unknown_api_path_and_wrong_method_are_json(api: ApiActions) -> None:
    """404 and 405 under /api/ are JSON errors too."""
    error_of(api.get("/nothing-here"), 404, "not_found")
    error_of(api.call("PUT", "/contacts"), 405, "method_not_allowed")


@pytest.mark.parametrize("big", ["0", "2147483648", "99999999999999999999999"])
def test_impossible_ids_in_the_path_are_404(api: ApiActions, big: str) -> None:
    """Ids no row can have (zero, past the INTEGER range) are a plain 404."""
    for path in ("/opportunities/{big}", "/contacts/{big}", "/tasks/{big}", "/users/{big}", "/pipelines/{big}",
                 "/pipelines/{big}/forecast", "/opportunities/{big}/history"):
        error_of(api.get(path.format(big=big)), 404, "not_found")


@pytest.mark.parametrize(("method", "path", "body"), [
    ("PATCH", "/opportunities/{big}", {"title": "x"}),
    ("PUT", "/opportunities/1/checklist/{big}", {"done": True}),
    ("DELETE", "/stages/{big}", None),
    ("DELETE", "/auth/tokens/{big}", None),
])
def test_impossible_ids_are_404_for_every_method(api: ApiActions, method: str, path: str, body: Any) -> None:
    """A huge id is 404 whatever the method (never 405 or an overflow)."""
    error_of(api.call(method, path.format(big=10**30), body), 404, "not_found")


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/opportunities", {"contact_id": 10**20}, "contact_id"),
    ("/opportunities", {"owner_id": -1}, "owner_id"),
    ("/tasks", {"assignee_id": 10**20}, "assignee_id"),
    ("/contacts", {"owner_id": 2**31}, "owner_id"),
])
def test_impossible_ids_in_the_body_are_422(api: ApiActions, path: str, body: dict[str, Any], field: str) -> None:
    """Out-of-range ids in a body fail validation with the field named."""
    assert field in error_fields(api.post(path, body))


@pytest.mark.parametrize(("path", "field"), [("/opportunities?owner_id=99999999999999999999", "owner_id"),
                                             ("/contacts?offset=99999999999999999999", "offset"),
                                             ("/tasks?assignee_id=0", "assignee_id")])
def test_impossible_numbers_in_the_query_are_422(api: ApiActions, path: str, field: str) -> None:
    """Out-of-range query numbers fail validation with the parameter named."""
    assert field in error_fields(api.get(path))


def test_huge_values_are_refused(api: ApiActions, sales: dict[str, Any]) -> None:
    """Money past NUMERIC(14, 2), infinities and huge stage numbers are 422, not a database error."""
    contact = api.contact()
    base = {"title": "T", "contact_id": contact["id"], "pipeline_id": sales["id"], "stage_id": sales["stages"][0]["id"]}
    assert "value" in error_fields(api.post("/opportunities", {**base, "value": 1e15}))
    raw = (f'{{"title": "T", "contact_id": {contact["id"]}, "pipeline_id": {sales["id"]}, '
           f'"stage_id": {sales["stages"][0]["id"]}, "value": Infinity}}')
    assert "value" in error_fields(api.call("POST", "/opportunities", data=raw, content_type="application/json"))
    assert "products.0.quantity" in error_fields(api.post("/opportunities", {**base, "products": [
        {"name": "P", "quantity": 10**12}]}))
    assert "number" in error_fields(api.post(f"/pipelines/{sales['id']}/stages", {"number": 10**12, "name": "X"}))
    assert api.count("opportunity") == 0


def test_request_body_over_the_limit_is_413(api: ApiActions) -> None:
    """Bodies past MAX_CONTENT_LENGTH are refused with a JSON 413."""
    big = "x" * (4 * 1024 * 1024 + 1)
    response = api.call("POST", "/contacts", data=big, content_type="application/json")
    error_of(response, 413, "request_entity_too_large")


# --- nothing half-written -----------------------------------------------------------------


def test_refused_calls_leave_every_table_unchanged(api: ApiActions, sales: dict[str, Any]) -> None:
    """Calls refused part-way through (after some rows were flushed) roll back entirely."""
    opp = api.opportunity(sales, 0, title="Kept")
    api.contact("taken@example.com")
    counts = api.row_counts()
    refused = [
        api.post("/contacts", {"email": "new@example.com", "tags": ["ok", " "]}),
        api.post("/pipelines", {"name": "P", "kind": "sales", "template": "fulfillment",
                                "stages": [{"number": 155, "name": "Dup"}]}),
        api.patch(f"/opportunities/{opp['id']}", {"title": "Changed", "stage_id": sales["stages"][1]["id"]}),
        api.patch(f"/contacts/{opp['contact_id']}", {"first_name": "Z", "email": "taken@example.com"}),
        api.post("/users", {"username": "admin", "password": "long-enough-1", "role": "rep"}),
        api.post("/tasks", {"title": "T", "contact_id": 9999}),
    ]
    assert [r.status_code for r in refused] == [422, 409, 409, 409, 409, 422]
    assert api.row_counts() == counts
    assert api.ok("GET", f"/opportunities/{opp['id']}")["title"] == "Kept"


# --- the 500 handler --------------------------------------------------------------------------


def test_an_unexpected_error_is_a_json_500_without_details(tmp_path: Path) -> None:
    """The last-resort handler answers JSON internal_error and does not leak the exception."""
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/boom.db", "SECRET_KEY": "test",
                      "DATA_DIR": str(tmp_path)})

    @app.route("/api/test-boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    try:
        response = FlaskClient(app).get("/api/test-boom")
        error = error_of(response, 500, "internal_error")
        assert "secret internals" not in response.get_data(as_text=True)
        assert error["details"] == {}
    finally:
        app.extensions["stagecraft_db"].engine.dispose()
