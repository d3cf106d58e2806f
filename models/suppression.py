"""A contact's email status (subscribed, unsubscribed, bounced): the suppression list.

Invariants:
    * Only "subscribed" contacts receive marketing email; the send step skips the others.
    * Every change is audited (who, from, to, why) and recorded as an
      ``email_status_changed`` event; setting the status it already has changes nothing.
    * Suppressing (unsubscribed, bounced) is open to every user; re-subscribing a
      suppressed contact is for marketers and admins, who answer for consent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy.orm import Session

from models import AuditEntry
from models import Contact
from models import events
from models.access import Actor
from models.access import require_role
from models.contacts import get_contact
from models.errors import Invalid
from models.tables.contacts import EMAIL_STATUSES

SUPPRESSED = frozenset({"unsubscribed", "bounced"})


@dataclass(frozen=True, kw_only=True)
class EmailStatusChanged(events.Logged):
    """A contact's email status changed (an unsubscribe link, a bounce, a user)."""

    name: ClassVar[str] = "email_status_changed"
    status: str
    previous: str
    reason: str = ""


def is_suppressed(status: str | None) -> bool:
    """True for a status that receives no marketing email."""
    return status in SUPPRESSED


def set_email_status(
    session: Session, actor: Actor, contact_id: int, status: str, *, reason: str = "", source: str = "user"
) -> Contact:
    """Change a contact's email status (audited); a no-op when it has that status already.

    Raises:
        NotFound: no such contact.
        Invalid: an unknown status (``invalid_email_status``).
        Forbidden: a rep re-subscribing a suppressed contact.
    """
    if status not in EMAIL_STATUSES:
        raise Invalid(
            "Choose the email status: subscribed, unsubscribed or bounced",
            code="invalid_email_status", details={"field": "email_status"},
        )
    contact = get_contact(session, contact_id)
    previous = contact.email_status
    if previous == status:
        return contact
    if status == "subscribed" and source == "user":
        require_role(actor, "marketer")
    contact.email_status = status
    session.add(AuditEntry(actor_id=actor.user_id, action="contact.email_status", target_type="contact",
                           target_id=contact.id, details={"from": previous, "to": status, "reason": reason[:500]}))
    events.record(session, EmailStatusChanged(contact_id=contact.id, status=status, previous=previous,
                                              reason=reason[:500], source=source, actor_id=actor.user_id))
    return contact
