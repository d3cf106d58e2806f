"""Tasks."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from builder.api.base import Body
from builder.api.base import Query
from builder.schemas.common import Id
from builder.schemas.common import Out
from builder.schemas.common import Patch


class TaskQuery(Query):
    assignee_id: Id | None = None
    open: bool | None = None
    opportunity_id: Id | None = None
    contact_id: Id | None = None


class TaskCreate(Body):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=5000)
    assignee_id: Id | None = None
    due_date: date | None = None
    contact_id: Id | None = None
    opportunity_id: Id | None = None


class TaskPatch(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"due_date", "assignee_id"})
    completed: bool | None = None
    title: str | None = Field(default=None, min_length=1, max_length=300)
    due_date: date | None = None
    assignee_id: Id | None = None


class TaskOut(Out):
    """A task (open while completed_at is null)."""

    id: int
    title: str
    description: str
    contact_id: int | None
    opportunity_id: int | None
    assignee_id: int | None
    due_date: date | None
    completed_at: datetime | None
    created_at: datetime
    source: str
