"""What the public links of a campaign email do: a click, an open, an unsubscribe.

Invariants:
    * A token is checked (`runtime.delivery.tracking.verify`) before anything
      is read: a tampered, truncated or other-purpose token is NotFound and
      records nothing.
    * A click records `link_clicked` (``link`` = the original URL, as the
      message carried it) through the inbound path, so the `link_clicked`
      goal matches it exactly as an API-reported click; the redirect target is
      always a link the message itself contained (no open redirect).
    * An open records `email_opened` once per message; an unsubscribe sets the
      contact's status (audited) and is counted once per message.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Contact
from models import EmailActivity
from models import OutboxMessage
from models import clock
from models import events
from models.access import SYSTEM
from models.errors import NotFound
from models.suppression import set_email_status
from runtime import inbound
from runtime.delivery.email_content import links
from runtime.delivery.tracking import Purpose
from runtime.delivery.tracking import verify


@dataclass(frozen=True)
class Resolved:
    """A message named by a valid token, and the link number it carries."""

    message: OutboxMessage
    index: int


def resolve(session: Session, secret: bytes, purpose: Purpose, token: str) -> Resolved:
    """The sent email a token names.

    Raises:
        NotFound: the token is not genuine, or its message no longer exists.
    """
    claims = verify(secret, purpose, token)
    if claims is None:
        raise NotFound("no such link")
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.public_id == claims.public_id))
    if message is None or message.kind != "email":
        raise NotFound("no such link")
    return Resolved(message=message, index=claims.index)


def _activity(session: Session, message: OutboxMessage, kind: str, link: str | None = None) -> None:
    session.add(EmailActivity(outbox_id=message.id, contact_id=message.contact_id, campaign_id=message.campaign_id,
                              node_id=message.node_id, step_id=message.step_id, kind=kind, link=link,
                              at=clock.now()))


def _seen(session: Session, message: OutboxMessage, kind: str) -> bool:
    return session.scalar(select(EmailActivity.id).where(EmailActivity.outbox_id == message.id,
                                                         EmailActivity.kind == kind).limit(1)) is not None


def _contact_exists(session: Session, message: OutboxMessage) -> bool:
    return message.contact_id is not None and session.get(Contact, message.contact_id) is not None


def click(session: Session, secret: bytes, token: str) -> str:
    """Record a click on a tracked link; return the original URL to redirect to.

    Raises:
        NotFound: a bad token, or a link number the message does not have.
    """
    found = resolve(session, secret, "c", token)
    urls = links(found.message.payload or {})
    if found.index >= len(urls):
        raise NotFound("no such link")
    url = urls[found.index]
    message = found.message
    if _contact_exists(session, message):
        _activity(session, message, "clicked", url)
        data = {"campaign_id": message.campaign_id, "node_id": message.node_id, "step_id": message.step_id}
        inbound.post_event(session, SYSTEM, {"type": "link_clicked", "contact_id": message.contact_id, "link": url,
                                             "data": data}, source="email")
    return url


def open_pixel(session: Session, secret: bytes, token: str) -> None:
    """Record the first open of a message (`email_opened`); later opens change nothing."""
    message = resolve(session, secret, "o", token).message
    if not _contact_exists(session, message) or _seen(session, message, "opened"):
        return
    _activity(session, message, "opened")
    events.record(session, events.Reported(
        kind="email_opened", contact_id=message.contact_id, source="email",
        fields={"campaign_id": message.campaign_id, "node_id": message.node_id, "step_id": message.step_id}))


def unsubscribe_target(session: Session, secret: bytes, token: str) -> OutboxMessage:
    """The message an unsubscribe token names (for the confirmation page)."""
    return resolve(session, secret, "u", token).message


def unsubscribe(session: Session, secret: bytes, token: str) -> None:
    """Unsubscribe the message's contact from marketing email (idempotent)."""
    message = resolve(session, secret, "u", token).message
    if not _contact_exists(session, message):
        return
    subject = str((message.payload or {}).get("subject") or "")
    set_email_status(session, SYSTEM, message.contact_id or 0, "unsubscribed",
                     reason=f"unsubscribe link in “{subject}”", source="email")
    if not _seen(session, message, "unsubscribed"):
        _activity(session, message, "unsubscribed")
