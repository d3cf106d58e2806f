"""Validation findings, the diff a publish makes, run migration, published versions."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from builder.schemas.common import IsoTimestamp
from builder.schemas.common import Out
from builder.schemas.common import only_when
from builder.schemas.graphs import GraphOut
from runtime.graphs.catalog.issues import Severity

CampaignStatus = Literal["draft", "live", "paused", "archived"]


class IssueOut(Out):
    """A validation finding, on a node and maybe one of its steps; errors block publishing, warnings advise."""

    node_id: str | None
    step_id: str | None
    code: str
    message: str
    severity: Severity
    field: str | SkipJsonSchema[None] = only_when("Only when the finding is about one config field: its key.")
    branch_id: str | SkipJsonSchema[None] = only_when("Only when it is about one path of a decision or split.")
    rule: str | SkipJsonSchema[None] = only_when('Only for a rule problem: where in the rules ("all.1.any.0").')


class ValidationOut(Out):
    """Whether the graph may be published, and why not."""

    valid: bool
    errors: list[IssueOut]
    warnings: list[IssueOut]


class DraftSavedOut(ValidationOut):
    """The saved draft's findings, and whether publishing it would change what contacts go through."""

    has_unpublished_changes: bool


class DiffEntryOut(Out):
    """A node or step added, removed or changed."""

    node_id: str = Field(description="The node (for a step: its sequence).")
    kind: Literal["goal", "sequence", "decision", "split", "step", "branch"]
    type: str | None = Field(description="The goal or step type (null for a sequence, decision, split or path).")
    name: str = Field(description="The node's name (for a step: its sequence's).")
    contacts: int = Field(description="On a removed node or step: the contacts sitting there, whose runs stop.")
    step_id: str | SkipJsonSchema[None] = only_when("Only on step entries.")
    changes: list[str] | SkipJsonSchema[None] = only_when(
        "Only on changed entries: what changed (name, type, config, steps, mode, otherwise, branches; "
        "for a path: label, rules, weight, order).")
    branch_id: str | SkipJsonSchema[None] = only_when("Only on path entries: the path's id.")
    label: str | SkipJsonSchema[None] = only_when("Only on path entries: the path's label.")


class DiffChangesOut(Out):
    """Entries added, removed and changed."""

    added: list[DiffEntryOut]
    removed: list[DiffEntryOut]
    changed: list[DiffEntryOut]


class EdgeRefOut(Out):
    """An edge by its ends (and its path, leaving a decision or split)."""

    source: str
    target: str
    branch: str | SkipJsonSchema[None] = only_when("Only on an edge leaving a decision or split.")


class EdgeChangesOut(Out):
    """Edges added and removed."""

    added: list[EdgeRefOut]
    removed: list[EdgeRefOut]


class DiffOut(Out):
    """What publishing changes versus the live version (behaviour only: positions and notes do not count)."""

    empty: bool
    nodes: DiffChangesOut
    steps: DiffChangesOut
    branches: DiffChangesOut = Field(description="Paths of decisions and splits added, removed or changed.")
    edges: EdgeChangesOut


class MigrationOut(Out):
    """What happened to the runs in flight: moved to the new version, stopped (their sequence is gone), remapped."""

    moved: int
    stopped: int
    remapped: int = Field(description="Runs moved to another step index because steps were added or removed.")
    stopped_by_node: dict[str, int] = Field(description="Stopped runs by removed sequence node id.")
    stopped_by_branch: dict[str, int] = Field(description='Stopped runs by removed path, keyed "node id/path id".')


class PublishOut(Out):
    """The new live version."""

    version: int
    diff: DiffOut
    migration: MigrationOut
    warnings: list[IssueOut]
    status: CampaignStatus


class PublishPreviewOut(Out):
    """What publishing would change (dry_run=true): nothing is stored."""

    dry_run: Literal[True]
    diff: DiffOut
    warnings: list[IssueOut]


class VersionOut(Out):
    """A published version (immutable), newest first."""

    number: int
    published_at: IsoTimestamp
    published_by_id: int | None
    rolled_back_from: int | None = Field(description="The version whose graph a rollback published again.")


class VersionDetailOut(VersionOut):
    """A published version with its graph."""

    graph: GraphOut
