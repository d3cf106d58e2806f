"""Pipelines, stages, checklists and the forecast."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from builder.api.base import Body
from builder.schemas.common import Count
from builder.schemas.common import Out
from builder.schemas.common import Patch

PipelineKind = Literal["leads", "sales", "fulfillment"]


class ChecklistSpec(Body):
    text: str = Field(min_length=1, max_length=300)
    required: bool = False


class StageSpec(Body):
    number: Count
    name: str = Field(min_length=1, max_length=120)
    target_days: int = Field(default=7, ge=0, le=3650)
    probability: int = Field(default=0, ge=0, le=100)
    checklist: list[ChecklistSpec] = Field(default_factory=list)


class StagePatch(Patch):
    number: Count | None = None
    name: str | None = Field(default=None, min_length=1, max_length=120)
    target_days: int | None = Field(default=None, ge=0, le=3650)
    probability: int | None = Field(default=None, ge=0, le=100)
    checklist: list[ChecklistSpec] | None = None


class PipelineCreate(Body):
    name: str = Field(min_length=1, max_length=120)
    kind: PipelineKind
    template: Literal["sales_workflow", "fulfillment"] | None = None
    stages: list[StageSpec] = Field(default_factory=list)


class ChecklistItemOut(Out):
    """An item of a stage's checklist (required ones block moves out of the stage until ticked)."""

    id: int
    text: str
    required: bool


class StageOut(Out):
    """A stage with its checklist."""

    id: int
    pipeline_id: int
    number: int
    name: str
    target_days: int
    probability: int
    checklist: list[ChecklistItemOut]


class PipelineOut(Out):
    """A pipeline with its stages, in order."""

    id: int
    name: str
    kind: PipelineKind
    stages: list[StageOut]
    lost_reasons: list[str] = Field(description="The reasons offered when a deal of this pipeline is lost.")
