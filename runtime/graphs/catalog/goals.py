"""Goal types: what a contact does, or what happens to them.

Invariants:
    * ``index_key(config)`` is a tuple of JSON scalars whose first element is
      the goal type; ``keys_for_event(event)`` returns, for a domain event,
      every key a goal of this type could be indexed under. A goal is hit by an
      event iff its key is among the event's keys *and* ``matches`` is true.
    * Seed rule 5: a hand-made opportunity never satisfies ``stage_moved``; an
      ``opportunity_created`` event with ``source == "campaign"`` satisfies
      "moved into" its creation stage.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from pydantic import BaseModel
from pydantic import Field

from runtime.graphs.catalog.base import EventKey
from runtime.graphs.catalog.base import GoalType
from runtime.graphs.catalog.base import InboundEvent
from runtime.graphs.catalog.base import register_goal
from runtime.graphs.catalog.fields import ConfigModel
from runtime.graphs.catalog.issues import Issue
from runtime.graphs.catalog.issues import pipeline_issues
from runtime.graphs.catalog.issues import stage_issues
from runtime.graphs.catalog.issues import tag_issues
from runtime.graphs.catalog.labels import short
from runtime.graphs.catalog.labels import stage_label
from runtime.graphs.catalog.ports import NO_NAMES
from runtime.graphs.catalog.ports import Names
from runtime.graphs.catalog.ports import Refs

Cfg = Mapping[str, t.Any] | BaseModel


def _int(value: object) -> int | None:
    """Return ``value`` as an int key part, or None when it is not an integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


# --- stage_moved -------------------------------------------------------------


class StageMovedConfig(ConfigModel):
    pipeline_id: int | None = Field(
        None,
        title="Pipeline",
        description="Only opportunities in this pipeline (empty = any pipeline).",
        json_schema_extra={"widget": "pipeline"},
    )
    stage_id: int = Field(
        title="Stage",
        json_schema_extra={"widget": "stage", "depends_on": "pipeline_id",
                           "hint": "Choose the stage this goal watches"},
    )
    direction: t.Literal["into", "out_of"] = Field(
        "into",
        title="Direction",
        description="Moved into the stage (from any stage) or out of it (to any stage).",
        json_schema_extra={"option_labels": {"into": "Moved into", "out_of": "Moved out of"}},
    )


@register_goal
class StageMoved(GoalType[StageMovedConfig]):
    """Opportunity Stage Moved (seed rules 4 and 5)."""

    type = "stage_moved"
    label = "Opportunity stage moved"
    help = (
        "Satisfied when an opportunity is saved into (or out of) a stage. An "
        "opportunity created by hand does not count; one created by a campaign's "
        "Create Opportunity step counts as moved into its first stage."
    )
    icon = "arrow-right-circle"
    group = "Opportunities"
    Config = StageMovedConfig
    event_types = frozenset({"stage_moved", "opportunity_created"})

    def index_key(self, config: Cfg) -> EventKey:
        c = self.parse(config)
        return ("stage_moved", c.direction, c.stage_id)

    @classmethod
    def keys_for_event(cls, event: Mapping[str, t.Any]) -> list[EventKey]:
        kind = event.get("type")
        if kind == "stage_moved":
            src, dst = _int(event.get("from_stage_id")), _int(event.get("to_stage_id"))
            if src == dst:  # a save without a stage change is not a move
                return []
            keys: list[EventKey] = []
            if dst is not None:
                keys.append(("stage_moved", "into", dst))
            if src is not None:
                keys.append(("stage_moved", "out_of", src))
            return keys
        if kind == "opportunity_created" and event.get("source") == "campaign":
            stage = _int(event.get("stage_id"))
            return [] if stage is None else [("stage_moved", "into", stage)]
        return []

    def matches(self, config: Cfg, event: Mapping[str, t.Any]) -> bool:
        c = self.parse(config)
        if c.pipeline_id is not None and event.get("pipeline_id") != c.pipeline_id:
            return False
        return self.index_key(c) in self.keys_for_event(event)

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        c = self.parse(config)
        verb = "Moved into" if c.direction == "into" else "Moved out of"
        found = names.stage(c.stage_id)
        if found is None:
            return f"{verb} stage #{c.stage_id}"
        pipeline = names.pipeline(c.pipeline_id) if c.pipeline_id is not None else found[1]
        return f"{verb} {found[0]}" + (f" · {pipeline}" if pipeline else "")

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        c = self.parse(config)
        found = pipeline_issues(refs, c.pipeline_id)
        return found or stage_issues(refs, c.stage_id, c.pipeline_id)


