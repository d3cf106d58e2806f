"""Domain events: small dataclasses the CRM's rules record on the session.

Invariants:
    * `record` runs in the transaction of the change it describes. A *logged*
      event (one a campaign goal can match: a stage move, a tag, a form …) gets
      its append-only `domain_event` row and is handed to the dispatcher at
      once, in that same transaction, so the change, its event and whatever
      goal matching writes commit together or not at all.
    * After-commit subscribers (live pushes, the tick's waker) see each event
      a transaction recorded, in order and once, only if it commits; a rollback
      forgets them. Equal notices (non-logged events) are sent once per
      transaction.
    * `models` never imports `runtime`: the runtime registers the dispatcher
      (`set_dispatcher`) when it starts. Recording a logged event while no
      dispatcher is registered raises, so a goal can never be missed silently.
"""

from __future__ import annotations

import logging
import threading
import typing as t
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from typing import Any
from typing import ClassVar

from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import event as sa_event
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import clock
from models.sets import id_param
from models.sets import id_table
from models.sets import prebuilt
from models.tables.log import DomainEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened; `name` is its stable wire name."""

    name: ClassVar[str] = "event"


# --- logged events: kept in the event log and matched against goals ------------------------

_ENVELOPE = frozenset({"contact_id", "source", "actor_id"})


_PAYLOAD_NAMES: dict[type[Event], tuple[str, ...]] = {}


def _payload_names(cls: type[Event]) -> tuple[str, ...]:
    names = _PAYLOAD_NAMES.get(cls)
    if names is None:
        names = _PAYLOAD_NAMES[cls] = tuple(f.name for f in fields(cls) if f.name not in _ENVELOPE)
    return names


@dataclass(frozen=True, kw_only=True)
class Logged(Event):
    """An event about a contact, kept in `domain_event` and offered to goal matching."""

    contact_id: int | None
    source: str = "user"
    actor_id: int | None = None

    @property
    def type(self) -> str:
        """The event type goals index on (``stage_moved``, ``tag_applied``, …)."""
        return self.name

    def payload(self) -> dict[str, Any]:
        """The event's own fields (everything but contact, source and actor)."""
        return {name: getattr(self, name) for name in _payload_names(type(self))}

    def data(self) -> dict[str, Any]:
        """The flat dict goal types match against: payload plus type, contact and source."""
        out = self.payload()
        out.update(type=self.type, contact_id=self.contact_id, source=self.source)
        return out


@dataclass(frozen=True, kw_only=True)
class OpportunityCreated(Logged):
    """An opportunity was created in a stage (by hand: source "user"; by a campaign step: "campaign")."""

    name: ClassVar[str] = "opportunity_created"
    opportunity_id: int
    pipeline_id: int
    stage_id: int

    def payload(self) -> dict[str, Any]:
        """Includes the source: seed rule 5 tells hand-made and campaign-made apart."""
        return {**super().payload(), "source": self.source}


@dataclass(frozen=True, kw_only=True)
class StageMoved(Logged):
    """A user (or a campaign step) saved an opportunity into a new stage."""

    name: ClassVar[str] = "stage_moved"
    opportunity_id: int
    pipeline_id: int
    from_stage_id: int | None
    to_stage_id: int

    def payload(self) -> dict[str, Any]:
        """Includes the source, as the sales history does."""
        return {**super().payload(), "source": self.source}


@dataclass(frozen=True, kw_only=True)
class OpportunityClosed(Logged):
    """An opportunity was won (moved into its pipeline's final stage) or lost (from any stage)."""

    name: ClassVar[str] = "opportunity_closed"
    opportunity_id: int
    pipeline_id: int
    stage_id: int
    outcome: str
    reason: str = ""
    value: float = 0


@dataclass(frozen=True, kw_only=True)
class TagApplied(Logged):
    """A tag was applied to the contact (it did not have it)."""

    name: ClassVar[str] = "tag_applied"
    tag: str


@dataclass(frozen=True, kw_only=True)
class TagRemoved(Logged):
    """A tag was taken off the contact."""

    name: ClassVar[str] = "tag_removed"
    tag: str


