"""What publishing a new version changes: nodes and steps added, removed, changed.

Invariants:
    * Only behaviour counts: goals, sequences, decisions and splits (never
      notes), their names, types, configs, step lists, modes and paths (rules,
      labels, weights), and the edges between them (with the path they
      continue). Positions and ``ui`` data are ignored.
    * Nodes and steps are matched by id (steps within their sequence), so a
      renamed node is "changed", not "removed + added".
    * Paths are matched by id within their node, so a relabelled path is
      "changed", not "removed + added".
    * ``contacts`` on entries is 0 here; the runtime fills in how many
      contacts sat on a removed node, step or path when it migrates them.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from dataclasses import field

from runtime.graphs.graph import CampaignGraph
from runtime.graphs.graph import DecisionNode
from runtime.graphs.graph import GoalNode
from runtime.graphs.graph import SequenceNode
from runtime.graphs.graph import SplitNode
from runtime.graphs.graph import Step

Flow = GoalNode | SequenceNode | DecisionNode | SplitNode


class EdgeKey(t.NamedTuple):
    """An edge as the diff compares it: its ends and the path it continues (None for plain edges)."""

    source: str
    target: str
    branch: str | None = None

    def to_json(self) -> dict[str, str]:
        """``{source, target}`` plus ``branch`` when set."""
        out = {"source": self.source, "target": self.target}
        if self.branch is not None:
            out["branch"] = self.branch
        return out


@dataclass
class DiffEntry:
    """One added, removed or changed node or step."""

    node_id: str
    kind: str  # "goal" | "sequence" | "decision" | "split" | "step" | "branch"
    type: str | None
    name: str
    step_id: str | None = None
    #: for changed entries: "name", "type", "config", "steps", "mode", "otherwise", "branches";
    #: for a changed path: "label", "rules", "weight", "order"
    changes: tuple[str, ...] = ()
    contacts: int = 0
    branch_id: str | None = None
    label: str | None = None

    def to_json(self) -> dict[str, t.Any]:
        """Return the entry as a JSON object (``step_id``/``changes``/``branch_id``/``label`` only when set)."""
        out: dict[str, t.Any] = {
            "node_id": self.node_id,
            "kind": self.kind,
            "type": self.type,
            "name": self.name,
            "contacts": self.contacts,
        }
        if self.step_id is not None:
            out["step_id"] = self.step_id
        if self.branch_id is not None:
            out["branch_id"] = self.branch_id
            out["label"] = self.label
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
    branches_added: list[DiffEntry] = field(default_factory=list)
    branches_removed: list[DiffEntry] = field(default_factory=list)
    branches_changed: list[DiffEntry] = field(default_factory=list)
    edges_added: list[EdgeKey] = field(default_factory=list)
    edges_removed: list[EdgeKey] = field(default_factory=list)

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
                self.branches_added,
                self.branches_removed,
                self.branches_changed,
                self.edges_added,
                self.edges_removed,
            )
        )

    def to_json(self) -> dict[str, t.Any]:
        """Return ``{empty, nodes: {added, removed, changed}, steps: {...}, branches: {...}, edges: {...}}``."""

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
            "branches": {
                "added": entries(self.branches_added),
                "removed": entries(self.branches_removed),
                "changed": entries(self.branches_changed),
            },
            "edges": {
                "added": [e.to_json() for e in self.edges_added],
                "removed": [e.to_json() for e in self.edges_removed],
            },
        }


def _flow_nodes(graph: CampaignGraph | None) -> dict[str, Flow]:
    if graph is None:
        return {}
    out: dict[str, Flow] = {}
    for node in graph.nodes:
        if isinstance(node, (GoalNode, SequenceNode, DecisionNode, SplitNode)):
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


_Path = tuple[str, str, dict[str, t.Any]]  # id, label, what else defines it (rules or weight)


def _paths(node: DecisionNode | SplitNode) -> list[_Path]:
    if isinstance(node, DecisionNode):
        paths: list[_Path] = [(b.id, b.label, {"rules": b.rules}) for b in node.branches]
        if node.otherwise:
            paths.append(("otherwise", "Otherwise", {}))
        return paths
    return [(b.id, b.label, {"weight": b.weight}) for b in node.branches]


def _branch_entry(node: DecisionNode | SplitNode, path: _Path, changes: tuple[str, ...] = ()) -> DiffEntry:
    return DiffEntry(node.id, "branch", node.kind, node.name, changes=changes, branch_id=path[0],
                     label=path[1] or path[0])


def _diff_paths(old: DecisionNode | SplitNode, new: DecisionNode | SplitNode, diff: GraphDiff) -> bool:
    """Record path changes of one decision or split; return True if anything differs."""
    before = {p[0]: p for p in _paths(old)}
    after = {p[0]: p for p in _paths(new)}
    changed = False
    for path_id, path in before.items():
        if path_id not in after:
            diff.branches_removed.append(_branch_entry(old, path))
            changed = True
    for path_id, path in after.items():
        was = before.get(path_id)
        if was is None:
            diff.branches_added.append(_branch_entry(new, path))
            changed = True
            continue
        what = tuple(name for name, differs in (("label", was[1] != path[1]),
                                                ("rules", was[2].get("rules") != path[2].get("rules")),
                                                ("weight", was[2].get("weight") != path[2].get("weight"))) if differs)
        if what:
            diff.branches_changed.append(_branch_entry(new, path, what))
            changed = True
    kept_old = [p for p in before if p in after]
    kept_new = [p for p in after if p in before]
    return changed or kept_old != kept_new  # reordered paths change which one "first" takes


def _edges(graph: CampaignGraph | None, nodes: dict[str, Flow]) -> set[EdgeKey]:
    if graph is None:
        return set()
    return {EdgeKey(e.source, e.target, e.branch) for e in graph.edges if e.source in nodes and e.target in nodes}


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
        gone = before[node_id]
        if isinstance(gone, (DecisionNode, SplitNode)):
            diff.branches_removed += [_branch_entry(gone, path) for path in _paths(gone)]
    for node_id in sorted(after.keys() - before.keys()):
        diff.nodes_added.append(_entry(after[node_id]))
        node = after[node_id]
        if isinstance(node, (DecisionNode, SplitNode)):
            diff.branches_added += [_branch_entry(node, path) for path in _paths(node)]
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
        elif isinstance(a, DecisionNode) and isinstance(b, DecisionNode):
            changes += [name for name, differs in (("mode", a.mode != b.mode),
                                                   ("otherwise", a.otherwise != b.otherwise)) if differs]
            if _diff_paths(a, b, diff):
                changes.append("branches")
        elif isinstance(a, SplitNode) and isinstance(b, SplitNode):
            if _diff_paths(a, b, diff):
                changes.append("branches")
        else:  # the id now names a node of another kind: treat as replaced
            diff.nodes_removed.append(_entry(a))
            diff.nodes_added.append(_entry(b))
            if isinstance(a, (DecisionNode, SplitNode)):
                diff.branches_removed += [_branch_entry(a, path) for path in _paths(a)]
            if isinstance(b, (DecisionNode, SplitNode)):
                diff.branches_added += [_branch_entry(b, path) for path in _paths(b)]
            continue
        if changes:
            diff.nodes_changed.append(_entry(b, tuple(changes)))
    old_edges, new_edges = _edges(old, before), _edges(new, after)
    diff.edges_added = sorted(new_edges - old_edges, key=lambda e: (e.source, e.target, e.branch or ""))
    diff.edges_removed = sorted(old_edges - new_edges, key=lambda e: (e.source, e.target, e.branch or ""))
    return diff
