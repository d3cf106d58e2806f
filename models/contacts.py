"""Contacts and tags; applying or removing a tag records an event that can satisfy goals.

Invariants:
    * `tag_row` is the one place a contact_tag row's columns are made (the
      runtime's write buffer inserts the same rows in bulk).
    * Tagging many contacts (`apply_tag_many`, `remove_tag_many`) has exactly
      the effects of tagging them one by one: a row and an event for each
      contact whose tags changed, nothing for the others; the events go to
      goal matching as one batch.
"""

from __future__ import annotations

import typing as t
from typing import Any

from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import literal
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
from models.sets import chunks
from models.sets import dialect
from models.sets import insert_or_ignore
from models.sets import one_of
from models.sets import prebuilt


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


def tag_id_for(session: Session, name: str, *, create: bool = True) -> tuple[int | None, str]:
    """The id and stored name of a tag (created when missing and `create`).

    Remembered for the transaction (tags are never renamed or deleted), so a
    transaction tagging a thousand contacts looks the tag up once.
    """
    name = tag_name(name)
    remembered = session.info.get(_TAG_IDS)
    transaction = session.get_transaction()
    if remembered is None or remembered[0] is not transaction or transaction is None:
        remembered = (transaction, {})
    known: dict[str, int] = remembered[1]
    tag_id = known.get(name)
    if tag_id is None:
        tag_id = session.scalar(prebuilt(session, "tag_id", lambda _d: select(_TAG.c.id).where(
            _TAG.c.name == bindparam("name"))), {"name": name})
        if tag_id is None:
            if not create:
                return None, name
            tag_id = ensure_tag(session, name).id
        known[name] = tag_id
        session.info[_TAG_IDS] = (session.get_transaction(), known)
    return tag_id, name


def list_tags(session: Session) -> list[Tag]:
    """Every tag by name."""
    return list(session.scalars(select(Tag).order_by(Tag.name)))


def _require_contact(session: Session, contact_id: int) -> None:
    """NotFound unless the contact exists (the identity map first, else one prebuilt query)."""
    if session.identity_map.get(session.identity_key(Contact, contact_id)) is not None:
        return
    found = session.scalar(prebuilt(session, "contact_exists", lambda _d: select(_CONTACT.c.id).where(
        _CONTACT.c.id == bindparam("id"))), {"id": contact_id})
    if found is None:
        raise NotFound("no such contact")


def _expire_tags(session: Session, contact_ids: t.Iterable[int]) -> None:
    """Loaded contacts re-read their tags (rows were written without the ORM)."""
    if not isinstance(contact_ids, list) or len(contact_ids) <= 8:
        for contact_id in contact_ids:
            contact = session.identity_map.get(session.identity_key(Contact, contact_id))
            if contact is not None and "tags" in vars(contact):
                session.expire(contact, ["tags"])
        return
    loaded = [obj for obj in session.identity_map.values() if isinstance(obj, Contact) and "tags" in vars(obj)]
    if loaded:
        wanted = set(contact_ids)
        for contact in loaded:
            if contact.id in wanted:
                session.expire(contact, ["tags"])


def apply_tag(
    session: Session, actor: Actor, contact_id: int, tag_name: str, *, source: str = "user"
) -> bool:
    """Apply a tag; returns False (and emits nothing) when it was already there."""
    tag_id, name = tag_id_for(session, tag_name)
    session.flush()  # the row below is written without the ORM: pending changes go first
    # One statement: the row is made only for an existing contact that does not have the tag yet.
    inserted = session.execute(prebuilt(session, "tag_row", _tag_row_statement),
                               {"contact_id": contact_id, "tag_id": tag_id, "applied_at": clock.now()}).first()
    if inserted is None:
        _require_contact(session, contact_id)
        return False
    _expire_tags(session, [contact_id])
    events.record(
        session, events.TagApplied(contact_id=contact_id, tag=name, source=source, actor_id=actor.user_id)
    )
    return True


