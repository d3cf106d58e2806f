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
      which the engine implements.
    * Methods accept a config either as a plain mapping (as stored in the
      graph JSON or the compiled campaign, possibly frozen) or as an instance
      of the type's ``Config`` model.
"""

from __future__ import annotations

import builtins
import functools
import types
import typing as t
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

Severity = t.Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One validation finding, located on a node and optionally a step."""

    node_id: str | None
    step_id: str | None
    code: str
    message: str
    severity: Severity = "error"

    def to_json(self) -> dict[str, t.Any]:
        """Return the API form ``{node_id, step_id, code, message, severity}``."""
        return {
            "node_id": self.node_id,
            "step_id": self.step_id,
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
        }


@t.runtime_checkable
class Refs(t.Protocol):
    """What validation needs to know about the CRM: do referenced things exist."""

    def pipeline_exists(self, pipeline_id: int) -> bool: ...

    def stage_pipeline(self, stage_id: int) -> int | None: ...

    def user_exists(self, user_id: int) -> bool: ...

    def tag_exists(self, tag: str) -> bool: ...


@t.runtime_checkable
class Names(t.Protocol):
    """Display names for ids in configs, so summaries read "Moved into Qualified", not "stage #2"."""

    def stage(self, stage_id: int) -> tuple[str, str] | None:
        """(stage name, pipeline name), or None for an unknown stage."""
        ...

    def pipeline(self, pipeline_id: int) -> str | None: ...

    def user(self, user_id: int) -> str | None: ...


class NoNames:
    """Names that knows no names: summaries fall back to ids ("stage #2")."""

    def stage(self, stage_id: int) -> tuple[str, str] | None:
        return None

    def pipeline(self, pipeline_id: int) -> str | None:
        return None

    def user(self, user_id: int) -> str | None:
        return None


NO_NAMES = NoNames()


def stage_label(names: Names, stage_id: int) -> str:
    """A stage's name, or "stage #id" when unknown."""
    found = names.stage(stage_id)
    return found[0] if found else f"stage #{stage_id}"


def person_label(names: Names, user: object) -> str:
    """'the owner', 'round robin', a user's name, or "user #id"."""
    if user == "owner":
        return "the owner"
    if user == "round_robin":
        return "round robin"
    if isinstance(user, int) and not isinstance(user, bool):
        return names.user(user) or f"user #{user}"
    return str(user)


def short(text: str, limit: int = 40) -> str:
    """One line of at most `limit` characters (an ellipsis marks a cut)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class StepContext(t.Protocol):
    """The engine's side of a running step: one method per kind of effect."""

    now: datetime  # aware UTC
    contact_id: int

    def render(self, template: str, *, html: bool = False) -> str: ...

    def apply_tag(self, tag: str) -> None: ...

    def remove_tag(self, tag: str) -> None: ...

    def create_task(
        self, title: str, description: str, assignee: str | int, due_in_days: int
    ) -> None: ...

    def create_note(self, body: str) -> None: ...

    def create_opportunity(
        self, pipeline_id: int, stage_id: int, title: str, value: float | None
    ) -> None: ...

    def move_opportunity(self, stage_id: int) -> None: ...

    def assign_owner(self, user: str | int) -> None: ...

    def set_field(self, field: str, value: object) -> None: ...

    def notify_user(self, user: str | int, message: str) -> None: ...

    def enqueue(self, kind: str, payload: dict[str, t.Any]) -> None:
        """Queue an outside effect for the transport registered for `kind` (once per run and step)."""
        ...

    def contact_field(self, name: str) -> object: ...

    def timezone(self, which: str) -> ZoneInfo: ...


