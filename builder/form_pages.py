"""The hosted-form pages for marketers: the list of forms and the form builder.

Thin shells: the scripts (js/web_forms.js) fetch and save everything over the REST API.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import abort
from flask import render_template
from flask_login import login_required

from builder.auth import current_actor
from builder.db import get_session
from models import forms as form_service
from models.errors import Forbidden
from models.errors import NotFound

bp = Blueprint("form_pages", __name__)


@bp.route("/forms")
@login_required
def form_list() -> Any:
    """The hosted forms (marketers and admins).

    :raise 403: for reps.
    """
    try:
        form_service.list_forms(get_session(), current_actor())
    except Forbidden:
        abort(403)
    return render_template("forms/list.html")


@bp.route("/forms/<int:form_id>")
@login_required
def form_builder(form_id: int) -> Any:
    """Build one form: fields, tags, thank-you, embed snippets.

    :raise 403: for reps.
    :raise 404: when there is no such form.
    """
    try:
        form = form_service.read_form(get_session(), current_actor(), form_id)
    except Forbidden:
        abort(403)
    except NotFound:
        abort(404)
    return render_template("forms/edit.html", form=form)