def _tag_row_statement(dialect_name: str) -> t.Any:
    """INSERT INTO contact_tag SELECT the contact … ON CONFLICT DO NOTHING (the columns of `tag_row`)."""
    return insert_or_ignore(dialect_name, _CONTACT_TAG, ["contact_id", "tag_id"]).from_select(
        ["contact_id", "tag_id", "applied_at"],
        select(_CONTACT.c.id, bindparam("tag_id", type_=_CONTACT_TAG.c.tag_id.type),
               bindparam("applied_at", type_=_CONTACT_TAG.c.applied_at.type))
        .where(_CONTACT.c.id == bindparam("contact_id")),
    ).returning(_CONTACT_TAG.c.contact_id)


def tag_row(contact_id: int, tag_id: int) -> dict[str, Any]:
    """The columns of a new contact_tag row."""
    return {"contact_id": contact_id, "tag_id": tag_id, "applied_at": clock.now()}


def remove_tag(
    session: Session, actor: Actor, contact_id: int, tag_name: str, *, source: str = "user"
) -> bool:
    """Remove a tag; returns False when the contact did not have it."""
    _require_contact(session, contact_id)
    tag_id = session.scalar(select(Tag.id).where(Tag.name == tag_name))
    if tag_id is None:
        return False
    session.flush()
    result = session.execute(delete(ContactTag).where(ContactTag.contact_id == contact_id, ContactTag.tag_id == tag_id))
    _expire_tags(session, [contact_id])
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    events.record(
        session, events.TagRemoved(contact_id=contact_id, tag=tag_name, source=source, actor_id=actor.user_id)
    )
    return True


def apply_tag_many(
    session: Session, actor: Actor, contact_ids: t.Sequence[int], tag_name: str, *, source: str = "user"
) -> list[int]:
    """Apply a tag to many contacts at once, exactly as `apply_tag` one by one would.

    Contacts that already have the tag (or no longer exist) are skipped; the
    others get the row and a `TagApplied` event each, recorded as one batch so
    goals are matched set-wise (`models.events.record_many`).

    Returns:
        The contacts that got the tag, in the order given.
    """
    tag_id, name = tag_id_for(session, tag_name)
    session.flush()
    got: set[int] = set()
    now = clock.now()
    for part in chunks(sorted(set(contact_ids))):
        statement = insert_or_ignore(dialect(session), _CONTACT_TAG, ["contact_id", "tag_id"]).from_select(
            ["contact_id", "tag_id", "applied_at"],
            select(_CONTACT.c.id, literal(tag_id), literal(now, _CONTACT_TAG.c.applied_at.type))
            .where(one_of(dialect(session), _CONTACT.c.id, part)),
        ).returning(_CONTACT_TAG.c.contact_id)
        got.update(session.scalars(statement))
    return _record_tag_events(session, actor, contact_ids, got, name, source, applied=True)


def remove_tag_many(
    session: Session, actor: Actor, contact_ids: t.Sequence[int], tag_name: str, *, source: str = "user"
) -> list[int]:
    """Remove a tag from many contacts at once, exactly as `remove_tag` one by one would.

    Returns:
        The contacts that had the tag, in the order given.
    """
    tag_id = session.scalar(select(Tag.id).where(Tag.name == tag_name.strip()))
    if tag_id is None:
        return []
    session.flush()
    gone: set[int] = set()
    for part in chunks(sorted(set(contact_ids))):
        gone.update(session.scalars(
            delete(ContactTag).where(ContactTag.tag_id == tag_id, one_of(dialect(session), ContactTag.contact_id, part))
            .returning(ContactTag.contact_id)
        ))
    return _record_tag_events(session, actor, contact_ids, gone, tag_name.strip(), source, applied=False)


def _record_tag_events(session: Session, actor: Actor, contact_ids: t.Sequence[int], changed: set[int],
                       name: str, source: str, *, applied: bool) -> list[int]:
    ordered: list[int] = []
    for contact_id in contact_ids:
        if contact_id in changed:
            ordered.append(contact_id)
            changed.discard(contact_id)  # a contact listed twice is tagged (and told) once
    _expire_tags(session, ordered)
    kind = events.TagApplied if applied else events.TagRemoved
    events.record_many(session, [kind(contact_id=c, tag=name, source=source, actor_id=actor.user_id)
                                 for c in ordered])
    return ordered


_TAG_IDS = "stagecraft.contacts.tag_ids"
_CONTACT = t.cast(Table, Contact.__table__)
_CONTACT_TAG = t.cast(Table, ContactTag.__table__)
_TAG = t.cast(Table, Tag.__table__)
