"""CRM steps: create a task (seed 002 capacity), a note, an opportunity; move an opportunity.

Invariant: each ``execute`` calls exactly one effect method of the
`StepContext` (plus ``ctx.render`` for merge fields, rendered as plain text).
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from pydantic import BaseModel
from pydantic import Field

from runtime.graphs.catalog.base import ActionStep
from runtime.graphs.catalog.base import register_step
from runtime.graphs.catalog.fields import ConfigModel
from runtime.graphs.catalog.fields import merge_text_field
from runtime.graphs.catalog.issues import Issue
from runtime.graphs.catalog.issues import pipeline_issues
from runtime.graphs.catalog.issues import stage_issues
from runtime.graphs.catalog.issues import user_issues
from runtime.graphs.catalog.labels import person_label
from runtime.graphs.catalog.labels import short
from runtime.graphs.catalog.labels import stage_label
from runtime.graphs.catalog.ports import NO_NAMES
from runtime.graphs.catalog.ports import Names
from runtime.graphs.catalog.ports import Refs
from runtime.graphs.catalog.ports import StepContext

Cfg = Mapping[str, t.Any] | BaseModel


Assignee = t.Literal["owner", "round_robin"] | int


class CreateTaskConfig(ConfigModel):
    title: str = merge_text_field("Title", min_length=1, hint="Type what the task asks someone to do")
    description: str = merge_text_field("Description", textarea=True, default="")
    assignee: Assignee = Field(
        "owner",
        title="Assign to",
        description="The opportunity/contact owner, round robin, or a user.",
        json_schema_extra={"widget": "assignee"},
    )
    due_in_days: int = Field(
        0,
        ge=0,
        title="Due in (days)",
        description="Moved to the first later day on which the assignee has capacity.",
    )


@register_step
class CreateTask(ActionStep[CreateTaskConfig]):
    """Create a task for a user about the contact."""

    type = "create_task"
    label = "Create task"
    help = "Create a task with a relative due date, respecting each user's daily task capacity."
    icon = "check-square"
    group = "Tasks & notes"
    Config = CreateTaskConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        c = self.parse(config)
        ctx.create_task(ctx.render(c.title), ctx.render(c.description), c.assignee, c.due_in_days)

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        c = self.parse(config)
        due = f"in {c.due_in_days}d" if c.due_in_days else "today"
        return f"Task “{short(c.title, 34)}” → {person_label(names, c.assignee)}, due {due}"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        return user_issues(refs, self.parse(config).assignee, field="assignee")


class CreateNoteConfig(ConfigModel):
    body: str = merge_text_field("Note", textarea=True, min_length=1)


@register_step
class CreateNote(ActionStep[CreateNoteConfig]):
    """Add a note to the contact's record."""

    type = "create_note"
    label = "Create note"
    help = "Record a note on the contact (and its current opportunity)."
    icon = "sticky-note"
    group = "Tasks & notes"
    Config = CreateNoteConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        ctx.create_note(ctx.render(self.parse(config).body))

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"Note “{short(self.parse(config).body)}”"


class CreateOpportunityConfig(ConfigModel):
    pipeline_id: int = Field(title="Pipeline", json_schema_extra={
        "widget": "pipeline", "hint": "Choose the pipeline of the new opportunity"})
    stage_id: int = Field(
        title="Stage", json_schema_extra={"widget": "stage", "depends_on": "pipeline_id",
                                          "hint": "Choose the stage the new opportunity starts in"}
    )
    title: str = merge_text_field("Title", min_length=1, hint="Type a title for the new opportunity")
    value: float | None = Field(None, ge=0, title="Value")


@register_step
class CreateOpportunity(ActionStep[CreateOpportunityConfig]):
    """Create an opportunity for the contact (satisfies 'moved into' its stage)."""

    type = "create_opportunity"
    label = "Create opportunity"
    help = (
        "Create an opportunity in a pipeline stage. Unlike one made by hand, it "
        "satisfies Stage Moved goals for 'moved into' that stage."
    )
    icon = "briefcase"
    group = "Opportunities"
    Config = CreateOpportunityConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        c = self.parse(config)
        ctx.create_opportunity(c.pipeline_id, c.stage_id, ctx.render(c.title), c.value)

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        c = self.parse(config)
        return f"New opportunity “{short(c.title, 30)}” in {stage_label(names, c.stage_id)}"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        c = self.parse(config)
        return pipeline_issues(refs, c.pipeline_id) or stage_issues(refs, c.stage_id, c.pipeline_id)


class MoveOpportunityConfig(ConfigModel):
    stage_id: int = Field(title="Stage", json_schema_extra={
        "widget": "stage", "hint": "Choose the stage to move the opportunity to"})


@register_step
class MoveOpportunity(ActionStep[MoveOpportunityConfig]):
    """Move the contact's current opportunity to another stage."""

    type = "move_opportunity"
    label = "Move opportunity"
    help = "Move the contact's opportunity to a stage (recorded in its sales history)."
    icon = "arrow-right"
    group = "Opportunities"
    Config = MoveOpportunityConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        ctx.move_opportunity(self.parse(config).stage_id)

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"Move opportunity to {stage_label(names, self.parse(config).stage_id)}"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        return stage_issues(refs, self.parse(config).stage_id, None)
