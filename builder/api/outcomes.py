"""Won and lost: close an opportunity, reopen it (DESIGN.md §6.6)."""

from __future__ import annotations

from typing import Any
from typing import Literal

from flask import Blueprint
from pydantic import Field

from builder.api.base import Body
from builder.api.base import route
from builder.api.opportunities import opportunity_out
from builder.db import commit
from builder.db import get_session
from builder.schemas.opportunities import OpportunityOut
from models import outcomes
from models.access import Actor

bp = Blueprint("api_outcomes", __name__, url_prefix="/api/v1")


class CloseBody(Body):
    """Win or lose a deal; a loss usually names a reason (one of the pipeline's, or the user's own words)."""

    outcome: Literal["won", "lost"] = Field(title="Outcome")
    reason: str = Field(default="", max_length=200, title="Reason")
    note: str = Field(default="", max_length=2000, title="Note")


@route(bp, "/opportunities/<int:opportunity_id>/close", ("POST",), body=CloseBody, response=OpportunityOut)
def close(actor: Actor, opportunity_id: int, body: CloseBody) -> Any:
    """Win (a move into the final stage: checklist rules apply) or lose (from any stage) a deal."""
    opp = outcomes.close_opportunity(get_session(), actor, opportunity_id, body.outcome, reason=body.reason,
                                     note=body.note)
    commit()
    return opportunity_out(opp)


@route(bp, "/opportunities/<int:opportunity_id>/reopen", ("POST",), response=OpportunityOut)
def reopen(actor: Actor, opportunity_id: int) -> Any:
    """Reopen a won or lost deal into its last open stage."""
    opp = outcomes.reopen_opportunity(get_session(), actor, opportunity_id)
    commit()
    return opportunity_out(opp)
