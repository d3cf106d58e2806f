"""The node catalog: goal and step types with their form fields."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import BaseModel
from pydantic import Field

from builder.api.base import Body
from builder.api.base import route
from builder.db import get_session
from models.access import Actor
from runtime import references
from runtime.graphs.catalog import catalog_json

bp = Blueprint("api_catalog", __name__, url_prefix="/api/v1")


@route(bp, "/catalog", response=dict[str, Any])
def catalog(actor: Actor) -> Any:
    """Goal types, step types and merge fields, for the canvas palette and forms."""
    return catalog_json()


class SummaryItem(Body):
    """One goal or step config to summarise; `key` is echoed back (a node or step id)."""

    key: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=60)
    config: dict[str, Any] = Field(default_factory=dict)


class SummariesBody(Body):
    """Configs to summarise (at most 5,000: a whole 1,000-node campaign)."""

    items: list[SummaryItem] = Field(max_length=5000)


class SummariesOut(BaseModel):
    """`{key: one-line summary}`; "" for an incomplete config or an unknown type."""

    summaries: dict[str, str]


@route(bp, "/catalog/summaries", ("POST",), body=SummariesBody, response=SummariesOut)
def summaries(actor: Actor, body: SummariesBody) -> Any:
    """One-line summaries of goal and step configs, with stage, pipeline and user names."""
    items = [item.model_dump() for item in body.items]
    return {"summaries": references.summarize(get_session(), actor, items)}
