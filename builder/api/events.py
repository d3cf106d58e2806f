"""(filled in by the campaign/runtime work)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_events", __name__, url_prefix="/api/v1")
