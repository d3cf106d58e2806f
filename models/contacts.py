"""Contacts and tags; applying or removing a tag records an event that can satisfy goals.

Invariant: `tag_row` is the one place a contact_tag row's columns are made
(the runtime's write buffer inserts the same rows in bulk).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Contact
from models import ContactTag
from models import Tag
from models import User
from models import clock
from models import events
from models.access import Actor
from models.errors import Conflict
from models.errors import Invalid
from models.errors import NotFound


def get_contact(session: Session, contact_id: int) -> Contact:
    """A contact by id or NotFound."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound("no such contact")
    return contact


def create_contact(
    session: Session,
    actor: Actor,
    email: str,
    first_name: str = "",
    last_name: str = "",
    fields: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    timezone: str | None = None,
    owner_id: int | None = None,
    phone: str = "",
) -> Contact:
    """Create a contact (email unique, case-insensitive) and apply its tags."""
    email = email.strip().lower()
    if session.scalar(select(Contact.id).where(Contact.email == email)) is not None:
        raise Conflict(f"a contact with email {email} exists", code="email_taken")
    if owner_id is not None and session.get(User, owner_id) is None:
        raise Invalid("no such owner", code="unknown_user", details={"field": "owner_id"})
    contact = Contact(
        email=email, first_name=first_name, last_name=last_name, fields=fields or {},
        timezone=timezone, owner_id=owner_id, phone=phone,
    )
    session.add(contact)
    session.flush()
    for tag in tags or []:
        apply_tag(session, actor, contact.id, tag)
    return contact


def update_contact(session: Session, actor: Actor, contact_id: int, changes: dict[str, Any]) -> Contact:
    """Change a contact's names, fields, time zone or owner."""
    contact = get_contact(session, contact_id)
    if "email" in changes:
        email = str(changes["email"]).strip().lower()
        clash = session.scalar(select(Contact.id).where(Contact.email == email, Contact.id != contact_id))
        if clash is not None:
            raise Conflict(f"a contact with email {email} exists", code="email_taken")
        changes["email"] = email
    if "fields" in changes:
        changes["fields"] = {**contact.fields, **changes["fields"]}
    for key, value in changes.items():
        setattr(contact, key, value)
    session.flush()
    return contact


def list_contacts(
    session: Session, q: str = "", tag: str | None = None, limit: int = 100, offset: int = 0
) -> list[Contact]:
    """Contacts matching a search text and/or a tag."""
    query = select(Contact).order_by(Contact.id)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(or_(
            func.lower(Contact.email).like(like), func.lower(Contact.first_name).like(like),
            func.lower(Contact.last_name).like(like),
        ))
    if tag:
        query = query.join(ContactTag).join(Tag).where(Tag.name == tag)
    return list(session.scalars(query.limit(limit).offset(offset)))


def tag_name(name: str) -> str:
    """A tag name as stored (stripped); Invalid unless it has 1 to 120 characters."""
    name = name.strip()
    if not name or len(name) > 120:
        raise Invalid("a tag needs 1 to 120 characters", code="invalid_tag")
    return name


def ensure_tag(session: Session, name: str) -> Tag:
    """The tag called `name`, created when missing."""
    name = tag_name(name)
    tag = session.scalar(select(Tag).where(Tag.name == name))
    if tag is None:
        tag = Tag(name=name)
        session.add(tag)
        session.flush()
    return tag


def list_tags(session: Session) -> list[Tag]:
    """Every tag by name."""
    return list(session.scalars(select(Tag).order_by(Tag.name)))


def apply_tag(
    session: Session, actor: Actor, contact_id: int, tag_name: str, *, source: str = "user"
) -> bool:
    """Apply a tag; returns False (and emits nothing) when it was already there."""
    contact = get_contact(session, contact_id)
    tag = ensure_tag(session, tag_name)
    if session.get(ContactTag, (contact.id, tag.id)) is not None:
        return False
    session.add(ContactTag(**tag_row(contact.id, tag.id)))
    session.flush()
    session.expire(contact, ["tags"])
    events.record(
        session, events.TagApplied(contact_id=contact.id, tag=tag.name, source=source, actor_id=actor.user_id)
    )
    return True


def tag_row(contact_id: int, tag_id: int) -> dict[str, Any]:
    """The columns of a new contact_tag row."""
    return {"contact_id": contact_id, "tag_id": tag_id, "applied_at": clock.now()}


def remove_tag(
    session: Session, actor: Actor, contact_id: int, tag_name: str, *, source: str = "user"
) -> bool:
    """Remove a tag; returns False when the contact did not have it."""
    contact = get_contact(session, contact_id)
    tag = session.scalar(select(Tag).where(Tag.name == tag_name))
    if tag is None:
        return False
    result = session.execute(delete(ContactTag).where(ContactTag.contact_id == contact.id, ContactTag.tag_id == tag.id))
    session.expire(contact, ["tags"])
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    events.record(
        session, events.TagRemoved(contact_id=contact.id, tag=tag.name, source=source, actor_id=actor.user_id)
    )
    return True