# --- tag_applied -------------------------------------------------------------


class TagConfig(ConfigModel):
    tag: str = Field(min_length=1, title="Tag",
                     json_schema_extra={"widget": "tag", "hint": "Type the tag this goal watches"})


@register_goal
class TagApplied(GoalType[TagConfig]):
    """A tag is applied to the contact."""

    type = "tag_applied"
    label = "Tag applied"
    help = "Satisfied when the tag is applied to the contact (by a user, the API or a campaign)."
    icon = "tag"
    group = "Contacts"
    Config = TagConfig
    event_types = frozenset({"tag_applied"})

    def index_key(self, config: Cfg) -> EventKey:
        return ("tag_applied", self.parse(config).tag)

    @classmethod
    def keys_for_event(cls, event: Mapping[str, t.Any]) -> list[EventKey]:
        tag = _text(event.get("tag"))
        return [("tag_applied", tag)] if event.get("type") == "tag_applied" and tag else []

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"Tag “{short(self.parse(config).tag)}” applied"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        return tag_issues(refs, self.parse(config).tag)


# --- form_submitted / link_clicked / api_event: one named thing ---------------


class FormConfig(ConfigModel):
    form: str = Field(
        min_length=1,
        title="Form",
        description="A hosted form, or the name an outside form reports through the API.",
        json_schema_extra={"widget": "form", "hint": "Choose the form this goal watches"},
    )


class FormEvent(InboundEvent):
    form: str = Field(min_length=1, max_length=200, description="The form's name (a hosted form's slug).")
    data: dict[str, t.Any] = Field(default_factory=dict, description="The submitted values.")


@register_goal
class FormSubmitted(GoalType[FormConfig]):
    """The contact submits a web form."""

    type = "form_submitted"
    label = "Web form submitted"
    help = ("Satisfied when the contact submits the form: a hosted form (/f/…) or one reported through "
            "POST /api/v1/events with the same name.")
    icon = "clipboard"
    group = "Web"
    Config = FormConfig
    event_types = frozenset({"form_submitted"})
    inbound_event = FormEvent

    def index_key(self, config: Cfg) -> EventKey:
        return ("form_submitted", self.parse(config).form)

    @classmethod
    def keys_for_event(cls, event: Mapping[str, t.Any]) -> list[EventKey]:
        form = _text(event.get("form"))
        return [("form_submitted", form)] if event.get("type") == "form_submitted" and form else []

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"Form “{short(self.parse(config).form)}” submitted"


class LinkConfig(ConfigModel):
    link: str = Field(
        min_length=1,
        title="Link",
        description="The link's address as written in the campaign's emails (clicks are tracked), or the "
        "name an outside system reports.",
        json_schema_extra={"widget": "link", "hint": "Choose or type the link this goal watches"},
    )


class LinkEvent(InboundEvent):
    link: str = Field(min_length=1, max_length=2000, description="The link's URL or name.")
    data: dict[str, t.Any] = Field(default_factory=dict)


@register_goal
class LinkClicked(GoalType[LinkConfig]):
    """The contact clicks a tracked link."""

    type = "link_clicked"
    label = "Link clicked"
    help = "Satisfied when the contact clicks the link in one of the campaign's emails (or one reported by the API)."
    icon = "link"
    group = "Web"
    Config = LinkConfig
    event_types = frozenset({"link_clicked"})
    inbound_event = LinkEvent

    def index_key(self, config: Cfg) -> EventKey:
        return ("link_clicked", self.parse(config).link)

    @classmethod
    def keys_for_event(cls, event: Mapping[str, t.Any]) -> list[EventKey]:
        link = _text(event.get("link"))
        return [("link_clicked", link)] if event.get("type") == "link_clicked" and link else []

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"Clicked {short(self.parse(config).link)}"


class ApiEventConfig(ConfigModel):
    name: str = Field(min_length=1, title="Event name", description="The API goal's call name.",
                      json_schema_extra={"hint": "Type the name outside systems call this goal by"})


class NamedEvent(InboundEvent):
    name: str = Field(min_length=1, max_length=200, description="The API goal's call name.")
    data: dict[str, t.Any] = Field(default_factory=dict)


