"""Account pages: "My account" (tokens, password), admin "Users" and admin "Audit log".

Handlers are thin shells: they check who may open the page (through the
service layer's role rule) and render a template whose script does the rest
over the REST API.  No data reaches the page through inline scripts.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import abort
from flask import render_template
from flask_login import login_required

from builder.auth import current_actor
from models.access import require_role
from models.errors import Forbidden

bp = Blueprint("account", __name__)


def _admin_only() -> None:
    """403 page unless the caller is an admin (the same rule the API applies)."""
    try:
        require_role(current_actor(), "admin")
    except Forbidden:
        abort(403)


@bp.route("/account")
@login_required
def account() -> Any:
    """My account: profile, password change, API tokens."""
    return render_template("account/account.html")


@bp.route("/admin/users")
@login_required
def users() -> Any:
    """Users and teams (admins)."""
    _admin_only()
    return render_template("account/users.html")


@bp.route("/admin/audit")
@login_required
def audit() -> Any:
    """The audit log (admins)."""
    _admin_only()
    return render_template("account/audit.html")
