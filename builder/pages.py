"""The app shell: home redirect, contacts page, shared template context."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import g
from flask import redirect
from flask import render_template
from flask import url_for
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
    """Register the page blueprints owned by the canvas and workspace modules."""
    import importlib

    for name in ("builder.canvas_pages", "builder.workspace_pages", "builder.account_pages"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        app.register_blueprint(module.bp)
