"""The node catalog: goal and step types with their form fields."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from builder.api.base import route
from runtime.access import Actor
from runtime.catalog import catalog_json

bp = Blueprint("api_catalog", __name__, url_prefix="/api/v1")


@route(bp, "/catalog")
def catalog(actor: Actor) -> Any:
    """Goal types, step types and merge fields, for the canvas palette and forms."""
    return catalog_json()
