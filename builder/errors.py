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


def field_label(loc: tuple[Any, ...]) -> str:
    """A field path in words: ("next_action_date",) → "Next action date", ("products", 0, "quantity") →
    "Quantity (products, item 1)", ("owner_id",) → "Owner"."""
    names = [str(p) for p in loc if not isinstance(p, int)]
    if not names:
        return "The request"
    last = names[-1].removesuffix("_id").replace("_", " ").strip() or names[-1]
    label = last[:1].upper() + last[1:]
    items = [p for p in loc if isinstance(p, int)]
    if len(names) > 1 and items:
        label += f" ({names[0].replace('_', ' ')}, item {items[-1] + 1})"
    return label


def plain_message(err: Any) -> str:
    """One pydantic error in plain words naming the field ("Value must be 0 or more."), never the input."""
    label, kind, ctx = field_label(tuple(err["loc"])), err["type"], err.get("ctx") or {}
    if kind == "missing":
        return f"{label} is required."
    if kind == "extra_forbidden":
        return f"{label} is not something this accepts."
    bounds = {"greater_than_equal": ("ge", "{} or more"), "greater_than": ("gt", "more than {}"),
              "less_than_equal": ("le", "{} or less"), "less_than": ("lt", "less than {}")}
    if kind in bounds and bounds[kind][0] in ctx:
        key, words = bounds[kind]
        bound = ctx[key]
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"{label} must be {words.format(bound)}."
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return f"{label} cannot be empty." if n == 1 else f"{label} must be at least {n} characters."
    if kind == "string_too_long":
        return f"{label} can be at most {ctx.get('max_length')} characters."
    if kind == "too_long":
        return f"{label} can have at most {ctx.get('max_length')} items."
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{label} must be a whole number."
    if kind in ("float_parsing", "float_type", "finite_number"):
        return f"{label} must be a number."
    if kind.startswith("date") or kind.startswith("datetime"):
        return f"{label} must be a date (YYYY-MM-DD)."
    if kind in ("bool_parsing", "bool_type"):
        return f"{label} must be true or false."
    if kind in ("literal_error", "enum"):
        return f"{label} must be {ctx.get('expected', 'one of the listed choices')}."
    if kind == "string_pattern_mismatch":
        return f"{label} is not in the expected form."
    if kind == "value_error":
        return f"{label}: {str(err['msg']).removeprefix('Value error, ')}."
    return f"{label}: {err['msg']}."


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as [{field, message, type}] in plain words, without echoing the input."""
    return [
        {"field": ".".join(str(p) for p in err["loc"]), "message": plain_message(err), "type": err["type"]}
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
        errors = validation_details(exc)
        return error_response(422, "validation_error", " ".join(e["message"] for e in errors[:5]),
                              {"errors": errors})

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
