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


def event_values(
    type: str,
    contact_id: int | None,
    payload: dict[str, Any],
    *,
    source: str = "user",
    actor_id: int | None = None,
) -> dict[str, Any]:
    """The columns of a new event row (`record_event`, and the executor's batched inserts)."""
    return {
        "type": type,
        "contact_id": contact_id,
        "payload": payload,
        "source": source,
        "actor_id": actor_id,
        "occurred_at": clock.now(),
    }


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

    event = DomainEvent(**event_values(type, contact_id, payload, source=source, actor_id=actor_id))
    session.add(event)
    session.flush()
    engine.handle_event(session, event)
    return event


def event_dict(event: DomainEvent) -> dict[str, Any]:
    """The flat dict goal types match against: payload plus type, contact and source."""
    return event_data(event.type, event.contact_id, event.payload, event.source)


def event_data(
    type: str, contact_id: int | None, payload: dict[str, Any], source: str
) -> dict[str, Any]:
    """`event_dict` of an event not (yet) stored as a DomainEvent object."""
    data = dict(payload)
    data.update(type=type, contact_id=contact_id, source=source)
    return data
