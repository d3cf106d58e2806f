"""Side effects to deliver outside the database, each once per idempotency key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from models.tables.base import Base
from models.tables.base import utcnow

OUTBOX_KINDS = ("email", "http_post")
OUTBOX_STATUSES = ("pending", "sent", "failed")


class OutboxMessage(Base):
    """An email or HTTP post written with its step, delivered by the relay."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        Index("ix_outbox_campaign_step", "campaign_id", "step_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sequence_run.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # The random id public links (tracked clicks, the open pixel, unsubscribe) name this row by:
    # unguessable, unlike the row id or the key.
    public_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    # Where in its campaign the effect was queued (per-step reports).
    node_id: Mapped[str | None] = mapped_column(String(64))
    step_id: Mapped[str | None] = mapped_column(String(64))
