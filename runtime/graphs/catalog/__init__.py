"""The node catalog: every goal and step type, and its JSON for the canvas.

Invariants:
    * Importing this package registers every built-in type exactly once.
    * ``catalog_json()`` is derived entirely from the registered classes, so a
      new type is one class (plus its test) and appears in the canvas at once.
"""

from __future__ import annotations

import typing as t

# Importing the type modules registers their classes (the palette groups them by `group`).
from runtime.graphs.catalog import channel_steps as channel_steps  # noqa: F401
from runtime.graphs.catalog import contact_steps as contact_steps  # noqa: F401
from runtime.graphs.catalog import crm_steps as crm_steps  # noqa: F401
from runtime.graphs.catalog import goals as goals  # noqa: F401
from runtime.graphs.catalog import outcome_goals as outcome_goals  # noqa: F401
from runtime.graphs.catalog import timer_steps as timer_steps  # noqa: F401
from runtime.graphs.catalog.base import GOAL_TYPES
from runtime.graphs.catalog.base import STEP_TYPES
from runtime.graphs.catalog.base import ActionStep
from runtime.graphs.catalog.base import EventKey
from runtime.graphs.catalog.base import GoalType
from runtime.graphs.catalog.base import InboundEvent
from runtime.graphs.catalog.base import NodeType
from runtime.graphs.catalog.base import StepType
from runtime.graphs.catalog.base import TimerStep
from runtime.graphs.catalog.base import event_keys
from runtime.graphs.catalog.base import goal_type
from runtime.graphs.catalog.base import inbound_event_types
from runtime.graphs.catalog.base import register_goal
from runtime.graphs.catalog.base import register_step
from runtime.graphs.catalog.base import step_type
from runtime.graphs.catalog.base import unregister
from runtime.graphs.catalog.branching import branching_json
from runtime.graphs.catalog.branching import rules_summary
from runtime.graphs.catalog.issues import Issue
from runtime.graphs.catalog.ports import NO_NAMES
from runtime.graphs.catalog.ports import Names
from runtime.graphs.catalog.ports import Refs
from runtime.graphs.catalog.ports import StepContext
from runtime.graphs.merge import merge_fields_json

#: The summary item type of a decision path's rules.
RULES_ITEM = "rules"


def summarize_items(items: t.Iterable[t.Mapping[str, t.Any]], names: Names = NO_NAMES) -> dict[str, str]:
    """Summaries of ``[{key, type, config}]`` goal or step configs → ``{key: text}``.

    Unknown types and incomplete configs summarise as "" (the canvas shows
    "Not configured yet"). The type ``rules`` summarises a decision path's
    ``config["rules"]`` ("Tags has “vip” and Deal stage is Qualified").
    """
    out: dict[str, str] = {}
    for item in items:
        if item["type"] == RULES_ITEM:
            out[str(item["key"])] = rules_summary((item.get("config") or {}).get("rules"), names)
            continue
        kind = GOAL_TYPES.get(item["type"]) or STEP_TYPES.get(item["type"])
        out[str(item["key"])] = kind.describe(item.get("config") or {}, names) if kind else ""
    return out


def catalog_json() -> dict[str, t.Any]:
    """Return the catalog for ``GET /api/v1/catalog``: goals, steps, merge fields, branching kinds, rule fields."""
    return {
        "goals": [g.to_json() for g in GOAL_TYPES.values()],
        "steps": [s.to_json() for s in STEP_TYPES.values()],
        "merge_fields": merge_fields_json(),
        **branching_json(),
    }


__all__ = [
    "GOAL_TYPES",
    "STEP_TYPES",
    "ActionStep",
    "EventKey",
    "GoalType",
    "InboundEvent",
    "Issue",
    "Names",
    "NodeType",
    "Refs",
    "StepContext",
    "StepType",
    "TimerStep",
    "catalog_json",
    "event_keys",
    "goal_type",
    "inbound_event_types",
    "register_goal",
    "register_step",
    "step_type",
    "summarize_items",
    "unregister",
]
