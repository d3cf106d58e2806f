"""The audit log: who published, paused, shared, changed roles (admins read it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEntry
from models import User
from models.access import Actor
from models.access import require_role


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