@dataclass(frozen=True, kw_only=True)
class TaskCompleted(Logged):
    """A task about the contact was marked complete."""

    name: ClassVar[str] = "task_completed"
    task_id: int
    title: str
    opportunity_id: int | None


@dataclass(frozen=True, kw_only=True)
class StageOverdue(Logged):
    """An opportunity stayed in a stage longer than the stage's target days."""

    name: ClassVar[str] = "stage_overdue"
    opportunity_id: int
    pipeline_id: int
    stage_id: int
    days_in_stage: float


@dataclass(frozen=True, kw_only=True)
class Reported(Logged):
    """An event reported from outside (form submitted, link clicked, API goal, purchase …).

    Its type is data, not a class: a new goal type with a new inbound event
    needs no new class here (the catalog declares the event's fields).
    """

    kind: str
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        """The reported type."""
        return self.kind

    def payload(self) -> dict[str, Any]:
        """The reported fields as they were validated."""
        return dict(self.fields)


# --- notices: not logged, only announced after commit --------------------------------------


@dataclass(frozen=True, kw_only=True)
class OpportunityChanged(Event):
    """An opportunity changed (stage, fields, checklist, a note or task on it)."""

    name: ClassVar[str] = "opportunity_changed"
    opportunity_id: int
    pipeline_id: int | None
    stage_id: int | None
    change: str


@dataclass(frozen=True, kw_only=True)
class TaskChanged(Event):
    """A task was created, completed or edited."""

    name: ClassVar[str] = "task_changed"
    task_id: int
    assignee_id: int | None
    opportunity_id: int | None


@dataclass(frozen=True, kw_only=True)
class NotificationCreated(Event):
    """An in-app notification for a user."""

    name: ClassVar[str] = "notification"
    notification_id: int
    user_id: int
    contact_id: int | None


# --- recording ------------------------------------------------------------------------------

Dispatcher = Callable[[Session, Sequence[tuple[Logged, int]]], None]
"""dispatch(session, [(event, log row id), …]) — goal matching, in the caller's transaction."""
Subscriber = Callable[[Sequence[Event]], None]
"""subscriber(events) — after a commit, the events it recorded."""

_PENDING = "stagecraft.events.pending"
_SEEN = "stagecraft.events.seen"
_lock = threading.Lock()
_dispatcher: list[Dispatcher] = []
_subscribers: list[Subscriber] = []


def set_dispatcher(dispatcher: Dispatcher | None) -> None:
    """Register the one dispatcher (the runtime's goal matching); None unregisters it."""
    with _lock:
        _dispatcher[:] = [dispatcher] if dispatcher is not None else []


def has_dispatcher() -> bool:
    """True once the runtime registered its dispatcher."""
    return bool(_dispatcher)


def subscribe(subscriber: Subscriber, *, first: bool = False) -> None:
    """Hear every committed transaction's events (idempotent); `first` puts it ahead of the others."""
    with _lock:
        if subscriber not in _subscribers:
            _subscribers.insert(0, subscriber) if first else _subscribers.append(subscriber)


def unsubscribe(subscriber: Subscriber) -> None:
    """Stop hearing events."""
    with _lock:
        if subscriber in _subscribers:
            _subscribers.remove(subscriber)


def log_values(event: Logged) -> dict[str, Any]:
    """The columns of the event's `domain_event` row."""
    return {
        "type": event.type,
        "contact_id": event.contact_id,
        "payload": event.payload(),
        "source": event.source,
        "actor_id": event.actor_id,
        "occurred_at": clock.now(),
    }


def _log_table() -> Table:
    # Core INSERT on the table: an executemany row costs a few µs, an ORM flush ~300 µs.
    return t.cast(Table, DomainEvent.__table__)


_INSERT_ONE = insert(_log_table()).returning(_log_table().c.id)


def _dispatch(session: Session, batch: Sequence[tuple[Logged, int]]) -> None:
    if not _dispatcher:
        raise RuntimeError("no event dispatcher: call runtime.install() before changing CRM data")
    _dispatcher[0](session, batch)


