"""The node catalog: goal and step types with their form fields."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from builder.api.base import route
from builder.db import get_session
from builder.schemas.catalog import CatalogOut
from builder.schemas.catalog import SummariesBody
from builder.schemas.catalog import SummariesOut
from models.access import Actor
from runtime import references
from runtime.graphs.catalog import catalog_json

bp = Blueprint("api_catalog", __name__, url_prefix="/api/v1")


@route(bp, "/catalog", response=CatalogOut)
def catalog(actor: Actor) -> Any:
    """Goal types, step types and merge fields, for the canvas palette and forms."""
    return catalog_json()


@route(bp, "/catalog/summaries", ("POST",), body=SummariesBody, response=SummariesOut)
def summaries(actor: Actor, body: SummariesBody) -> Any:
    """One-line summaries of goal and step configs, with stage, pipeline and user names."""
    items = [item.model_dump() for item in body.items]
    return {"summaries": references.summarize(get_session(), actor, items)}
