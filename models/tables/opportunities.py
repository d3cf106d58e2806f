"""Opportunity records: one sales (or fulfillment) process for one contact."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Numeric
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from models.tables.base import Base
from models.tables.base import utcnow
from models.tables.contacts import Contact
from models.tables.pipelines import Pipeline
from models.tables.pipelines import Stage
from models.tables.users import User

OUTCOMES = ("open", "won", "lost")
HISTORY_KINDS = ("created", "move", "won", "lost", "reopened")


class Opportunity(Base):
    """A deal in a pipeline stage, owned by a user; open until won or lost."""

    __tablename__ = "opportunity"
    __table_args__ = (CheckConstraint("outcome IN ('open', 'won', 'lost')", name="outcome_known"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipeline.id"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id"), index=True)
    value: Mapped[float] = mapped_column(Numeric(14, 2, asdecimal=False), default=0)
    next_action_date: Mapped[date | None]
    next_action_note: Mapped[str] = mapped_column(Text, default="")
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stage_entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_source: Mapped[str] = mapped_column(String(16), default="user")
    version: Mapped[int] = mapped_column(default=1)
    outcome: Mapped[str] = mapped_column(String(8), default="open", server_default=text("'open'"), index=True)
    closed_at: Mapped[datetime | None]
    expected_close_date: Mapped[date | None]
    close_reason: Mapped[str] = mapped_column(String(200), default="", server_default=text("''"))
    close_note: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))

    contact: Mapped[Contact] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    pipeline: Mapped[Pipeline] = relationship()
    stage: Mapped[Stage] = relationship()
    products: Mapped[list[OpportunityProduct]] = relationship(
        cascade="all, delete-orphan", order_by="OpportunityProduct.id"
    )
    shares: Mapped[list[OpportunityShare]] = relationship(
        cascade="all, delete-orphan", order_by="OpportunityShare.id"
    )

    __mapper_args__ = {"version_id_col": version}


class OpportunityProduct(Base):
    """A product the prospect is interested in, possibly at a special price."""

    __tablename__ = "opportunity_product"
    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunity.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(default=1)
    special_price: Mapped[float | None] = mapped_column(Numeric(14, 2, asdecimal=False))


class OpportunityShare(Base):
    """Access to an opportunity granted to another user or a team."""

    __tablename__ = "opportunity_share"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (team_id IS NULL)", name="one_grantee"),
        UniqueConstraint("opportunity_id", "user_id", "team_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunity.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    shared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    shared_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChecklistState(Base):
    """Whether one checklist item is ticked on one opportunity."""

    __tablename__ = "checklist_state"
    __table_args__ = (UniqueConstraint("opportunity_id", "item_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunity.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_item.id", ondelete="CASCADE"))
    done: Mapped[bool] = mapped_column(default=False)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    done_at: Mapped[datetime | None]


class StageMove(Base):
    """One line of sales history: a creation, a move between stages, a win, a loss or a reopening.

    A loss or a reopening of a lost deal stays in its stage (from = to); a win is
    the move into the pipeline's final stage.
    """

    __tablename__ = "stage_move"
    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunity.id", ondelete="CASCADE"), index=True
    )
    from_stage_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id"))
    to_stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id"))
    moved_at: Mapped[datetime] = mapped_column(default=utcnow)
    moved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    days_in_previous_stage: Mapped[float | None]
    source: Mapped[str] = mapped_column(String(16))
    campaign_id: Mapped[int | None]
    kind: Mapped[str] = mapped_column(String(16), default="move", server_default=text("'move'"))
    reason: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
