"""Domain events: written in the caller's transaction, then matched against goals.

Invariant: `record_event` runs inside the same transaction as the change it
describes, and goal matching runs in that transaction too, so a crash either
keeps the change, its event and the enrollments it caused, or none of them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models import DomainEvent
from models import clock

EVENT_TYPES = (
    "opportunity_created",
    "stage_moved",
    "tag_applied",
    "tag_removed",
    "task_completed",
    "form_submitted",
    "link_clicked",
    "api_event",
    "purchase",
    "stage_overdue",
)


def record_event(
    session: Session,
    type: str,
    contact_id: int | None,
    payload: dict[str, Any],
    *,
    source: str = "user",
    actor_id: int | None = None,
) -> DomainEvent:
    """Append an event and satisfy the goals it matches, in this transaction.

    Args:
        session: the transaction of the change being described.
        type: one of EVENT_TYPES.
        contact_id: the contact the event is about.
        payload: event details (ids, tag, form name, ...).
        source: "user", "campaign" or "api".
        actor_id: the user behind it, if any.

    Returns:
        The stored event.
    """
    from runtime import engine  # engine imports services that import this module

    event = DomainEvent(
        type=type,
        contact_id=contact_id,
        payload=payload,
        source=source,
        actor_id=actor_id,
        occurred_at=clock.now(),
    )
    session.add(event)
    session.flush()
    engine.handle_event(session, event)
    return event


def event_dict(event: DomainEvent) -> dict[str, Any]:
    """The flat dict goal types match against: payload plus type, contact and source."""
    data = dict(event.payload)
    data.update(type=event.type, contact_id=event.contact_id, source=event.source)
    return data
