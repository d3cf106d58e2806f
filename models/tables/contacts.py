"""Contacts and tags."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from models.tables.base import Base
from models.tables.base import utcnow

EMAIL_STATUSES = ("subscribed", "unsubscribed", "bounced")


class Tag(Base):
    """A label that can be applied to contacts (and satisfy goals)."""

    __tablename__ = "tag"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)


class Contact(Base):
    """A person in the CRM."""

    __tablename__ = "contact"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    first_name: Mapped[str] = mapped_column(String(120), default="")
    last_name: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    # Marketing email goes only to "subscribed" contacts (DESIGN.md §6.3).
    email_status: Mapped[str] = mapped_column(String(16), default="subscribed", server_default="subscribed")
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timezone: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    tags: Mapped[list[Tag]] = relationship(secondary="contact_tag", order_by="Tag.name")

    @property
    def name(self) -> str:
        """First and last name, or the email when both are empty."""
        return f"{self.first_name} {self.last_name}".strip() or self.email


class ContactTag(Base):
    """A tag applied to a contact."""

    __tablename__ = "contact_tag"
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
