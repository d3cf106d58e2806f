"""The campaign graph as replies carry it: canonical node-link JSON (DESIGN.md §5, runtime.graphs.graph).

Stored drafts and versions are canonical (`graph_to_json`): optional keys are
left out rather than null, and whole coordinates are integers; these models
keep both, so an export re-imports byte for byte.
"""

from __future__ import annotations

from typing import Annotated
from typing import Any
from typing import Literal

from pydantic import Field
from pydantic import WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from builder.schemas.common import Out
from builder.schemas.common import only_when

Coordinate = Annotated[int | float, WithJsonSchema({"type": "number"})]
"""A pixel coordinate: an integer when whole (`int | float` keeps 80 as 80, not 80.0)."""

UI_HELP = "Canvas-only state, free-form JSON the server keeps untouched; only when set."
CONFIG_HELP = "Free-form JSON: the {what} type's settings; GET /catalog lists each type's fields."


class PositionOut(Out):
    """A node's top-left corner on the canvas, in pixels."""

    x: Coordinate
    y: Coordinate


class StepOut(Out):
    """One step of a sequence."""

    id: str
    type: str = Field(description="A step type of the catalog.")
    config: dict[str, Any] = Field(description=CONFIG_HELP.format(what="step"))
    ui: dict[str, Any] | SkipJsonSchema[None] = only_when(UI_HELP)


class GoalNodeOut(Out):
    """A goal: something a contact does or that happens to them."""

    id: str
    kind: Literal["goal"]
    type: str = Field(description="A goal type of the catalog.")
    name: str
    config: dict[str, Any] = Field(description=CONFIG_HELP.format(what="goal"))
    position: PositionOut
    ui: dict[str, Any] | SkipJsonSchema[None] = only_when(UI_HELP)


class SequenceNodeOut(Out):
    """A sequence: steps run in order."""

    id: str
    kind: Literal["sequence"]
    name: str
    steps: list[StepOut]
    position: PositionOut
    ui: dict[str, Any] | SkipJsonSchema[None] = only_when(UI_HELP)


class NoteNodeOut(Out):
    """A free-text note on the canvas (no behaviour)."""

    id: str
    kind: Literal["note"]
    text: str
    position: PositionOut
    ui: dict[str, Any] | SkipJsonSchema[None] = only_when(UI_HELP)


class DecisionBranchOut(Out):
    """One path of a decision: a label and the rules a contact must match (DESIGN.md §6.2)."""

    id: str
    label: str
    rules: dict[str, Any] = Field(description="The rule set: {all|any: [{field, op, value} | group, …]}; "
                                              "a draft may hold incomplete rules.")


class DecisionNodeOut(Out):
    """A decision diamond: paths taken first-match or all-matches, and an optional otherwise path."""

    id: str
    kind: Literal["decision"]
    name: str
    mode: Literal["first", "all"]
    otherwise: bool
    branches: list[DecisionBranchOut]
    position: PositionOut
    ui: dict[str, Any] | SkipJsonSchema[None] = only_when(UI_HELP)


class SplitBranchOut(Out):
    """One path of a split and its weight."""

    id: str
    label: str
    weight: int


class SplitNodeOut(Out):
    """A split: each contact takes one path by weight, stable per contact."""

    id: str
    kind: Literal["split"]
    name: str
    branches: list[SplitBranchOut]
    position: PositionOut
    ui: dict[str, Any] | SkipJsonSchema[None] = only_when(UI_HELP)


NodeOut = Annotated[GoalNodeOut | SequenceNodeOut | DecisionNodeOut | SplitNodeOut | NoteNodeOut,
                    Field(discriminator="kind")]


class EdgeOut(Out):
    """A connection from one node to another."""

    id: str | SkipJsonSchema[None] = only_when("Only when the edge was given an id.")
    source: str
    target: str
    branch: str | SkipJsonSchema[None] = only_when("Only on an edge leaving a decision or split: its path's id "
                                                   "(or \"otherwise\").")
    ui: dict[str, Any] | SkipJsonSchema[None] = only_when(UI_HELP)


class GraphOut(Out):
    """A campaign graph: nodes sorted by id, edges by (source, target)."""

    nodes: list[NodeOut]
    edges: list[EdgeOut]
    ui: dict[str, Any] | SkipJsonSchema[None] = only_when(UI_HELP)
