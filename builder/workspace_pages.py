"""The rep's workspace pages: pipeline board, opportunity record, My tasks, forecast, reports.

Handlers are thin shells: they check the thing exists (and that the caller may
see it), then render a template whose script fetches everything over the REST
API.  Data reaches the scripts through data-* attributes, never inline scripts.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import abort
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask_login import login_required

from builder.auth import current_actor
from builder.db import get_session
from models import opportunities as opp_service
from models import pipelines as pipeline_service
from models.errors import NotFound

bp = Blueprint("workspace", __name__)

LAST_PIPELINE = "last_pipeline_id"


def _pipeline_or_404(pipeline_id: int) -> Any:
    """The pipeline, or a 404 page.

    :raise 404: when there is no such pipeline.
    """
    try:
        return pipeline_service.get_pipeline(get_session(), pipeline_id)
    except NotFound:
        abort(404)


def _pipelines() -> list[dict[str, Any]]:
    """Every pipeline as {id, name, kind} for the picker."""
    return [
        {"id": p.id, "name": p.name, "kind": p.kind}
        for p in pipeline_service.list_pipelines(get_session())
    ]


@bp.route("/pipelines")
@login_required
def board_home() -> Any:
    """Open the picked board (?id=), else the last one used, else the first, else an empty state."""
    pipelines = _pipelines()
    ids = [p["id"] for p in pipelines]
    if not ids:
        return render_template("workspace/board.html", pipeline=None, pipelines=[])
    wanted = request.args.get("id", type=int)
    if wanted not in ids:
        wanted = session.get(LAST_PIPELINE)
    target = f"/pipelines/{wanted if wanted in ids else ids[0]}"
    return redirect(target + ("/forecast" if request.args.get("view") == "forecast" else ""))


@bp.route("/pipelines/<int:pipeline_id>")
@login_required
def board(pipeline_id: int) -> Any:
    """The pipeline board: columns are stages, cards are opportunities."""
    pipeline = _pipeline_or_404(pipeline_id)
    session[LAST_PIPELINE] = pipeline.id
    return render_template("workspace/board.html", pipeline=pipeline, pipelines=_pipelines())


@bp.route("/pipelines/<int:pipeline_id>/forecast")
@login_required
def forecast(pipeline_id: int) -> Any:
    """The forecast of one pipeline: value and weighted value per stage, overdue counts."""
    pipeline = _pipeline_or_404(pipeline_id)
    return render_template("workspace/forecast.html", pipeline=pipeline, pipelines=_pipelines())


@bp.route("/reports")
@login_required
def reports() -> Any:
    """Sales reports of one pipeline (?pipeline_id=, else the last board used, else the first)."""
    pipelines = _pipelines()
    if not pipelines:
        return render_template("workspace/reports.html", pipeline=None, pipelines=[])
    ids = [p["id"] for p in pipelines]
    wanted = request.args.get("pipeline_id", type=int)
    if wanted not in ids:
        wanted = session.get(LAST_PIPELINE) if session.get(LAST_PIPELINE) in ids else ids[0]
    return render_template("workspace/reports.html", pipeline=_pipeline_or_404(wanted), pipelines=pipelines)


@bp.route("/opportunities/<int:opportunity_id>")
@login_required
def record(opportunity_id: int) -> Any:
    """The opportunity record with its tabs (404 when the caller may not see it)."""
    try:
        opp = opp_service.get_opportunity(get_session(), current_actor(), opportunity_id)
    except NotFound:
        abort(404)
    return render_template("workspace/record.html", opp=opp)


@bp.route("/tasks")
@login_required
def my_tasks() -> Any:
    """The caller's open tasks by due date, with today's load against capacity."""
    return render_template("workspace/tasks.html")