class ConfigModel(BaseModel):
    """Base of every ``Config`` model: unknown keys are configuration errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def thaw(value: object) -> t.Any:
    """Return ``value`` with every mapping turned into a dict and sequence into a list.

    The compiled campaign stores configs frozen (MappingProxy / tuples); pydantic
    and JSON encoders want plain containers.
    """
    # Concrete types first: ABC isinstance checks dominate validation time.
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (dict, Mapping)):
        return {str(k): thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


# --- canvas field derivation -------------------------------------------------

# A widget hint overrides the field type derived from the annotation.
_WIDGET_TYPES: dict[str, str] = {
    "pipeline": "pipeline",
    "stage": "stage",
    "user": "user",
    "tag": "tag",
    "assignee": "assignee",
    "window": "window",
    "textarea": "text",
    "merge_text": "text",
    "weekday_set": "object",
    "date": "date",
    "datetime": "datetime",
}


def _strip_optional(annotation: t.Any) -> tuple[t.Any, bool]:
    """Split ``X | None`` into ``(X, True)``; other annotations pass through."""
    origin = t.get_origin(annotation)
    if origin in (t.Union, types.UnionType):
        args = [a for a in t.get_args(annotation) if a is not type(None)]
        nullable = len(args) != len(t.get_args(annotation))
        if len(args) == 1:
            return args[0], nullable
        return t.Union[tuple(args)], nullable  # noqa: UP007 - runtime construction
    return annotation, False


def _literal_values(annotation: t.Any) -> list[t.Any]:
    """Return every Literal value inside ``annotation`` (unions included)."""
    if t.get_origin(annotation) is t.Literal:
        return list(t.get_args(annotation))
    if t.get_origin(annotation) in (t.Union, types.UnionType):
        out: list[t.Any] = []
        for arg in t.get_args(annotation):
            out.extend(_literal_values(arg))
        return out
    return []


def _base_field_type(annotation: t.Any) -> str:
    """Map a Python annotation to a canvas field type."""
    if t.get_origin(annotation) is t.Annotated:
        annotation = t.get_args(annotation)[0]
    if t.get_origin(annotation) is t.Literal:
        return "select"
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return "integer"
    if annotation is float:
        return "number"
    if annotation is datetime:
        return "datetime"
    if annotation is date:
        return "date"
    if annotation is str:
        return "string"
    return "object"


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def field_specs(model: type[BaseModel]) -> list[dict[str, t.Any]]:
    """Derive the canvas form fields of a ``Config`` model.

    Args:
        model: a pydantic model; ``json_schema_extra`` may carry ``widget``,
            ``depends_on`` and ``option_labels``.

    Returns:
        ``[{name, label, type, required, help, default, options, ...}]`` in
        declaration order.
    """
    out: list[dict[str, t.Any]] = []
    for name, info in model.model_fields.items():
        out.append(_field_spec(name, info))
    return out


def _field_spec(name: str, info: FieldInfo) -> dict[str, t.Any]:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    inner, _nullable = _strip_optional(info.annotation)
    widget = extra.get("widget")
    ftype = _WIDGET_TYPES.get(str(widget)) if widget else None
    if ftype is None:
        ftype = _base_field_type(inner)
    elif widget == "merge_text" and not extra.get("multiline"):
        ftype = "string"
    labels = extra.get("option_labels")
    label_map: Mapping[str, t.Any] = labels if isinstance(labels, Mapping) else {}
    options = [
        {"value": v, "label": str(label_map.get(str(v), _label(str(v))))}
        for v in _literal_values(inner)
    ]
    default = info.get_default(call_default_factory=True)
    if default is PydanticUndefined:
        default = None
    elif isinstance(default, BaseModel):
        default = default.model_dump(mode="json")
    spec: dict[str, t.Any] = {
        "name": info.alias or name,
        "label": info.title or _label(info.alias or name),
        "type": ftype,
        "required": info.is_required(),
        "help": info.description or "",
        "default": default,
        "options": options,
    }
    if widget:
        spec["widget"] = widget
    if "depends_on" in extra:
        spec["depends_on"] = extra["depends_on"]
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        spec["fields"] = field_specs(inner)  # nested form, e.g. the delay window
    return spec


@functools.cache
def merge_text_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Return the attribute names of fields whose widget is ``merge_text``."""
    names: list[str] = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("widget") == "merge_text":
            names.append(name)
    return tuple(names)


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
    """A step that waits; the engine parks the run until ``due_at``."""

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


def issue(code: str, message: str, severity: Severity = "error") -> Issue:
    """Return an Issue not yet located on a node (validation fills the ids)."""
    return Issue(None, None, code, message, severity)


def stage_issues(
    refs: Refs, stage_id: int, pipeline_id: int | None, *, field: str = "stage_id"
) -> list[Issue]:
    """Check that a stage exists and, when a pipeline is given, belongs to it."""
    owner = refs.stage_pipeline(stage_id)
    if owner is None:
        return [issue("unknown_stage", f"{field}: stage {stage_id} does not exist")]
    if pipeline_id is not None and owner != pipeline_id:
        return [
            issue(
                "unknown_stage",
                f"{field}: stage {stage_id} is not in pipeline {pipeline_id}",
            )
        ]
    return []


def pipeline_issues(refs: Refs, pipeline_id: int | None) -> list[Issue]:
    """Check that a pipeline exists (None means 'any pipeline')."""
    if pipeline_id is not None and not refs.pipeline_exists(pipeline_id):
        return [issue("unknown_pipeline", f"pipeline_id: pipeline {pipeline_id} does not exist")]
    return []


def user_issues(refs: Refs, user: object, *, field: str) -> list[Issue]:
    """Check a user reference; symbolic values such as 'owner' are always fine."""
    if isinstance(user, int) and not isinstance(user, bool) and not refs.user_exists(user):
        return [issue("unknown_user", f"{field}: user {user} does not exist")]
    return []


def tag_issues(refs: Refs, tag: str) -> list[Issue]:
    """Check that a tag exists."""
    if not refs.tag_exists(tag):
        return [issue("unknown_tag", f"tag: tag {tag!r} does not exist")]
    return []


__all__ = [
    "ActionStep",
    "ConfigModel",
    "EventKey",
    "GOAL_TYPES",
    "GoalType",
    "InboundEvent",
    "Issue",
    "NodeType",
    "Refs",
    "STEP_TYPES",
    "StepContext",
    "StepType",
    "TimerStep",
    "event_keys",
    "field_specs",
    "goal_type",
    "inbound_event_types",
    "register_goal",
    "register_step",
    "step_type",
    "thaw",
    "unregister",
]
