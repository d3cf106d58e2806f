"""JSON errors for the API: `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask import Response
from flask import g
from flask import jsonify
from flask import render_template
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


PAGE_TEXTS: dict[int, tuple[str, str]] = {
    400: ("That request didn't work", "Something in it was not what this page expects. Go back and try again."),
    403: ("You don't have access to this page",
          "Your account's role can't open it. If you need it, ask an admin to change your role."),
    404: ("We couldn't find that page", "It may have been deleted or archived, or the link is mistyped."),
    405: ("That page can't be opened this way", "Follow a link or a button to it instead."),
    500: ("Something went wrong on our side", "It has been logged. Try again in a moment."),
}
#: Where "back" leads from a page under a section: (path prefix, the section's list, its label).
SECTIONS = (
    ("/campaigns/", "/campaigns", "Back to the campaigns"), ("/pipelines/", "/pipelines", "Back to the pipelines"),
    ("/opportunities/", "/pipelines", "Back to the pipelines"), ("/contacts/", "/contacts", "Back to the contacts"),
    ("/tasks/", "/tasks", "Back to my tasks"), ("/admin/", "/admin/users", "Back to the users"),
)


def error_page(status: int, message: str | None = None) -> Response:
    """An error as a page in the app's layout (navigation, a way back), never bare text."""
    title, text = PAGE_TEXTS.get(status, PAGE_TEXTS[400 if status < 500 else 500])
    message = message or text
    back = next(({"href": href, "label": label} for prefix, href, label in SECTIONS
                 if request.path.startswith(prefix)), None)
    if g.get("user") is None:
        back = None
    html = render_template("error.html", error_status=status, status=status, title=title, message=message, back=back)
    return Response(html, status=status, mimetype="text/html")


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
        return error_page(400, "The form's security check (CSRF) failed: reload the page and try again.")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if not _wants_json():
            if exc.code in PAGE_TEXTS:
                return error_page(exc.code)
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code, exc.description or exc.name or "error")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            return error_response(500, "internal_error", "an unexpected error happened; it has been logged")
        try:
            return error_page(500)
        except Exception:  # the layout itself failed: plain text still says what happened
            log.exception("the error page could not be rendered")
            return Response("Internal error", status=500, mimetype="text/plain")
