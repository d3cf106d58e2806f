"""Events from outside, the outbox, sequence runs, the audit log."""

from __future__ import annotations

from typing import Any
from typing import Literal

from pydantic import Field

from builder.api.base import Body
from builder.api.base import Query
from builder.schemas.common import Id


class EventBody(Body):
    type: Literal["form_submitted", "link_clicked", "api_event", "purchase"]
    contact_id: Id
    form: str | None = Field(default=None, max_length=200)
    link: str | None = Field(default=None, max_length=2000)
    name: str | None = Field(default=None, max_length=200)
    product: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)


class OutboxQuery(Query):
    contact_id: Id | None = None
    status: Literal["pending", "sent", "failed", "held"] | None = None
    kind: Literal["email", "http_post"] | None = None
    limit: int = Field(default=200, ge=1, le=1000)


class RunPatch(Body):
    status: Literal["paused", "active", "stopped"]


class AuditQuery(Query):
    action: str | None = None
    limit: int = Field(default=200, ge=1, le=1000)
