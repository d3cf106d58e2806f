"""Base classes, registry and shared protocols of the node catalog.

Invariants:
    * One small class per goal or step type, registered once by the
      :func:`register_goal` / :func:`register_step` decorators; a type name is
      unique within its registry.
    * A type's ``Config`` pydantic model is the single source of truth for its
      configuration: it validates drafts, and the canvas form fields are
      derived from it (:meth:`NodeType.fields`).
    * Catalog code is pure: it never touches a database, Flask or the network.
      Actions reach the world only through the :class:`StepContext` protocol,
      which the step loop (and the simulator) implement.
    * Methods accept a config either as a plain mapping (as stored in the
      graph JSON or the compiled campaign, possibly frozen) or as an instance
      of the type's ``Config`` model.
"""

from __future__ import annotations

import builtins
import typing as t
from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import ValidationError

from runtime.graphs.catalog.fields import field_specs
from runtime.graphs.catalog.fields import merge_text_fields
from runtime.graphs.catalog.fields import thaw
from runtime.graphs.catalog.issues import Issue
from runtime.graphs.catalog.ports import NO_NAMES
from runtime.graphs.catalog.ports import Names
from runtime.graphs.catalog.ports import Refs
from runtime.graphs.catalog.ports import StepContext

# --- node types --------------------------------------------------------------

C = t.TypeVar("C", bound=BaseModel)


class NodeType(t.Generic[C]):
    """Behaviour shared by goal and step types; subclasses set the class vars."""

    type: t.ClassVar[str]
    label: t.ClassVar[str]
    help: t.ClassVar[str]
    icon: t.ClassVar[str]
    group: t.ClassVar[str]
    Config: builtins.type[C]  # `type` is shadowed by the class variable above

    def parse(self, config: Mapping[str, t.Any] | BaseModel) -> C:
        """Validate ``config`` into the type's ``Config`` model.

        Raises:
            pydantic.ValidationError: the config is incomplete or ill-typed.
        """
        model: builtins.type[C] = self.Config
        if isinstance(config, model):
            return config
        data: object = config
        if isinstance(config, BaseModel):
            data = config.model_dump(by_alias=True)
        elif type(config) is not dict:  # frozen (compiled) configs need thawing
            data = thaw(config)
        return model.model_validate(data)

    def summary(self, config: Mapping[str, t.Any] | BaseModel, names: Names = NO_NAMES) -> str:
        """Return the one-line human summary shown on the canvas node (config must parse)."""
        return self.label

    def describe(self, config: Mapping[str, t.Any] | BaseModel, names: Names = NO_NAMES) -> str:
        """`summary`, or "" while the config is incomplete (the canvas shows "Not configured yet")."""
        try:
            return self.summary(config, names)
        except ValidationError:
            return ""

    def check_refs(self, config: Mapping[str, t.Any] | BaseModel, refs: Refs) -> list[Issue]:
        """Return issues for referenced pipelines, stages, users or tags that don't exist.

        The issues carry no node/step id; validation fills them in.
        """
        return []

    def check_values(self, config: Mapping[str, t.Any] | BaseModel) -> list[Issue]:
        """Return semantic issues the schema cannot express (e.g. URL scheme)."""
        return []

    def merge_texts(self, config: Mapping[str, t.Any] | BaseModel) -> list[tuple[str, str]]:
        """Return ``(field name, text)`` pairs that may contain merge fields."""
        parsed = self.parse(config)
        out: list[tuple[str, str]] = []
        for name in merge_text_fields(self.Config):
            value = getattr(parsed, name, None)
            if isinstance(value, str):
                out.append((name, value))
        return out

    @classmethod
    def fields(cls) -> list[dict[str, t.Any]]:
        """Return the canvas form fields derived from ``Config``."""
        return field_specs(cls.Config)

    def to_json(self) -> dict[str, t.Any]:
        """Return the catalog entry served at ``GET /api/v1/catalog``."""
        return {
            "type": self.type,
            "label": self.label,
            "help": self.help,
            "icon": self.icon,
            "group": self.group,
            "fields": self.fields(),
        }


