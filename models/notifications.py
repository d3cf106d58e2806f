"""In-app notifications for users (a campaign's Notify User step)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import Notification
from models import clock
from models import events


def notify(session: Session, user_id: int, message: str, *, contact_id: int | None = None) -> Notification:
    """Leave a notification for a user; it is pushed live after commit."""
    note = Notification(user_id=user_id, message=message, contact_id=contact_id, created_at=clock.now())
    session.add(note)
    session.flush()
    events.notice(session, events.NotificationCreated(notification_id=note.id, user_id=user_id, contact_id=contact_id))
    return note
