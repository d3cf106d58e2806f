"""Runtime notices: events the runtime records for after-commit subscribers.

The web tier maps them to Socket.IO rooms (`builder/live.py`); the runtime's
own loops subscribe to `RunsDue` to wake the tick. Nothing is announced
before its transaction commits (see `models.events`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy.orm import Session

from models import events
from models.events import Event


@dataclass(frozen=True, kw_only=True)
class CampaignStatsChanged(Event):
    """A campaign's live counts changed (runs started, stopped, completed; goals hit)."""

    name: ClassVar[str] = "stats"
    campaign_id: int


@dataclass(frozen=True, kw_only=True)
class RunsDue(Event):
    """Runs are due now: wake the tick as soon as the transaction commits."""

    name: ClassVar[str] = "runs_due"


@dataclass(frozen=True, kw_only=True)
class OutboxChanged(Event):
    """An outbox row was delivered, retried or failed."""

    name: ClassVar[str] = "outbox_changed"
    outbox_id: int
    contact_id: int | None
    status: str
    kind: str
    idempotency_key: str
    attempts: int
    last_error: str | None


def stats_changed(session: Session, campaign_id: int) -> None:
    """Tell the campaign's canvas (after commit) that its counts changed; once per transaction."""
    events.notice(session, CampaignStatsChanged(campaign_id=campaign_id))


def wake_after_commit(session: Session) -> None:
    """Ask for the tick to run as soon as this transaction commits."""
    events.notice(session, RunsDue())


@dataclass(frozen=True, kw_only=True)
class CampaignPublished(Event):
    """A campaign published a new version."""

    name: ClassVar[str] = "campaign_published"
    campaign_id: int
    version: int


@dataclass(frozen=True, kw_only=True)
class CampaignStatusChanged(Event):
    """A campaign was paused, resumed or archived."""

    name: ClassVar[str] = "campaign_status"
    campaign_id: int
    status: str


@dataclass(frozen=True, kw_only=True)
class JobChanged(Event):
    """A background job was queued, made progress, finished or failed."""

    name: ClassVar[str] = "job"
    job_id: int
    status: str
    done: int
    total: int | None