@register_goal
class ApiEvent(GoalType[ApiEventConfig]):
    """An outside system reports a named event through the API."""

    type = "api_event"
    label = "API goal"
    help = "Satisfied when POST /api/v1/events reports {type: 'api_event', name} for the contact."
    icon = "code"
    group = "Web"
    Config = ApiEventConfig
    event_types = frozenset({"api_event"})
    inbound_event = NamedEvent

    def index_key(self, config: Cfg) -> EventKey:
        return ("api_event", self.parse(config).name)

    @classmethod
    def keys_for_event(cls, event: Mapping[str, t.Any]) -> list[EventKey]:
        name = _text(event.get("name"))
        return [("api_event", name)] if event.get("type") == "api_event" and name else []

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"API event “{short(self.parse(config).name)}”"


# --- task_completed / purchase: one key, final filter in matches ---------------


class TaskCompletedConfig(ConfigModel):
    title_contains: str | None = Field(
        None,
        title="Title contains",
        description="Only tasks whose title contains this text (case-insensitive); empty = any.",
    )


@register_goal
class TaskCompleted(GoalType[TaskCompletedConfig]):
    """A task for the contact is marked complete."""

    type = "task_completed"
    label = "Task completed"
    help = "Satisfied when a task for the contact is completed."
    icon = "check-square"
    group = "Tasks"
    Config = TaskCompletedConfig
    event_types = frozenset({"task_completed"})

    def index_key(self, config: Cfg) -> EventKey:
        return ("task_completed",)

    @classmethod
    def keys_for_event(cls, event: Mapping[str, t.Any]) -> list[EventKey]:
        return [("task_completed",)] if event.get("type") == "task_completed" else []

    def matches(self, config: Cfg, event: Mapping[str, t.Any]) -> bool:
        if event.get("type") != "task_completed":
            return False
        needle = self.parse(config).title_contains
        if not needle:
            return True
        return needle.casefold() in str(event.get("title") or "").casefold()

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        needle = self.parse(config).title_contains
        return f"Task containing “{short(needle, 30)}” completed" if needle else "Any task completed"


class PurchaseConfig(ConfigModel):
    product: str | None = Field(
        None, title="Product", description="Only this product (case-insensitive); empty = any."
    )


class PurchaseEvent(InboundEvent):
    product: str | None = Field(None, max_length=200, description="What was bought (empty: unknown).")
    data: dict[str, t.Any] = Field(default_factory=dict)


@register_goal
class Purchase(GoalType[PurchaseConfig]):
    """The contact makes a purchase."""

    type = "purchase"
    label = "Purchase"
    help = "Satisfied when the contact buys (any product, or the named one)."
    icon = "shopping-cart"
    group = "Commerce"
    Config = PurchaseConfig
    event_types = frozenset({"purchase"})
    inbound_event = PurchaseEvent

    def index_key(self, config: Cfg) -> EventKey:
        return ("purchase",)

    @classmethod
    def keys_for_event(cls, event: Mapping[str, t.Any]) -> list[EventKey]:
        return [("purchase",)] if event.get("type") == "purchase" else []

    def matches(self, config: Cfg, event: Mapping[str, t.Any]) -> bool:
        if event.get("type") != "purchase":
            return False
        product = self.parse(config).product
        if not product:
            return True
        return product.casefold() == str(event.get("product") or "").casefold()

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        product = self.parse(config).product
        return f"Bought {short(product)}" if product else "Any purchase"


# --- stage_overdue -----------------------------------------------------------


class StageOverdueConfig(ConfigModel):
    stage_id: int = Field(title="Stage", json_schema_extra={
        "widget": "stage", "hint": "Choose the stage whose overdue deals this goal watches"})


@register_goal
class StageOverdue(GoalType[StageOverdueConfig]):
    """An opportunity stays in a stage past the stage's target days."""

    type = "stage_overdue"
    label = "Stage overdue"
    help = "Satisfied when an opportunity has been in the stage longer than its target days."
    icon = "clock-alert"
    group = "Opportunities"
    Config = StageOverdueConfig
    event_types = frozenset({"stage_overdue"})

    def index_key(self, config: Cfg) -> EventKey:
        return ("stage_overdue", self.parse(config).stage_id)

    @classmethod
    def keys_for_event(cls, event: Mapping[str, t.Any]) -> list[EventKey]:
        stage = _int(event.get("stage_id"))
        if event.get("type") != "stage_overdue" or stage is None:
            return []
        return [("stage_overdue", stage)]

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"Overdue in {stage_label(names, self.parse(config).stage_id)}"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        return stage_issues(refs, self.parse(config).stage_id, None)