def record(session: Session, event: Event) -> int | None:
    """Record `event` in this transaction; a logged event is stored and dispatched at once.

    Returns:
        The `domain_event` row id of a logged event, else None.
    """
    row_id: int | None = None
    if isinstance(event, Logged):
        session.flush()  # the change the event describes goes first (the row is written without the ORM)
        row_id = int(session.execute(_INSERT_ONE, log_values(event)).scalar_one())
        _dispatch(session, [(event, row_id)])
    _queue(session, event)
    return row_id


def record_many(session: Session, events: Sequence[Logged]) -> list[int]:
    """Store many logged events in one statement and dispatch them as one batch.

    Returns:
        Their row ids, in order.
    """
    if not events:
        return []
    session.flush()
    ids = _insert_alike(session, events)
    if ids is None:
        ids = [int(session.execute(_INSERT_ONE, log_values(e)).scalar_one()) for e in events]
    _dispatch(session, list(zip(events, ids, strict=True)))
    for event in events:
        _queue(session, event)
    return ids


def _insert_alike(session: Session, events: Sequence[Logged]) -> list[int] | None:
    """Events that differ only by (distinct) contact: one INSERT … SELECT over the contacts (else None)."""
    first = events[0]
    template = (type(first), first.type, first.source, first.actor_id)
    payload = first.payload()
    contact_ids = [e.contact_id for e in events]
    if len(events) < 2 or None in contact_ids or len(set(contact_ids)) != len(contact_ids):
        return None
    if any((type(e), e.type, e.source, e.actor_id) != template or e.payload() != payload for e in events):
        return None
    dialect_name = session.get_bind().dialect.name
    rows = session.execute(prebuilt(session, "events_alike", _alike_statement), {
        "type": first.type, "payload": payload, "source": first.source, "actor_id": first.actor_id,
        "occurred_at": clock.now(), "ids": id_param(dialect_name, t.cast(list[int], contact_ids))})
    by_contact = {contact_id: row_id for row_id, contact_id in rows}
    return [int(by_contact[c]) for c in t.cast(list[int], contact_ids)]


def _alike_statement(dialect_name: str) -> Any:
    table = _log_table()
    ids = id_table(dialect_name, "ids")
    typed = [bindparam(c.name, type_=c.type) for c in (table.c.type, table.c.payload, table.c.source,
                                                        table.c.actor_id, table.c.occurred_at)]
    return insert(table).from_select(
        ["type", "payload", "source", "actor_id", "occurred_at", "contact_id"],
        select(*typed, ids.c.value).where(ids.c.value.is_not(None)),
    ).returning(table.c.id, table.c.contact_id)


def log_only(session: Session, events: Sequence[Logged]) -> None:
    """Store logged events that the caller knows no goal can match (no dispatch; one INSERT)."""
    if events:
        session.execute(insert(_log_table()), [log_values(e) for e in events])
        for event in events:
            _queue(session, event)


def notice(session: Session, event: Event) -> None:
    """Queue a notice (a non-logged event) for after commit; equal notices go out once."""
    _queue(session, event)


def _queue(session: Session, event: Event) -> None:
    if not isinstance(event, Logged):
        seen: set[Event] = session.info.setdefault(_SEEN, set())
        if event in seen:
            return
        seen.add(event)
    session.info.setdefault(_PENDING, []).append(event)


def mark(session: Session) -> int:
    """A position in the transaction's pending events (see `forget_since`)."""
    return len(session.info.get(_PENDING, ()))


def forget_since(session: Session, position: int) -> None:
    """Drop events queued after `position` (their SAVEPOINT rolled back)."""
    pending: list[Event] = session.info.get(_PENDING, [])
    dropped = pending[position:]
    del pending[position:]
    seen: set[Event] = session.info.get(_SEEN, set())
    for event in dropped:
        if not isinstance(event, Logged):
            seen.discard(event)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending: list[Event] = session.info.pop(_PENDING, [])
    session.info.pop(_SEEN, None)
    if not pending:
        return
    with _lock:
        subscribers = list(_subscribers)
    for subscriber in subscribers:
        try:
            subscriber(pending)
        except Exception:  # a push is a hint; clients re-fetch on reconnect
            log.exception("an event subscriber failed")


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_SEEN, None)
