"""Pages for contacts at scale: CSV import, segments (list and builder), a job's progress.

Thin shells: each checks who may open it (the service layer's role rule,
marketers and admins) and renders a template whose script does the rest over
the REST API and the job's live room.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import abort
from flask import render_template
from flask_login import login_required

from builder.auth import current_actor
from builder.db import get_session
from models.errors import DomainError
from runtime import segments
from runtime.jobs import queue

bp = Blueprint("bulk_pages", __name__)


def _managers_only() -> None:
    """403 page unless the caller may import, build segments and act in bulk (marketers, admins)."""
    try:
        segments.rule_fields(current_actor())
    except DomainError:
        abort(403)


@bp.route("/contacts/import")
@login_required
def import_page() -> Any:
    """Import a CSV file: choose it, match its columns, follow the import."""
    _managers_only()
    return render_template("bulk/import.html")


@bp.route("/segments")
@login_required
def segments_page() -> Any:
    """The saved segments."""
    _managers_only()
    return render_template("bulk/segments.html")


@bp.route("/segments/new")
@login_required
def new_segment() -> Any:
    """Build a segment with a live count."""
    _managers_only()
    return render_template("bulk/segment.html", segment=None)


@bp.route("/segments/<int:segment_id>")
@login_required
def segment_page(segment_id: int) -> Any:
    """A segment: its rules, live count, members and bulk actions (404 for an unknown id)."""
    _managers_only()
    try:
        segment = segments.get_segment(get_session(), current_actor(), segment_id)
    except DomainError:
        abort(404)
    return render_template("bulk/segment.html", segment=segment)


@bp.route("/jobs/<int:job_id>")
@login_required
def job_page(job_id: int) -> Any:
    """A background job's progress (its starter and admins; 404 to others)."""
    try:
        job = queue.get_job(get_session(), current_actor(), job_id)
    except DomainError:
        abort(404)
    return render_template("bulk/job.html", job=job)
