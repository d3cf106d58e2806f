"""The campaign pages: the campaign list and the drag-and-drop canvas.

Handlers are thin shells: the list and the canvas fetch everything over the
REST API from their scripts; data reaches the scripts through data-* attributes,
never inline scripts (the CSP forbids them).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import abort
from flask import render_template
from flask_login import login_required

from builder.auth import current_actor
from builder.db import get_session
from models.errors import Forbidden
from models.errors import NotFound
from runtime import campaigns as campaign_service

bp = Blueprint("canvas", __name__)

EDIT_ROLES = ("admin", "marketer")


@bp.route("/campaigns")
@login_required
def campaign_list() -> Any:
    """The campaign list (reps see names only, without edit controls)."""
    actor = current_actor()
    can_edit = actor.is_admin or actor.role in EDIT_ROLES
    return render_template("canvas/list.html", can_edit=can_edit)


@bp.route("/campaigns/<int:campaign_id>")
@login_required
def canvas(campaign_id: int) -> Any:
    """The canvas of one campaign (marketers and admins).

    :raise 403: for reps.
    :raise 404: when there is no such campaign.
    """
    try:
        campaign = campaign_service.get_campaign(get_session(), current_actor(), campaign_id)
    except Forbidden:
        abort(403)
    except NotFound:
        abort(404)
    return render_template("canvas/canvas.html", campaign=campaign)
