"""Opportunity records: the card, the whole record, history, notes, shares, products."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any
from typing import ClassVar
from typing import Literal

from pydantic import Field

from builder.api.base import MAX_INT
from builder.api.base import Body
from builder.api.base import Query
from builder.schemas.common import Count
from builder.schemas.common import Id
from builder.schemas.common import IsoTimestamp
from builder.schemas.common import Money
from builder.schemas.common import Out
from builder.schemas.common import Patch
from builder.schemas.sequences import SequenceRunOut
from builder.schemas.tasks import TaskOut


class ProductSpec(Body):
    name: str = Field(min_length=1, max_length=200)
    quantity: int = Field(default=1, ge=1, le=MAX_INT)
    special_price: Money | None = None


class OpportunityCreate(Body):
    title: str = Field(min_length=1, max_length=200)
    contact_id: Id
    pipeline_id: Id
    stage_id: Id
    owner_id: Id | None = None
    value: Money | None = None
    next_action_date: date | None = None
    next_action_note: str = Field(default="", max_length=2000)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    products: list[ProductSpec] = Field(default_factory=list)
    expected_close_date: date | None = None


class OpportunityPatch(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"owner_id", "next_action_date", "expected_close_date"})
    title: str | None = Field(default=None, min_length=1, max_length=200)
    stage_id: Id | None = None
    owner_id: Id | None = None
    value: Money | None = None
    next_action_date: date | None = None
    next_action_note: str | None = Field(default=None, max_length=2000)
    custom_fields: dict[str, Any] | None = None
    products: list[ProductSpec] | None = None
    expected_close_date: date | None = None


class OpportunityQuery(Query):
    pipeline_id: Id | None = None
    stage_id: Id | None = None
    owner_id: Id | None = None
    contact_id: Id | None = None
    overdue: bool | None = None
    outcome: str | None = Field(default=None, pattern=r"^(open|won|lost)(,(open|won|lost))*$",
                                description="Only these outcomes, comma-separated (e.g. open,won).")
    q: str = ""
    limit: int = Field(default=500, ge=1, le=5000)
    offset: Count = 0


class ChecklistBody(Body):
    done: bool


class NoteBody(Body):
    body: str = Field(min_length=1, max_length=10000)


class ShareBody(Body):
    user_id: Id | None = None
    team_id: Id | None = None


class OpportunityOut(Out):
    """An opportunity as the board's card shows it: with contact, owner and stage names, days in stage, overdue."""

    id: int
    title: str
    contact_id: int
    contact_name: str
    owner_id: int | None
    owner_name: str | None
    pipeline_id: int
    stage_id: int
    stage_name: str
    value: float
    next_action_date: date | None
    next_action_note: str
    custom_fields: dict[str, Any] = Field(description="Free-form JSON values by field name.")
    stage_entered_at: datetime
    days_in_stage: float
    overdue: bool
    created_source: str = Field(description='"user" (by hand) or "campaign" (a campaign step).')
    created_at: datetime
    updated_at: datetime
    outcome: Literal["open", "won", "lost"]
    closed_at: datetime | None
    expected_close_date: date | None
    close_reason: str = Field(description="Why it was lost (or won); empty while open.")
    close_note: str


class HistoryOut(Out):
    """One stage move of the sales history (the first row is the creation: no from-stage)."""

    id: int
    from_stage_id: int | None
    to_stage_id: int
    from_stage_name: str | None
    to_stage_name: str | None
    moved_at: datetime
    moved_by_id: int | None
    moved_by_name: str | None
    owner_id: int | None
    owner_name: str | None
    days_in_previous_stage: float | None
    source: str = Field(description='"user" (by hand) or "campaign" (a campaign step).')
    kind: Literal["created", "move", "won", "lost", "reopened"] = "move"
    reason: str | None = None
    note: str | None = None


class NoteOut(Out):
    """A note on an opportunity."""

    id: int
    body: str
    author_id: int | None
    source: str
    created_at: datetime


class ShareOut(Out):
    """A share of an opportunity with a user or a team (exactly one of the two ids is set)."""

    id: int
    user_id: int | None
    team_id: int | None
    shared_at: datetime


class ProductOut(Out):
    """A product line of an opportunity."""

    id: int
    name: str
    quantity: int
    special_price: float | None


class ChecklistStateOut(Out):
    """An item of the current stage's checklist, ticked or not, on this opportunity."""

    id: int
    text: str
    required: bool
    done: bool
    done_at: IsoTimestamp | None = Field(description="When it was ticked (null while not done).")


class ChecklistOut(Out):
    """The current stage's checklist after the change."""

    checklist: list[ChecklistStateOut]


class ContactRefOut(Out):
    """The opportunity's contact, in brief."""

    id: int
    name: str
    email: str


class OpportunityRecordOut(OpportunityOut):
    """The whole opportunity record: the card's fields, and its contact, checklist, sales history (oldest first),
    tasks, notes (newest first), the contact's follow-up sequences, products and shares."""

    contact: ContactRefOut
    checklist: list[ChecklistStateOut]
    history: list[HistoryOut]
    tasks: list[TaskOut]
    notes: list[NoteOut]
    sequences: list[SequenceRunOut]
    products: list[ProductOut]
    shares: list[ShareOut]