class InboundEvent(BaseModel):
    """Base of the fields an outside system reports with an event (unknown keys refused)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


EventKey = tuple[t.Any, ...]


class GoalType(NodeType[C]):
    """A goal: something a contact does or that happens to them."""

    #: Domain event types (``event["type"]``) that can satisfy this goal.
    event_types: t.ClassVar[frozenset[str]] = frozenset()
    #: The fields of the event an outside system reports for this goal
    #: (``POST /api/v1/events``); None when only the CRM records its event.
    inbound_event: t.ClassVar[builtins.type[BaseModel] | None] = None

    def index_key(self, config: Mapping[str, t.Any] | BaseModel) -> EventKey:
        """Return this goal's key in the compiled goal index."""
        raise NotImplementedError

    @classmethod
    def keys_for_event(cls, event: Mapping[str, t.Any]) -> list[EventKey]:
        """Return the goal-index keys a domain event can hit (empty if none)."""
        return []

    def matches(self, config: Mapping[str, t.Any] | BaseModel, event: Mapping[str, t.Any]) -> bool:
        """Final check after an index hit (scope filters such as pipeline or title)."""
        return self.index_key(config) in self.keys_for_event(event)


class StepType(NodeType[C]):
    """A sequence step: a timer or an action."""

    kind: t.ClassVar[t.Literal["timer", "action"]]
    #: The outbox kind an action enqueues (delivered by that kind's transport), if any.
    outbox_kind: t.ClassVar[str | None] = None

    def to_json(self) -> dict[str, t.Any]:
        """Return the catalog entry, including the step ``kind`` and its outbox kind."""
        data = super().to_json()
        data["kind"] = self.kind
        data["outbox_kind"] = self.outbox_kind
        return data


class ActionStep(StepType[C]):
    """A step with an effect, performed through exactly one StepContext method."""

    kind: t.ClassVar[t.Literal["timer", "action"]] = "action"

    def execute(self, ctx: StepContext, config: Mapping[str, t.Any] | BaseModel) -> None:
        """Perform the step's effect for ``ctx.contact_id``."""
        raise NotImplementedError


class TimerStep(StepType[C]):
    """A step that waits; the step loop parks the run until ``due_at``."""

    kind: t.ClassVar[t.Literal["timer", "action"]] = "timer"

    def due_at(self, ctx: StepContext, config: Mapping[str, t.Any] | BaseModel) -> datetime | None:
        """Return when the run may continue (aware UTC), or None to continue now."""
        raise NotImplementedError


# --- registry ----------------------------------------------------------------

GOAL_TYPES: dict[str, GoalType[t.Any]] = {}
STEP_TYPES: dict[str, StepType[t.Any]] = {}
_GOALS_BY_EVENT: dict[str, list[GoalType[t.Any]]] = {}

G = t.TypeVar("G", bound=type[GoalType[t.Any]])
S = t.TypeVar("S", bound=type[StepType[t.Any]])


def register_goal(cls: G) -> G:
    """Class decorator: add a goal type to the registry (one instance per type)."""
    if cls.type in GOAL_TYPES:
        raise ValueError(f"goal type {cls.type!r} registered twice")
    instance = cls()
    GOAL_TYPES[cls.type] = instance
    for event_type in cls.event_types:
        _GOALS_BY_EVENT.setdefault(event_type, []).append(instance)
    return cls


def register_step(cls: S) -> S:
    """Class decorator: add a step type to the registry (one instance per type)."""
    if cls.type in STEP_TYPES:
        raise ValueError(f"step type {cls.type!r} registered twice")
    STEP_TYPES[cls.type] = cls()
    return cls


def unregister(name: str) -> None:
    """Remove a goal or step type from the registry (tests that register their own)."""
    goal = GOAL_TYPES.pop(name, None)
    if goal is not None:
        for goals in _GOALS_BY_EVENT.values():
            if goal in goals:
                goals.remove(goal)
    STEP_TYPES.pop(name, None)


def inbound_event_types() -> dict[str, builtins.type[BaseModel]]:
    """Event type → the fields an outside system must report, from every goal type that takes one."""
    out: dict[str, builtins.type[BaseModel]] = {}
    for goal in GOAL_TYPES.values():
        if goal.inbound_event is not None:
            for event_type in goal.event_types:
                out[event_type] = goal.inbound_event
    return out


def goal_type(name: str) -> GoalType[t.Any]:
    """Return the registered goal type ``name``.

    Raises:
        KeyError: no such goal type.
    """
    return GOAL_TYPES[name]


def step_type(name: str) -> StepType[t.Any]:
    """Return the registered step type ``name``.

    Raises:
        KeyError: no such step type.
    """
    return STEP_TYPES[name]


def event_keys(event: Mapping[str, t.Any]) -> list[EventKey]:
    """Return every goal-index key a domain event can hit, across all goal types."""
    keys: list[EventKey] = []
    for goal in _GOALS_BY_EVENT.get(str(event.get("type")), ()):
        for key in goal.keys_for_event(event):
            if key not in keys:
                keys.append(key)
    return keys
