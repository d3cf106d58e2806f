"""The OpenAPI document at /api/v1/openapi.json: valid, complete, generated from the handlers' schemas."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from builder.api.base import ROUTES
from builder.schemas.opportunities import OpportunityCreate
from builder.schemas.opportunities import OpportunityPatch


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    """The served document (fetched without credentials)."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()  # type: ignore[no-any-return]


def openapi_path(rule: str) -> str:
    """A Flask rule in OpenAPI form: <int:id> → {id}."""
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_document_is_valid_openapi(document: dict[str, Any]) -> None:
    """openapi-spec-validator accepts it."""
    validate(document)
    assert document["openapi"].startswith("3.")


def test_document_lists_every_api_rule_method_by_method(app: Flask, document: dict[str, Any]) -> None:
    """Each method of each /api/v1 rule in the URL map has an operation, and nothing else does."""
    expected = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
                expected.add((openapi_path(rule.rule), method.lower()))
    listed = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert listed == expected
    assert ("/api/v1/opportunities/{opportunity_id}", "patch") in listed
    assert ("/api/v1/pipelines/{pipeline_id}/forecast", "get") in listed


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    """Clients generate method names from operationId."""
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


def test_path_parameters_are_declared(document: dict[str, Any]) -> None:
    """Every {param} of a path is a required path parameter (integers for ids; a graph's node ids are text)."""
    for path, ops in document["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for op in ops.values():
            declared = {p["name"]: p for p in op["parameters"] if p["in"] == "path"}
            assert set(declared) == names, path
            assert all(p["required"] for p in declared.values())
            assert all(p["schema"]["type"] == "integer" for n, p in declared.items()
                       if n.endswith("_id") and n != "node_id")
            assert all(p["schema"]["type"] == "string" for n, p in declared.items() if n == "node_id")


def test_security_marks_everything_but_the_public_routes(document: dict[str, Any]) -> None:
    """Only the token exchange and this document are callable without credentials."""
    public = sorted((path, m) for path, ops in document["paths"].items() for m, op in ops.items()
                    if "security" not in op)
    assert public == [("/api/v1/auth/token", "post"), ("/api/v1/openapi.json", "get")]
    assert set(document["components"]["securitySchemes"]) == {"bearer", "session"}


def test_request_bodies_come_from_the_handler_schemas(document: dict[str, Any]) -> None:
    """POST /opportunities documents OpportunityCreate: its fields, required ones, no extras."""
    op = document["paths"]["/api/v1/opportunities"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == set(OpportunityCreate.model_fields)
    assert set(schema["required"]) == {"title", "contact_id", "pipeline_id", "stage_id"}
    assert schema["additionalProperties"] is False
    assert "201" in op["responses"] and "422" in op["responses"]
    patch = document["paths"]["/api/v1/opportunities/{opportunity_id}"]["patch"]
    patch_schema = patch["requestBody"]["content"]["application/json"]["schema"]
    assert set(patch_schema["properties"]) == set(OpportunityPatch.model_fields)
    assert patch_schema["properties"]["title"]["type"] == "string"  # null is not accepted for title


def test_every_body_route_documents_its_body(document: dict[str, Any]) -> None:
    """Routes declared with a body schema have a requestBody; query models become query parameters."""
    by_operation = {op["operationId"]: op for ops in document["paths"].values() for op in ops.values()}
    for endpoint, spec in ROUTES.items():
        for method in spec.methods:
            op = by_operation.get(endpoint.replace(".", "_") + "_" + method.lower())
            if op is None:  # a route registered on another app only
                continue
            assert ("requestBody" in op) == (spec.body is not None or spec.form is not None), endpoint
            if spec.query is not None:
                query = {p["name"] for p in op["parameters"] if p["in"] == "query"}
                assert query == set(spec.query.model_fields), endpoint


def test_uploads_and_downloads_say_their_media_types(document: dict[str, Any]) -> None:
    """The CSV import is a multipart body with a binary file; an export's file is text/csv."""
    upload = document["paths"]["/api/v1/contacts/import"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"]["properties"]["file"] == {"default": None, "format": "binary", "title": "File",
                                                      "type": "string"}
    assert {"mapping", "tags"} <= set(upload["schema"]["properties"])
    download = document["paths"]["/api/v1/jobs/{job_id}/file"]["get"]["responses"]["200"]["content"]
    assert set(download) == {"text/csv"}


def test_errors_reference_the_error_schema(document: dict[str, Any]) -> None:
    """4xx replies point at the shared {"error": {code, message, details}} schema."""
    error = document["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "message"]
    op = document["paths"]["/api/v1/contacts"]["post"]
    assert op["responses"]["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
