"""Contacts and their tags; applying a tag is an event."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from builder.api.base import route
from builder.db import commit
from builder.db import get_session
from builder.schemas import ContactCreate
from builder.schemas import ContactOut
from builder.schemas import ContactPatch
from builder.schemas import ContactQuery
from builder.schemas import TagBody
from models import Contact
from models import contacts as contact_service
from models.access import Actor

bp = Blueprint("api_contacts", __name__, url_prefix="/api/v1")


def contact_out(contact: Contact) -> dict[str, Any]:
    """A contact as JSON."""
    data = ContactOut.model_validate({
        **{k: getattr(contact, k) for k in ("id", "email", "first_name", "last_name", "name", "phone",
                                              "email_status", "fields", "timezone", "owner_id", "created_at")},
        "tags": [t.name for t in contact.tags],
    })
    return data.model_dump(mode="json")


@route(bp, "/contacts", query=ContactQuery, response=list[ContactOut])
def list_contacts(actor: Actor, query: ContactQuery) -> Any:
    """Contacts matching a search text or tag."""
    rows = contact_service.list_contacts(get_session(), query.q, query.tag, query.limit, query.offset)
    return [contact_out(c) for c in rows]


@route(bp, "/contacts", ("POST",), body=ContactCreate, response=ContactOut, status=201)
def create_contact(actor: Actor, body: ContactCreate) -> Any:
    """Create a contact (tags given are applied, each an event)."""
    contact = contact_service.create_contact(get_session(), actor, **body.model_dump())
    commit()
    return contact_out(contact), 201


@route(bp, "/contacts/<int:contact_id>", response=ContactOut)
def get_contact(actor: Actor, contact_id: int) -> Any:
    """One contact."""
    return contact_out(contact_service.get_contact(get_session(), contact_id))


@route(bp, "/contacts/<int:contact_id>", ("PATCH",), body=ContactPatch, response=ContactOut)
def update_contact(actor: Actor, contact_id: int, body: ContactPatch) -> Any:
    """Change a contact."""
    contact = contact_service.update_contact(get_session(), actor, contact_id, body.model_dump(exclude_unset=True))
    commit()
    return contact_out(contact)


@route(bp, "/contacts/<int:contact_id>/tags", ("POST",), body=TagBody, response=ContactOut)
def apply_tag(actor: Actor, contact_id: int, body: TagBody) -> Any:
    """Apply a tag (may satisfy tag goals)."""
    session = get_session()
    contact_service.apply_tag(session, actor, contact_id, body.tag)
    commit()
    return contact_out(contact_service.get_contact(session, contact_id))


@route(bp, "/contacts/<int:contact_id>/tags/<path:tag>", ("DELETE",), response=ContactOut)
def remove_tag(actor: Actor, contact_id: int, tag: str) -> Any:
    """Remove a tag."""
    session = get_session()
    contact_service.remove_tag(session, actor, contact_id, tag)
    commit()
    return contact_out(contact_service.get_contact(session, contact_id))


@route(bp, "/tags", response=list[str])
def list_tags(actor: Actor) -> Any:
    """Every tag name."""
    return [t.name for t in contact_service.list_tags(get_session())]


@route(bp, "/tags", ("POST",), body=TagBody, response=list[str], status=201)
def create_tag(actor: Actor, body: TagBody) -> Any:
    """Create a tag (so campaigns can refer to it before any contact has it)."""
    contact_service.ensure_tag(get_session(), body.tag)
    commit()
    return [t.name for t in contact_service.list_tags(get_session())], 201
