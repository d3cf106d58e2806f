"""Runtime state: enrollments, sequence runs (pending timers are rows), step log, goal hits.

Invariant: a contact's position in a campaign lives only here, never in the
scheduler; a `sequence_run` with a future `due_at` is a pending timer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import validates

from models.tables.base import Base
from models.tables.base import utcnow

RUN_STATUSES = ("active", "paused", "completed", "stopped", "failed")

_writing_status: ContextVar[bool] = ContextVar("stagecraft_run_status_writer", default=False)


@contextmanager
def status_writer() -> Iterator[None]:
    """Allow writing `SequenceRun.status` (the run state machine's, `runtime.execution.runs`, only)."""
    token = _writing_status.set(True)
    try:
        yield
    finally:
        _writing_status.reset(token)


class Enrollment(Base):
    """A contact in a campaign (on its current live version)."""

    __tablename__ = "enrollment"
    __table_args__ = (UniqueConstraint("campaign_id", "contact_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("campaign_version.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)


class SequenceRun(Base):
    """One contact going through one sequence node."""

    __tablename__ = "sequence_run"
    __table_args__ = (Index("ix_sequence_run_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("campaign_version.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunity.id", ondelete="SET NULL"))
    node_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    step_index: Mapped[int] = mapped_column(default=0)
    waiting: Mapped[bool] = mapped_column(default=False)
    due_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    stop_reason: Mapped[str | None] = mapped_column(String(200))
    started_by_goal: Mapped[str | None] = mapped_column(String(64))
    #: The decision or split path that sent the contact here (None: a goal or a sequence did).
    branch_node_id: Mapped[str | None] = mapped_column(String(64))
    branch_id: Mapped[str | None] = mapped_column(String(64))

    @validates("status")
    def _through_the_state_machine(self, _key: str, value: str) -> str:
        # Every status change has rules (what is legal, what it resets): one place applies them.
        if not _writing_status.get():
            raise RuntimeError("a sequence run's status changes only through runtime.execution.runs")
        return value


class StepLog(Base):
    """What happened when a step ran (or failed) for a run."""

    __tablename__ = "step_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sequence_run.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[str] = mapped_column(String(64))
    step_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(default=1)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class GoalHit(Base):
    """A goal satisfied by a contact (drives the canvas's satisfied counts)."""

    __tablename__ = "goal_hit"
    __table_args__ = (Index("ix_goal_hit_node", "campaign_id", "node_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("campaign_version.id"))
    node_id: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("domain_event.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class BranchHit(Base):
    """A contact passing a decision or split: the path it took, or (``branch_id`` None) that it left, and why.

    Drives the per-path counts on the canvas and shows in the contact's sequence history.
    """

    __tablename__ = "branch_hit"
    __table_args__ = (Index("ix_branch_hit_node", "campaign_id", "node_id", "branch_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("campaign_version.id"))
    node_id: Mapped[str] = mapped_column(String(64))
    #: The path taken ("otherwise" for the catch-all); None when the contact matched nothing and left.
    branch_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    label: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(String(300), default="")
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("domain_event.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
