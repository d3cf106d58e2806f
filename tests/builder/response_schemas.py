"""Check real API replies against the OpenAPI document: the declared status, and the body, strictly.

`ResponseChecker.check(app, method, path, response)` finds the operation the
request hit (through the app's URL map), then:

- a 2xx status must be the operation's declared one;
- a 204 has no body; any other 2xx body must match the declared schema;
- a 4xx the document lists must match its error schema.

Validation is strict where the document is open: objects that list their
properties accept no others (the document leaves them open so that replies may
gain fields later, DESIGN.md §5, but today's replies must carry exactly what
the schema says). Formats (date-time, date) are checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS31Validator
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound
from werkzeug.test import TestResponse

from builder.api.docs import build_openapi

PREFIX = "/api/v1/"


class ResponseMismatch(AssertionError):
    """A reply that is not what the document declares."""


def _strict(node: Any) -> Any:
    """A copy of a schema in which objects with listed properties accept no other keys."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _strict(value) for key, value in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) of every operation of the document."""
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            yield path, method, op


@dataclass
class Document:
    """An app's OpenAPI document, its operations by operationId, and its schemas made strict."""

    content: dict[str, Any]
    by_id: dict[str, dict[str, Any]]
    strict_schemas: dict[str, Any]


class ResponseChecker:
    """Validates replies against the document of the app they came from (one document per URL map)."""

    def __init__(self) -> None:
        self._documents: dict[frozenset[tuple[str, str]], Document] = {}
        self._validators: dict[tuple[int, str, str], OAS31Validator] = {}
        self.checked: set[str] = set()
        """operationIds whose success reply was validated."""

    def document(self, app: Flask) -> Document:
        """The app's OpenAPI document (built once per distinct URL map)."""
        key = frozenset((rule.rule, rule.endpoint) for rule in app.url_map.iter_rules())
        if key not in self._documents:
            with app.app_context():
                content = build_openapi()
            self._documents[key] = Document(
                content, {op["operationId"]: op for _p, _m, op in operations(content)},
                _strict(content["components"]["schemas"]))
        return self._documents[key]

    def operation(self, app: Flask, method: str, path: str) -> dict[str, Any] | None:
        """The operation a request hit, or None (not an API route, or no such route/method)."""
        if not path.startswith(PREFIX):
            return None
        try:
            endpoint, _args = app.url_map.bind("localhost").match(path, method=method)
        except (NotFound, MethodNotAllowed):
            return None
        operation_id = endpoint.replace(".", "_") + "_" + method.lower()
        op = self.document(app).by_id.get(operation_id)
        if op is None:
            raise ResponseMismatch(f"{method} {path}: the document has no operation {operation_id}")
        return op

    def _validator(self, document: Document, op: dict[str, Any], status: str) -> OAS31Validator:
        key = (id(document), op["operationId"], status)
        if key not in self._validators:
            schema = _strict(op["responses"][status]["content"]["application/json"]["schema"])
            root = {**schema, "components": {"schemas": document.strict_schemas}}
            self._validators[key] = OAS31Validator(root, format_checker=OAS31Validator.FORMAT_CHECKER)
        return self._validators[key]

    def check(self, app: Flask, method: str, path: str, response: TestResponse) -> None:
        """Raise ResponseMismatch unless the reply is what the document declares."""
        op = self.operation(app, method.upper(), path)
        if op is None:
            return
        where = f"{method.upper()} {path} → {response.status_code}"
        status = str(response.status_code)
        declared = sorted(s for s in op["responses"] if s.startswith("2"))
        if status.startswith("2") and status not in declared:
            raise ResponseMismatch(f"{where}: the document declares {declared}")
        if status not in op["responses"]:
            return  # e.g. 405, 413, 429: not described per operation
        documented = op["responses"][status]
        if "content" not in documented:
            if response.get_data():
                raise ResponseMismatch(f"{where}: declared without a body, but has one")
            return
        media_type = next(iter(documented["content"]))
        if media_type != "application/json":
            if response.mimetype != media_type:
                raise ResponseMismatch(f"{where}: {response.mimetype}, documented as {media_type}")
            if status.startswith("2"):
                self.checked.add(op["operationId"])
            return
        if not response.is_json:
            raise ResponseMismatch(f"{where}: not JSON ({response.content_type})")
        validator = self._validator(self.document(app), op, status)
        try:
            validator.validate(response.get_json())
        except ValidationError as exc:
            at = "/".join(str(p) for p in exc.absolute_path)
            raise ResponseMismatch(f"{where}: the body does not match its schema at /{at}: {exc.message}") from exc
        if status.startswith("2"):
            self.checked.add(op["operationId"])


CHECKER = ResponseChecker()
"""One checker for the whole run (documents and validators are cached)."""
