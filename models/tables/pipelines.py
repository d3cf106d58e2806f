"""Pipelines, their stages and each stage's checklist."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from models.tables.base import Base

PIPELINE_KINDS = ("leads", "sales", "fulfillment")
DEFAULT_LOST_REASONS = ("Price too high", "Chose a competitor", "No budget", "No decision / went silent",
                        "Bad timing", "Not a fit")


class Pipeline(Base):
    """A group of deals: leads, sales opportunities or fulfillment."""

    __tablename__ = "pipeline"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))
    archived: Mapped[bool] = mapped_column(default=False)
    lost_reasons: Mapped[list[Any]] = mapped_column(default=lambda: list(DEFAULT_LOST_REASONS),
                                                    server_default=text("'[]'"))
    stages: Mapped[list[Stage]] = relationship(
        back_populates="pipeline", order_by="Stage.number", cascade="all, delete-orphan"
    )


class Stage(Base):
    """A step of a pipeline; numbers leave gaps so stages can be inserted."""

    __tablename__ = "stage"
    __table_args__ = (
        UniqueConstraint("pipeline_id", "number"),
        CheckConstraint("probability >= 0 AND probability <= 100", name="probability_range"),
        CheckConstraint("target_days >= 0", name="target_days_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipeline.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    name: Mapped[str] = mapped_column(String(120))
    target_days: Mapped[int] = mapped_column(default=7)
    probability: Mapped[int] = mapped_column(default=0)
    pipeline: Mapped[Pipeline] = relationship(back_populates="stages")
    checklist: Mapped[list[ChecklistItem]] = relationship(
        back_populates="stage", order_by="ChecklistItem.position", cascade="all, delete-orphan"
    )


class ChecklistItem(Base):
    """A manual item (past tense) to tick before leaving a stage when required."""

    __tablename__ = "checklist_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(300))
    required: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    stage: Mapped[Stage] = relationship(back_populates="checklist")
