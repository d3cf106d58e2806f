"""The OpenAPI 3.1 document, generated from the app's URL map and the route schemas."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint
from flask import current_app
from pydantic import BaseModel
from pydantic import TypeAdapter

from builder.api.base import ROUTES
from builder.api.base import route
from builder.schemas.openapi import OpenApiDocumentOut

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}},
}


def _component(components: dict[str, Any], name: str, definition: dict[str, Any]) -> None:
    """Add a named schema; two different models of one name would make one of them wrong."""
    if components.setdefault(name, definition) != definition:
        raise RuntimeError(f"two different schemas are both called {name!r}; rename one of the models")


def _schema(kind: Any, components: dict[str, Any], *, named: bool = False) -> dict[str, Any]:
    """`kind`'s JSON schema; nested models go to components (so does `kind` itself when `named`)."""
    schema = TypeAdapter(kind).json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
    for name, definition in schema.pop("$defs", {}).items():
        _component(components, name, definition)
    if named and isinstance(kind, type) and issubclass(kind, BaseModel):
        _component(components, kind.__name__, schema)
        return {"$ref": f"#/components/schemas/{kind.__name__}"}
    return schema


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", rule):
        kind = "integer" if converter == "int" else "string"
        params.append({"name": name, "in": "path", "required": True, "schema": {"type": kind}})
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule), params


def build_openapi() -> dict[str, Any]:
    """Walk the URL map; every /api/v1 rule must have a RouteSpec."""
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        spec = ROUTES.get(rule.endpoint)
        if spec is None:
            raise RuntimeError(f"API route {rule.rule} has no RouteSpec; declare it with builder.api.base.route")
        path, params = _path(rule.rule)
        for method in spec.methods:
            op: dict[str, Any] = {
                "operationId": rule.endpoint.replace(".", "_") + "_" + method.lower(),
                "summary": spec.summary, "tags": [spec.tag.removeprefix("api_")],
                "parameters": list(params), "responses": {},
            }
            if spec.query is not None:
                query_schema = _schema(spec.query, components)
                for name, prop in query_schema.get("properties", {}).items():
                    required = name in query_schema.get("required", [])
                    op["parameters"].append({"name": name, "in": "query", "required": required, "schema": prop})
            if spec.body is not None:
                body_schema = _schema(spec.body, components)
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body_schema}}}
            if spec.form is not None:
                form_schema = _schema(spec.form, components)
                op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": form_schema}}}
            ok: dict[str, Any] = {"description": "No content" if spec.response is None else "OK"}
            if spec.response is not None:
                ok["content"] = {spec.media_type: {"schema": _schema(spec.response, components, named=True)}}
            op["responses"][str(spec.status)] = ok
            error_ref = {"$ref": "#/components/schemas/Error"}
            error = {"description": "Error", "content": {"application/json": {"schema": error_ref}}}
            for status in ("400", "401", "403", "404", "409", "422"):
                op["responses"][status] = error
            if not spec.public:
                op["security"] = [{"bearer": []}, {"session": []}]
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Stagecraft API", "version": "1.0.0",
                 "description": "Campaign automation and opportunity pipelines."},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
    }


@route(bp, "/openapi.json", response=OpenApiDocumentOut, public=True)
def openapi() -> Any:
    """This document."""
    return build_openapi()
