"""Events from outside, the outbox, the audit log."""

from __future__ import annotations

from typing import Annotated
from typing import Any
from typing import Literal

from pydantic import Field

from builder.api.base import Body
from builder.api.base import Query
from builder.schemas.common import Id
from builder.schemas.common import IsoTimestamp
from builder.schemas.common import Out

EventType = Literal["form_submitted", "link_clicked", "api_event", "purchase"]
# Open-ended: a channel is a step plus a transport registered for its kind (docs/ARCHITECTURE.md).
OutboxKind = Annotated[str, Field(min_length=1, max_length=16,
                                  description="email, http_post, or the kind of another registered transport.")]


class EventBody(Body):
    type: EventType
    contact_id: Id
    form: str | None = Field(default=None, max_length=200)
    link: str | None = Field(default=None, max_length=2000)
    name: str | None = Field(default=None, max_length=200)
    product: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)


class EventAcceptedOut(Out):
    """The event was recorded; goals it satisfies start their sequences."""

    id: int = Field(description="The event's id in the event log.")
    type: EventType
    accepted: Literal[True]


class OutboxQuery(Query):
    contact_id: Id | None = None
    status: Literal["pending", "sent", "failed", "held"] | None = None
    kind: OutboxKind | None = None
    limit: int = Field(default=200, ge=1, le=1000)


class OutboxMessageOut(Out):
    """An email or HTTP post a campaign step wrote, with its delivery status (newest first)."""

    id: int
    kind: OutboxKind
    status: Literal["pending", "sent", "failed"] = Field(
        description="pending (to send, or held while its channel is not configured: see last_error), sent, failed.")
    idempotency_key: str = Field(description="The same key is never delivered twice.")
    contact_id: int | None
    campaign_id: int | None
    run_id: int | None
    attempts: int
    last_error: str | None
    created_at: IsoTimestamp
    sent_at: IsoTimestamp | None
    summary: str = Field(description="The email's subject or the post's URL.")


class AuditQuery(Query):
    action: str | None = None
    limit: int = Field(default=200, ge=1, le=1000)


class AuditEntryOut(Out):
    """Who did a sensitive thing: published, paused, rolled back, changed a role, shared (newest first)."""

    id: int
    action: str = Field(description='What was done, e.g. "campaign.published", "user.role_changed".')
    actor_id: int | None
    actor: str | None = Field(description="The actor's name (null for the system).")
    target_type: str
    target_id: int | None
    details: dict[str, Any] = Field(description="Free-form JSON: what the action recorded (it varies by action).")
    at: IsoTimestamp
