"""The app shell: home redirect, contacts page, shared template context."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import g
from flask import redirect
from flask import render_template
from flask_login import login_required

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


@bp.route("/contacts")
@login_required
def contacts() -> Any:
    """The contacts list."""
    return render_template("contacts.html")


def register_page_blueprints(app: Any) -> None:
    """Register the page blueprints: canvas, rep workspace, account and admin."""
    from builder import account_pages
    from builder import canvas_pages
    from builder import workspace_pages

    for module in (canvas_pages, workspace_pages, account_pages):
        app.register_blueprint(module.bp)
