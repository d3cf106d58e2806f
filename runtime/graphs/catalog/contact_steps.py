"""Contact steps: apply or remove a tag, assign an owner, set a field.

Invariant: each ``execute`` calls exactly one effect method of the
`StepContext`, so the step loop can make the effect atomic with the step.
"""

from __future__ import annotations

import json
import typing as t
from collections.abc import Mapping

from pydantic import BaseModel
from pydantic import Field

from runtime.graphs.catalog.base import ActionStep
from runtime.graphs.catalog.base import register_step
from runtime.graphs.catalog.fields import ConfigModel
from runtime.graphs.catalog.issues import Issue
from runtime.graphs.catalog.issues import tag_issues
from runtime.graphs.catalog.issues import user_issues
from runtime.graphs.catalog.labels import person_label
from runtime.graphs.catalog.labels import short
from runtime.graphs.catalog.ports import NO_NAMES
from runtime.graphs.catalog.ports import Names
from runtime.graphs.catalog.ports import Refs
from runtime.graphs.catalog.ports import StepContext

Cfg = Mapping[str, t.Any] | BaseModel


class TagStepConfig(ConfigModel):
    tag: str = Field(min_length=1, title="Tag", json_schema_extra={"widget": "tag"})


@register_step
class ApplyTag(ActionStep[TagStepConfig]):
    """Apply a tag to the contact."""

    type = "apply_tag"
    label = "Apply tag"
    help = "Apply a tag to the contact (this can satisfy Tag Applied goals)."
    icon = "tag"
    group = "Contact"
    Config = TagStepConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        ctx.apply_tag(self.parse(config).tag)

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"Apply tag “{short(self.parse(config).tag, 30)}”"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        return tag_issues(refs, self.parse(config).tag)


@register_step
class RemoveTag(ActionStep[TagStepConfig]):
    """Remove a tag from the contact."""

    type = "remove_tag"
    label = "Remove tag"
    help = "Remove a tag from the contact."
    icon = "tag-off"
    group = "Contact"
    Config = TagStepConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        ctx.remove_tag(self.parse(config).tag)

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"Remove tag “{short(self.parse(config).tag, 30)}”"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        return tag_issues(refs, self.parse(config).tag)


class AssignOwnerConfig(ConfigModel):
    user_id: t.Literal["round_robin"] | int = Field(
        title="Owner",
        description="A user, or round robin among eligible users.",
        json_schema_extra={"widget": "user"},
    )


@register_step
class AssignOwner(ActionStep[AssignOwnerConfig]):
    """Assign an owner to the contact and its opportunity."""

    type = "assign_owner"
    label = "Assign owner"
    help = "Set the owner to a given user, or pick one round robin."
    icon = "user-check"
    group = "Contact"
    Config = AssignOwnerConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        ctx.assign_owner(self.parse(config).user_id)

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"Owner → {person_label(names, self.parse(config).user_id)}"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        return user_issues(refs, self.parse(config).user_id, field="user_id")


class SetFieldConfig(ConfigModel):
    field: str = Field(min_length=1, title="Field", description="Contact field name.")
    value: str | int | float | bool | None = Field(title="Value")


@register_step
class SetField(ActionStep[SetFieldConfig]):
    """Set a contact field to a fixed value."""

    type = "set_field"
    label = "Set field"
    help = "Set a contact field to a value (taken literally, no merge fields)."
    icon = "edit"
    group = "Contact"
    Config = SetFieldConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        c = self.parse(config)
        ctx.set_field(c.field, c.value)

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        c = self.parse(config)
        value = c.value if isinstance(c.value, str) else json.dumps(c.value)
        return f"Set {short(c.field, 20)} = “{short(value, 24)}”"
