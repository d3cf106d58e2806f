"""Outside events, the outbox listing and the audit log, with their access checks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEntry
from models import Contact
from models import DomainEvent
from models import OutboxMessage
from models import User
from runtime.access import Actor
from runtime.access import require_role
from runtime.errors import Invalid
from runtime.errors import NotFound
from runtime.events import record_event

REQUIRED = {"form_submitted": "form", "link_clicked": "link", "api_event": "name", "purchase": "product"}


def check_contact(session: Session, actor: Actor, contact_id: int) -> Contact:
    """The contact, or NotFound."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound("no such contact")
    return contact


def post_event(session: Session, actor: Actor, data: dict[str, Any]) -> DomainEvent:
    """Record an event from outside; its goal field (form, link, name, product) is required."""
    check_contact(session, actor, data["contact_id"])
    key = REQUIRED[data["type"]]
    if key != "product" and not data.get(key):
        raise Invalid(f"a {data['type']} event needs '{key}'", code="missing_field", details={"field": key})
    payload = {key: data.get(key), "data": data.get("data") or {}}
    return record_event(session, data["type"], data["contact_id"], payload, source="api", actor_id=actor.user_id)


def list_outbox(session: Session, actor: Actor, *, contact_id: int | None, status: str | None,
                kind: str | None, limit: int) -> list[dict[str, Any]]:
    """Outbox rows, newest first (marketers and admins)."""
    require_role(actor, "marketer")
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if contact_id is not None:
        query = query.where(OutboxMessage.contact_id == contact_id)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return [{
        "id": m.id, "kind": m.kind, "status": m.status, "idempotency_key": m.idempotency_key,
        "contact_id": m.contact_id, "campaign_id": m.campaign_id, "run_id": m.run_id, "attempts": m.attempts,
        "last_error": m.last_error, "created_at": m.created_at.isoformat(),
        "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        "summary": m.payload.get("subject") or m.payload.get("url") or "",
    } for m in session.scalars(query)]


def list_audit(session: Session, actor: Actor, action: str | None, limit: int) -> list[dict[str, Any]]:
    """The audit log, newest first (admins)."""
    require_role(actor, "admin")
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEntry.action == action)
    names = dict(session.execute(select(User.id, User.name)).all())
    return [{"id": a.id, "action": a.action, "actor_id": a.actor_id, "actor": names.get(a.actor_id or 0),
             "target_type": a.target_type, "target_id": a.target_id, "details": a.details,
             "at": a.at.isoformat()} for a in session.scalars(query)]
