"""Reading the outbox: emails and HTTP posts with their delivery status (marketers and admins)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import OutboxMessage
from models.access import Actor
from models.access import require_role


def list_outbox(session: Session, actor: Actor, *, contact_id: int | None, status: str | None,
                kind: str | None, limit: int) -> list[dict[str, Any]]:
    """Outbox rows, newest first."""
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
