"""The node catalog (goal and step types with their form fields) and config summaries."""

from __future__ import annotations

from typing import Any
from typing import Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from builder.api.base import Body
from builder.schemas.common import Out
from builder.schemas.common import only_when


class FieldOptionOut(Out):
    """One choice of a select field."""

    value: str | int | float | bool
    label: str


class FieldSpecOut(Out):
    """A form field of a goal or step config, derived from the type's config model."""

    name: str = Field(description="The config key.")
    label: str
    type: str = Field(description="How the canvas edits it: string, text, integer, number, boolean, select, date, "
                                  "datetime, object, or a picker (pipeline, stage, user, assignee, tag, window).")
    required: bool
    help: str
    default: Any = Field(description="Free-form JSON: the value a new config starts with (of the field's type), "
                                     "or null.")
    options: list[FieldOptionOut] = Field(description="The choices of a select field (else empty).")
    widget: str | SkipJsonSchema[None] = only_when("Only when the config field has a widget hint.")
    depends_on: str | SkipJsonSchema[None] = only_when(
        "Only on fields whose choices depend on another field (e.g. a stage on pipeline_id).")
    fields: list[FieldSpecOut] | SkipJsonSchema[None] = only_when(
        "Only on nested forms (e.g. the delay window): their fields.")


class GoalTypeOut(Out):
    """A goal type of the canvas palette."""

    type: str
    label: str
    help: str
    icon: str
    group: str
    fields: list[FieldSpecOut]


class StepTypeOut(GoalTypeOut):
    """A step type of the canvas palette."""

    kind: Literal["timer", "action"]
    outbox_kind: str | None = Field(description="The outbox kind the step writes (delivered by that kind's "
                                                "transport: email, http_post, …), if any.")


class MergeFieldOut(Out):
    """A merge field for texts (`{{contact.first_name}}`)."""

    name: str
    label: str
    placeholder: str
    pattern: bool | SkipJsonSchema[None] = only_when(
        "Only on the custom-field entry (true): `<name>` stands for any field name.")


class BranchingKindOut(Out):
    """A node kind that sends contacts down paths (decision, split), as the palette shows it."""

    kind: Literal["decision", "split"]
    label: str
    help: str
    icon: str


class RuleFieldOut(Out):
    """A field decision and segment rules can test, with its kind and the comparisons it allows."""

    name: str = Field(description='e.g. "tags", "contact.email", "opportunity.value"; custom fields are '
                                  '"contact.fields.<key>" (typed in, not listed).')
    label: str
    kind: Literal["tags", "text", "number", "date", "boolean", "id", "any"]
    ops: list[str]
    choices: list[str] = Field(description="The values a text field takes, when fixed (else empty).")


class CatalogOut(Out):
    """Goal types, step types, merge fields, branching kinds and rule fields, for the canvas palette and forms."""

    goals: list[GoalTypeOut]
    steps: list[StepTypeOut]
    merge_fields: list[MergeFieldOut]
    branching: list[BranchingKindOut]
    rule_fields: list[RuleFieldOut]
    rule_ops: dict[str, str] = Field(description="Each rule comparison's words, by op (e.g. gte: \"is at least\").")


class SummaryItem(Body):
    """One goal or step config to summarise; `key` is echoed back (a node or step id)."""

    key: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=60)
    config: dict[str, Any] = Field(default_factory=dict)


class SummariesBody(Body):
    """Configs to summarise (at most 5,000: a whole 1,000-node campaign)."""

    items: list[SummaryItem] = Field(max_length=5000)


class SummariesOut(Out):
    """`{key: one-line summary}`; "" for an incomplete config or an unknown type."""

    summaries: dict[str, str]
