"""The node catalog: every goal and step type, and its JSON for the canvas.

Invariants:
    * Importing this package registers every built-in type exactly once.
    * ``catalog_json()`` is derived entirely from the registered classes, so a
      new type is one class (plus its test) and appears in the canvas at once.
"""

from __future__ import annotations

import typing as t

from runtime.catalog import goals as goals  # noqa: F401 - registers goal types
from runtime.catalog import steps as steps  # noqa: F401 - registers step types
from runtime.catalog.base import GOAL_TYPES
from runtime.catalog.base import STEP_TYPES
from runtime.catalog.base import ActionStep
from runtime.catalog.base import EventKey
from runtime.catalog.base import GoalType
from runtime.catalog.base import Issue
from runtime.catalog.base import NodeType
from runtime.catalog.base import Refs
from runtime.catalog.base import StepContext
from runtime.catalog.base import StepType
from runtime.catalog.base import TimerStep
from runtime.catalog.base import event_keys
from runtime.catalog.base import goal_type
from runtime.catalog.base import register_goal
from runtime.catalog.base import register_step
from runtime.catalog.base import step_type
from runtime.merge import merge_fields_json


def catalog_json() -> dict[str, t.Any]:
    """Return ``{"goals", "steps", "merge_fields"}`` for ``GET /api/v1/catalog``."""
    return {
        "goals": [g.to_json() for g in GOAL_TYPES.values()],
        "steps": [s.to_json() for s in STEP_TYPES.values()],
        "merge_fields": merge_fields_json(),
    }


__all__ = [
    "GOAL_TYPES",
    "STEP_TYPES",
    "ActionStep",
    "EventKey",
    "GoalType",
    "Issue",
    "NodeType",
    "Refs",
    "StepContext",
    "StepType",
    "TimerStep",
    "catalog_json",
    "event_keys",
    "goal_type",
    "register_goal",
    "register_step",
    "step_type",
]
