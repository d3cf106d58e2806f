"""Campaigns, their editable draft and their immutable published versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from models.tables.base import Base
from models.tables.base import utcnow

CAMPAIGN_STATUSES = ("draft", "live", "paused", "archived")


class Campaign(Base):
    """A graph of goals and sequences; the draft is edited, versions are published."""

    __tablename__ = "campaign"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    draft: Mapped[dict[str, Any]] = mapped_column(default=dict)
    draft_updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    draft_updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # No FK: campaign and campaign_version would reference each other.
    live_version_id: Mapped[int | None]
    allow_reentry: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignVersion(Base):
    """An immutable published graph and its compiled form."""

    __tablename__ = "campaign_version"
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    number: Mapped[int]
    graph: Mapped[dict[str, Any]]
    compiled: Mapped[dict[str, Any]]
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    rolled_back_from: Mapped[int | None]
