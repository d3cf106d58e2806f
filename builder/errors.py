"""JSON errors for the API: `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask import Response
from flask import jsonify
from flask import request
from flask_wtf.csrf import CSRFError
from pydantic import ValidationError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from models.errors import DomainError

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, details: Any = None) -> tuple[Response, int]:
    """A JSON error reply."""
    return jsonify({"error": {"code": code, "message": message, "details": details or {}}}), status


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as [{field, message, type}] without echoing the input."""
    return [
        {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register(app: Flask) -> None:
    """Install the error handlers."""

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Any:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> Any:
        return error_response(422, "validation_error", "the request body or query is invalid",
                              {"errors": validation_details(exc)})

    @app.errorhandler(StaleDataError)
    def _stale(_exc: StaleDataError) -> Any:
        return error_response(409, "edit_conflict", "someone else changed this record; reload and retry")

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        if _wants_json():
            return error_response(400, "csrf_failed", exc.description or "CSRF token missing or invalid")
        return Response(f"CSRF check failed: {exc.description}", status=400, mimetype="text/plain")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if not _wants_json():
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code, exc.description or exc.name or "error")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            return error_response(500, "internal_error", "an unexpected error happened; it has been logged")
        return Response("Internal error", status=500, mimetype="text/plain")
