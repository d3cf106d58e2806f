"""Decisions and splits: the Evaluate tester (which path a real or made-up contact would take, and why)."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any
from typing import Literal

from flask import Blueprint
from pydantic import Field
from pydantic import model_validator

from builder.api.base import Body
from builder.api.base import route
from builder.db import get_session
from builder.schemas.common import Out
from models.access import Actor
from runtime import evaluate

bp = Blueprint("api_branching", __name__, url_prefix="/api/v1")


class MadeUpOpportunity(Body):
    """The made-up contact's deal (any field may be left out)."""

    title: str | None = None
    value: float | None = None
    pipeline_id: int | None = None
    stage_id: int | None = None
    owner_id: int | None = None
    outcome: Literal["open", "won", "lost"] | None = None
    expected_close_date: date | None = None
    next_action_date: date | None = None
    created_source: Literal["user", "campaign"] | None = None


class MadeUpContact(Body):
    """A contact typed in to test rules with: tags, custom fields, contact columns, a deal, engagement."""

    tags: list[str] = Field(default_factory=list, max_length=200)
    fields: dict[str, Any] = Field(default_factory=dict)
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    timezone: str | None = None
    owner_id: int | None = None
    created_at: datetime | None = None
    email_status: Literal["subscribed", "unsubscribed", "bounced"] | None = None
    opportunity: MadeUpOpportunity | None = None
    email_opened: bool = False
    email_clicked: bool = False


class EvaluateBody(Body):
    """`{contact_id}` for a real contact, or `{contact: {tags, fields, …}}` for a made-up one."""

    contact_id: int | None = None
    contact: MadeUpContact | None = None

    @model_validator(mode="after")
    def _one_of(self) -> EvaluateBody:
        if (self.contact_id is None) == (self.contact is None):
            raise ValueError("give either contact_id (a real contact) or contact (a made-up one)")
        return self


class CheckedRule(Out):
    """One rule's outcome: what it wanted, what the contact has, and whether it held."""

    field: str
    op: str
    value: Any = Field(default=None, description="Free-form JSON: the value the rule compares with "
                                                  "(a string, number, boolean or date; none for empty/not_empty).")
    actual: Any = Field(default=None, description="Free-form JSON: the contact's value of the field "
                                                   "(tags: the list of tags; null when missing).")
    result: bool


class PathOutcome(Out):
    """One path: whether its rules matched, whether the contact takes it, each rule's outcome (splits: weight)."""

    id: str
    label: str
    matched: bool
    taken: bool
    rules: list[CheckedRule]
    weight: int | None = None


class EvaluateOut(Out):
    """Where the contact goes: the target node ids, every path's outcome, why, and whether it would leave."""

    node_id: str
    kind: Literal["decision", "split"]
    targets: list[str]
    branches: list[PathOutcome]
    reason: str
    left: bool


@route(bp, "/campaigns/<int:campaign_id>/nodes/<node_id>/evaluate", ("POST",), body=EvaluateBody,
       response=EvaluateOut)
def evaluate_node(actor: Actor, campaign_id: int, node_id: str, body: EvaluateBody) -> Any:
    """Which path(s) of a draft decision or split a contact would take, and why each rule passed or failed."""
    contact = body.contact.model_dump(mode="json", exclude_none=True) if body.contact is not None else None
    return evaluate.evaluate_node(get_session(), actor, campaign_id, node_id, contact_id=body.contact_id,
                                  contact=contact)
