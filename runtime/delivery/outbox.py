"""Reading the outbox: emails and HTTP posts with their delivery status (marketers and admins)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import OutboxMessage
from models.access import Actor
from models.access import require_role
from models.errors import NotFound
from runtime.config import RuntimeConfig
from runtime.delivery.base import PermanentError
from runtime.delivery.smtp import render


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
    return [_row(m) for m in session.scalars(query)]


def _row(m: OutboxMessage) -> dict[str, Any]:
    return {
        "id": m.id, "kind": m.kind, "status": m.status, "idempotency_key": m.idempotency_key,
        "contact_id": m.contact_id, "campaign_id": m.campaign_id, "run_id": m.run_id, "attempts": m.attempts,
        "last_error": m.last_error, "created_at": m.created_at.isoformat(),
        "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        "summary": m.payload.get("subject") or m.payload.get("url") or "",
    }


def outbox_message(session: Session, actor: Actor, outbox_id: int, config: RuntimeConfig) -> dict[str, Any]:
    """One outbox row plus, for an email, the message as sent (or as it will be sent): headers, text, html.

    Raises:
        Forbidden: not a marketer or admin.
        NotFound: no such row.
    """
    require_role(actor, "marketer")
    row = session.get(OutboxMessage, outbox_id)
    if row is None:
        raise NotFound("no such outbox message")
    out = _row(row) | {"payload": row.payload, "message": None}
    if row.kind == "email":
        try:
            rendered = render(config, row.idempotency_key, row.payload or {}, row.public_id,
                              row.sent_at or row.created_at)
        except PermanentError as exc:
            out["render_error"] = str(exc)
        else:
            out["message"] = {"headers": dict(rendered.headers), "text": rendered.text, "html": rendered.html,
                              "links": rendered.links}
    return out
