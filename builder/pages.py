"""The app shell: home redirect, contacts list and contact record, shared template context."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template
from flask import send_from_directory
from flask_login import login_required

from builder.db import get_session
from models import contacts as contact_service
from models.errors import NotFound

bp = Blueprint("pages", __name__)


@bp.app_context_processor
def _shell_context() -> dict[str, Any]:
    user = g.get("user")
    return {"me": user}


@bp.route("/")
@login_required
def home() -> Any:
    """Send reps to their board, others to the campaign list."""
    user = g.get("user")
    if user is not None and user.role == "rep":
        return redirect("/pipelines")
    return redirect("/campaigns")


@bp.route("/favicon.ico")
def favicon() -> Any:
    """The app icon where a browser asks for /favicon.ico (pages link the SVG itself)."""
    return send_from_directory(current_app.static_folder or "", "favicon.svg", mimetype="image/svg+xml",
                               max_age=86400)


@bp.route("/contacts")
@login_required
def contacts() -> Any:
    """The contacts list."""
    return render_template("contacts.html")


@bp.route("/contacts/<int:contact_id>")
@login_required
def contact(contact_id: int) -> Any:
    """The contact record: its script fetches the rest over the REST API (404 for an unknown id)."""
    try:
        person = contact_service.get_contact(get_session(), contact_id)
    except NotFound:
        abort(404)
    return render_template("contact.html", contact=person)


def register_page_blueprints(app: Any) -> None:
    """Register the page blueprints: canvas, rep workspace, account and admin."""
    from builder import account_pages
    from builder import bulk_pages
    from builder import canvas_pages
    from builder import form_pages
    from builder import public
    from builder import workspace_pages

    for module in (canvas_pages, workspace_pages, account_pages, form_pages, public, bulk_pages):
        app.register_blueprint(module.bp)
