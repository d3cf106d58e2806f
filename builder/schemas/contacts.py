"""Contacts and tags."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from typing import ClassVar
from typing import Literal

from pydantic import EmailStr
from pydantic import Field
from pydantic import field_validator

from builder.api.base import Body
from builder.api.base import Query
from builder.schemas.common import Count
from builder.schemas.common import Id
from builder.schemas.common import Out
from builder.schemas.common import Patch
from builder.schemas.common import TimeZone


class ContactCreate(Body):
    email: EmailStr
    first_name: str = Field(default="", max_length=120)
    last_name: str = Field(default="", max_length=120)
    phone: str = Field(default="", max_length=40)
    fields: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    timezone: TimeZone | None = None
    owner_id: Id | None = None


class ContactPatch(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"timezone", "owner_id"})

    email: EmailStr | None = None
    first_name: str | None = Field(default=None, max_length=120)
    last_name: str | None = Field(default=None, max_length=120)
    phone: str | None = Field(default=None, max_length=40)
    fields: dict[str, Any] | None = None
    timezone: TimeZone | None = None
    owner_id: Id | None = None


class ContactQuery(Query):
    q: str = ""
    tag: str | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    offset: Count = 0


class TagBody(Body):
    tag: str = Field(min_length=1, max_length=120)


class ContactOut(Out):
    """A contact with its tag names."""

    id: int
    email: str
    first_name: str
    last_name: str
    name: str
    phone: str
    email_status: Literal["subscribed", "unsubscribed", "bounced"] = Field(
        description="Whether campaign emails may go to the contact (unsubscribed and bounced ones are skipped).")
    fields: dict[str, Any] = Field(description="Custom fields: free-form JSON values by field name.")
    timezone: str | None
    owner_id: int | None
    tags: list[str]
    created_at: datetime

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_names(cls, value: Any) -> Any:
        """A contact row's tags are Tag rows: their names."""
        return [getattr(tag, "name", tag) for tag in value]
