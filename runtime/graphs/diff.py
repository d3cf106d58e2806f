"""What publishing a new version changes: nodes and steps added, removed, changed.

Invariants:
    * Only behaviour counts: goals and sequences (never notes), their names,
      types, configs and step lists, and the edges between them. Positions
      and ``ui`` data are ignored.
    * Nodes and steps are matched by id (steps within their sequence), so a
      renamed node is "changed", not "removed + added".
    * ``contacts`` on entries is 0 here; the runtime fills in how many
      contacts sat on a removed node or step when it migrates them.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from dataclasses import field

from runtime.graphs.graph import CampaignGraph
from runtime.graphs.graph import GoalNode
from runtime.graphs.graph import SequenceNode
from runtime.graphs.graph import Step

Flow = GoalNode | SequenceNode


@dataclass
class DiffEntry:
    """One added, removed or changed node or step."""

    node_id: str
    kind: str  # "goal" | "sequence" | "step"
    type: str | None
    name: str
    step_id: str | None = None
    changes: tuple[str, ...] = ()  # for changed entries: "name", "type", "config", "steps"
    contacts: int = 0

    def to_json(self) -> dict[str, t.Any]:
        """Return the entry as a JSON object (``step_id``/``changes`` only when set)."""
        out: dict[str, t.Any] = {
            "node_id": self.node_id,
            "kind": self.kind,
            "type": self.type,
            "name": self.name,
            "contacts": self.contacts,
        }
        if self.step_id is not None:
            out["step_id"] = self.step_id
        if self.changes:
            out["changes"] = list(self.changes)
        return out


@dataclass
class GraphDiff:
    """Differences between two versions of a campaign graph."""

    nodes_added: list[DiffEntry] = field(default_factory=list)
    nodes_removed: list[DiffEntry] = field(default_factory=list)
    nodes_changed: list[DiffEntry] = field(default_factory=list)
    steps_added: list[DiffEntry] = field(default_factory=list)
    steps_removed: list[DiffEntry] = field(default_factory=list)
    steps_changed: list[DiffEntry] = field(default_factory=list)
    edges_added: list[tuple[str, str]] = field(default_factory=list)
    edges_removed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Return True when nothing behavioural changed."""
        return not any(
            (
                self.nodes_added,
                self.nodes_removed,
                self.nodes_changed,
                self.steps_added,
                self.steps_removed,
                self.steps_changed,
                self.edges_added,
                self.edges_removed,
            )
        )

    def to_json(self) -> dict[str, t.Any]:
        """Return ``{empty, nodes: {added, removed, changed}, steps: {...}, edges: {...}}``."""

        def entries(items: list[DiffEntry]) -> list[dict[str, t.Any]]:
            return [e.to_json() for e in items]

        return {
            "empty": self.empty,
            "nodes": {
                "added": entries(self.nodes_added),
                "removed": entries(self.nodes_removed),
                "changed": entries(self.nodes_changed),
            },
            "steps": {
                "added": entries(self.steps_added),
                "removed": entries(self.steps_removed),
                "changed": entries(self.steps_changed),
            },
            "edges": {
                "added": [{"source": s, "target": d} for s, d in self.edges_added],
                "removed": [{"source": s, "target": d} for s, d in self.edges_removed],
            },
        }


def _flow_nodes(graph: CampaignGraph | None) -> dict[str, Flow]:
    if graph is None:
        return {}
    out: dict[str, Flow] = {}
    for node in graph.nodes:
        if isinstance(node, (GoalNode, SequenceNode)):
            out.setdefault(node.id, node)
    return out


def _entry(node: Flow, changes: tuple[str, ...] = ()) -> DiffEntry:
    type_ = node.type if isinstance(node, GoalNode) else None
    return DiffEntry(node.id, node.kind, type_, node.name, changes=changes)


def _step_entry(seq: SequenceNode, step: Step, changes: tuple[str, ...] = ()) -> DiffEntry:
    return DiffEntry(seq.id, "step", step.type, seq.name, step_id=step.id, changes=changes)


def _diff_steps(old: SequenceNode, new: SequenceNode, diff: GraphDiff) -> bool:
    """Record step changes of one sequence; return True if anything differs."""
    old_steps = {s.id: s for s in old.steps}
    new_steps = {s.id: s for s in new.steps}
    changed = False
    for step in old.steps:
        if step.id not in new_steps:
            diff.steps_removed.append(_step_entry(old, step))
            changed = True
    for step in new.steps:
        before = old_steps.get(step.id)
        if before is None:
            diff.steps_added.append(_step_entry(new, step))
            changed = True
            continue
        what = tuple(
            name
            for name, differs in (
                ("type", before.type != step.type),
                ("config", before.config != step.config),
            )
            if differs
        )
        if what:
            diff.steps_changed.append(_step_entry(new, step, what))
            changed = True
    kept_old = [s.id for s in old.steps if s.id in new_steps]
    kept_new = [s.id for s in new.steps if s.id in old_steps]
    return changed or kept_old != kept_new  # a reorder changes the sequence too


def _edges(graph: CampaignGraph | None, nodes: dict[str, Flow]) -> set[tuple[str, str]]:
    if graph is None:
        return set()
    return {(e.source, e.target) for e in graph.edges if e.source in nodes and e.target in nodes}


def diff_graphs(old: CampaignGraph | None, new: CampaignGraph) -> GraphDiff:
    """Compare two graph versions (``old`` None = first publish: all added).

    Args:
        old: the currently published graph, if any.
        new: the graph about to be published.

    Returns:
        Added/removed/changed nodes and steps, and edge changes, in id order.
    """
    before, after = _flow_nodes(old), _flow_nodes(new)
    diff = GraphDiff()
    for node_id in sorted(before.keys() - after.keys()):
        diff.nodes_removed.append(_entry(before[node_id]))
    for node_id in sorted(after.keys() - before.keys()):
        diff.nodes_added.append(_entry(after[node_id]))
    for node_id in sorted(before.keys() & after.keys()):
        a, b = before[node_id], after[node_id]
        changes: list[str] = []
        if a.name != b.name:
            changes.append("name")
        if isinstance(a, GoalNode) and isinstance(b, GoalNode):
            if a.type != b.type:
                changes.append("type")
            if a.config != b.config:
                changes.append("config")
        elif isinstance(a, SequenceNode) and isinstance(b, SequenceNode):
            if _diff_steps(a, b, diff):
                changes.append("steps")
        else:  # the id now names a node of another kind: treat as replaced
            diff.nodes_removed.append(_entry(a))
            diff.nodes_added.append(_entry(b))
            continue
        if changes:
            diff.nodes_changed.append(_entry(b, tuple(changes)))
    old_edges, new_edges = _edges(old, before), _edges(new, after)
    diff.edges_added = sorted(new_edges - old_edges)
    diff.edges_removed = sorted(old_edges - new_edges)
    return diff
