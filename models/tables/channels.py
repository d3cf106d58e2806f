"""Hosted web forms, their submissions, and what contacts did with campaign emails."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from models.tables.base import Base
from models.tables.base import utcnow

EMAIL_ACTIVITY_KINDS = ("opened", "clicked", "unsubscribed", "bounced")


class WebForm(Base):
    """A form a marketer builds, served publicly at /f/{slug}."""

    __tablename__ = "web_form"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    # [{name, label, required}] — name is email, first_name, last_name, phone or fields.<key>.
    fields: Mapped[list[Any]] = mapped_column(default=list)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    submit_label: Mapped[str] = mapped_column(String(60), default="Submit")
    thank_you: Mapped[str] = mapped_column(String(2000), default="")
    redirect_url: Mapped[str | None] = mapped_column(String(2000))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FormSubmission(Base):
    """One accepted submission of a hosted form (the rate limit counts these)."""

    __tablename__ = "form_submission"
    __table_args__ = (Index("ix_form_submission_address", "address_hash", "submitted_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("web_form.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    created_contact: Mapped[bool] = mapped_column(default=False)
    # SHA-256 of the sender's address with the app secret: rate limiting without keeping IPs.
    address_hash: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmailActivity(Base):
    """Something a contact did with (or that happened to) one campaign email: opened, clicked, …"""

    __tablename__ = "email_activity"
    __table_args__ = (Index("ix_email_activity_campaign", "campaign_id", "step_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    node_id: Mapped[str | None] = mapped_column(String(64))
    step_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    link: Mapped[str | None] = mapped_column(String(2000))
    at: Mapped[datetime] = mapped_column(default=utcnow)
