"""What decision rules know about a contact, read from the database at the moment it arrives (`Facts`).

Invariants:
    * Read in the caller's transaction, after its pending changes are flushed,
      so a decision right after a step that tagged the contact sees the tag.
    * The opportunity is the one on the contact's path (the run's, or the
      event's) when it still belongs to the contact, else the contact's most
      recently updated open one (every one counts as open while opportunities
      have no outcome column).
    * Email engagement counts ``email_opened`` / ``link_clicked`` events whose
      payload names this campaign (``campaign_id``), as tracked emails record them.
"""

from __future__ import annotations

import typing as t

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Contact
from models import ContactTag
from models import DomainEvent
from models import Opportunity
from models import Tag
from runtime.graphs.rule_eval import Facts
from runtime.graphs.rules import FIELDS

CONTACT_COLUMNS = tuple(spec.source[1] for spec in FIELDS.values() if spec.source[0] == "contact")
OPPORTUNITY_COLUMNS = tuple(spec.source[1] for spec in FIELDS.values() if spec.source[0] == "opportunity")
ENGAGEMENT_EVENTS = {"email_opened": "opened", "link_clicked": "clicked"}


def _opportunity(session: Session, contact_id: int, opportunity_id: int | None) -> Opportunity | None:
    if opportunity_id is not None:
        opp = session.get(Opportunity, opportunity_id)
        if opp is not None and opp.contact_id == contact_id:
            return opp
    query = select(Opportunity).where(Opportunity.contact_id == contact_id)
    outcome = getattr(Opportunity, "outcome", None)
    if outcome is not None:
        query = query.where(outcome == "open")
    return session.scalar(query.order_by(Opportunity.updated_at.desc(), Opportunity.id.desc()).limit(1))


def _engagement(session: Session, contact_id: int, campaign_id: int) -> set[str]:
    rows = session.execute(select(DomainEvent.type, DomainEvent.payload).where(
        DomainEvent.contact_id == contact_id, DomainEvent.type.in_(sorted(ENGAGEMENT_EVENTS))))
    return {ENGAGEMENT_EVENTS[kind] for kind, payload in rows
            if isinstance(payload, dict) and payload.get("campaign_id") == campaign_id}


def load_facts(session: Session, contact_id: int, campaign_id: int, opportunity_id: int | None = None) -> Facts:
    """The facts rules test about a contact now, in campaign `campaign_id`, on the path of `opportunity_id`.

    Raises:
        LookupError: the contact is gone.
    """
    session.flush()
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise LookupError(f"contact {contact_id} is gone")
    tags = frozenset(session.scalars(select(Tag.name).join(ContactTag, ContactTag.tag_id == Tag.id)
                                     .where(ContactTag.contact_id == contact_id)))
    opp = _opportunity(session, contact_id, opportunity_id)
    engaged = _engagement(session, contact_id, campaign_id)
    return Facts(
        tags=tags,
        contact={column: getattr(contact, column, None) for column in CONTACT_COLUMNS},
        fields=dict(contact.fields or {}),
        opportunity=None if opp is None else {column: getattr(opp, column, None) for column in OPPORTUNITY_COLUMNS},
        email_opened="opened" in engaged,
        email_clicked="clicked" in engaged,
    )


def facts_loader(session: Session, contact_id: int, campaign_id: int,
                 opportunity_id: int | None = None) -> t.Callable[[], Facts]:
    """A thunk `decide` calls when (and only when) the contact reaches a decision."""
    return lambda: load_facts(session, contact_id, campaign_id, opportunity_id)


def facts_from_json(data: t.Mapping[str, t.Any]) -> Facts:
    """Facts about a made-up contact (the Evaluate tester): ``{tags, fields, <contact columns>, opportunity,
    email_opened, email_clicked}``, every key optional."""
    opportunity = data.get("opportunity")
    return Facts(
        tags=frozenset(str(tag) for tag in data.get("tags") or ()),
        contact={column: data.get(column) for column in CONTACT_COLUMNS},
        fields=dict(data.get("fields") or {}),
        opportunity=dict(opportunity) if isinstance(opportunity, t.Mapping) else None,
        email_opened=bool(data.get("email_opened")),
        email_clicked=bool(data.get("email_clicked")),
    )
