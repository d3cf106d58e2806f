"""Public, login-free pages: hosted forms (/f), tracked clicks and opens (/t), unsubscribe (/u).

Invariants:
    * No login, no session, no cookie, no CSRF token: the form is protected by
      a honeypot, a per-address rate limit and size limits, the links by their
      signed tokens (a tampered token is a 404 and records nothing).
    * No script runs on these pages (their CSP allows none); only the form
      pages may be framed (``frame-ancestors *``, no X-Frame-Options), so a
      website can embed them.
    * Handlers are thin: parse, call one runtime function, shape the reply.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from builder.db import commit
from builder.db import get_session
from models import WebForm
from models import clock
from models.errors import DomainError
from models.errors import NotFound
from models.forms import form_by_slug
from runtime import email_tracking
from runtime import forms as form_submissions

bp = Blueprint("public", __name__)

MAX_FORM_BYTES = 16 * 1024
PIXEL = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
         b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
            "form-action {form_action}; frame-ancestors {ancestors}")


def public_base() -> str:
    """The base of public links: STAGECRAFT_PUBLIC_URL, else the host this request came to."""
    return str(current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")


def form_url(form: WebForm) -> str:
    """The public address of a form."""
    return f"{public_base()}/f/{form.slug}"


def _secret() -> bytes:
    return str(current_app.config["SECRET_KEY"]).encode()


def _address_hash() -> str:
    """The sender's address, keyed with the app secret (rate limiting without keeping IPs)."""
    return hmac.new(_secret(), (request.remote_addr or "").encode(), hashlib.sha256).hexdigest()


def _page(template: str, status: int = 200, *, embeddable: bool = False, form_action: str = "'self'",
          **context: Any) -> Response:
    response = Response(render_template(template, **context), status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_CSP.format(
        form_action=form_action, ancestors="*" if embeddable else "'none'")
    response.headers["Cache-Control"] = "no-store"
    response.embeddable = embeddable  # type: ignore[attr-defined]  # read by builder.security
    return response


def _message(title: str, text: str, status: int, **extra: Any) -> Response:
    return _page("public/message.html", status, title=title, text=text, **extra)


def _not_found() -> Response:
    return _message("Link not found", "This link is not valid (it may be mistyped or incomplete).", 404)


def _form_action(form: WebForm) -> str:
    """The form's CSP form-action: this site, plus the redirect's origin (browsers check redirects too)."""
    if not form.redirect_url:
        return "'self'"
    parts = urlsplit(form.redirect_url)
    return f"'self' {parts.scheme}://{parts.netloc}"


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def _cors(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _json_error(status: int, code: str, message: str, details: Any = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    return _cors(response)


@bp.route("/f/<slug>", methods=["GET"])
def form_page(slug: str) -> Response:
    """The hosted form (embeddable)."""
    try:
        form = form_by_slug(get_session(), slug)
    except NotFound:
        return _message("Form not found", "There is no form at this address.", 404)
    return _page("public/form.html", embeddable=True, form_action=_form_action(form), form=form, values={},
                 errors={}, message=None)


@bp.route("/f/<slug>", methods=["OPTIONS"])
def form_preflight(slug: str) -> Response:
    """CORS preflight for JSON submissions from other websites."""
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = "POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "86400"
    return _cors(response)


@bp.route("/f/<slug>", methods=["POST"])
def submit_form(slug: str) -> Response:
    """A submission (form-encoded or JSON): 303 to the thank-you page, 202 for JSON; 4xx stores nothing."""
    session = get_session()
    try:
        form = form_by_slug(session, slug)
    except NotFound:
        return _json_error(404, "not_found", "no such form") if _wants_json() else _message(
            "Form not found", "There is no form at this address.", 404)
    request.max_content_length = MAX_FORM_BYTES
    try:
        raw = _submitted()
    except RequestEntityTooLarge:
        return _refused(form, 413, "too_large", "The submission is too large.", {})
    except ValueError as exc:
        return _refused(form, 400, "malformed", str(exc), {})
    try:
        form_submissions.submit(session, form, raw, address_hash=_address_hash(),
                                limit=tuple(current_app.config["FORM_RATE_LIMIT"]), now=clock.now())
    except DomainError as exc:
        session.rollback()
        return _refused(form, exc.status, exc.code, exc.message, exc.details, raw)
    commit()
    if _wants_json():
        response = jsonify({"ok": True})
        response.status_code = 202
        return _cors(response)
    return redirect(form.redirect_url or f"/f/{form.slug}/thanks", code=303)  # type: ignore[return-value]


def _submitted() -> dict[str, Any]:
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ValueError("The submission must be a JSON object of field values.")
        return data
    if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise ValueError("Send the form as form fields or as a JSON object.")
    if request.files:
        raise ValueError("This form takes no files.")
    return {key: request.form.get(key) for key in request.form}


def _refused(form: WebForm, status: int, code: str, message: str, details: Any,
             raw: dict[str, Any] | None = None) -> Response:
    if _wants_json():
        return _json_error(status, code, message, details)
    errors = details.get("fields", {}) if isinstance(details, dict) else {}
    values = {k: v for k, v in (raw or {}).items() if isinstance(v, str) and k != form_submissions.HONEYPOT}
    return _page("public/form.html", status, embeddable=True, form_action=_form_action(form), form=form,
                 values=values, errors=errors, message=message)


@bp.route("/f/<slug>/thanks")
def thanks(slug: str) -> Response:
    """The thank-you page after a submission (embeddable)."""
    try:
        form = form_by_slug(get_session(), slug)
    except NotFound:
        return _message("Form not found", "There is no form at this address.", 404)
    return _page("public/thanks.html", embeddable=True, form=form)


@bp.route("/t/c/<token>")
def click(token: str) -> Response:
    """A tracked link: record the click, then 302 to the original address."""
    try:
        url = email_tracking.click(get_session(), _secret(), token)
    except NotFound:
        return _not_found()
    commit()
    response = redirect(url, code=302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token stays ours
    return response  # type: ignore[return-value]


@bp.route("/t/o/<token>")
def open_pixel(token: str) -> Response:
    """The open pixel: a 1×1 transparent GIF; the first load records `email_opened`."""
    try:
        email_tracking.open_pixel(get_session(), _secret(), token)
    except NotFound:
        return _not_found()
    commit()
    return Response(PIXEL, mimetype="image/gif", headers={"Cache-Control": "no-store, max-age=0"})


@bp.route("/u/<token>", methods=["GET"])
def unsubscribe_page(token: str) -> Response:
    """Confirm before unsubscribing (a link scanner's GET changes nothing)."""
    try:
        message = email_tracking.unsubscribe_target(get_session(), _secret(), token)
    except NotFound:
        return _not_found()
    return _page("public/unsubscribe.html", email=str((message.payload or {}).get("to") or ""), done=False)


@bp.route("/u/<token>", methods=["POST"])
def unsubscribe(token: str) -> Response:
    """Unsubscribe (the page's button, or a mailbox provider's RFC 8058 one-click POST)."""
    try:
        email_tracking.unsubscribe(get_session(), _secret(), token)
        message = email_tracking.unsubscribe_target(get_session(), _secret(), token)
    except NotFound:
        return _not_found()
    commit()
    return _page("public/unsubscribe.html", email=str((message.payload or {}).get("to") or ""), done=True)
