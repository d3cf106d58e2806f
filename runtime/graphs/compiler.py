"""Compile a validated campaign graph into the lookup tables the runtime runs on.

Invariants:
    * Input is a graph that :func:`runtime.graphs.validation.validate` accepted;
      on such a graph :func:`compile_graph` never raises. (It still refuses
      cycles, unknown types and invalid configs with :class:`CompileError`
      rather than producing nonsense.)
    * The result is deeply immutable (tuples, frozensets, MappingProxy) and
      round-trips through plain JSON (``to_json`` / ``from_json``), so it is
      stored with the published version and loaded without recompiling.
    * ``stops[g]`` equals ``nx.ancestors(flow, g)`` restricted to sequences:
      satisfying a goal stops exactly the sequences before it (seed rule 2),
      through decisions and splits alike.
    * ``after_goal`` and ``next_sequences`` list what a contact moves on to
      (sequences, decisions and splits); ``branch_targets[d][b]`` is where path
      ``b`` of decision or split ``d`` leads (a path may lead nowhere).
    * Format 2 added decisions and splits; a stored format 1 campaign (which
      has neither) still loads.
    * Notes play no part; tuples of node ids are sorted by id, steps keep
      their canvas order.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from types import MappingProxyType

import networkx as nx
from pydantic import BaseModel
from pydantic import ValidationError

from runtime.graphs.branches import DecisionSpec
from runtime.graphs.branches import SplitSpec
from runtime.graphs.branches import decision_spec
from runtime.graphs.branches import split_spec
from runtime.graphs.catalog import GOAL_TYPES
from runtime.graphs.catalog import STEP_TYPES
from runtime.graphs.catalog import event_keys
from runtime.graphs.graph import CampaignGraph
from runtime.graphs.graph import DecisionNode
from runtime.graphs.graph import GoalNode
from runtime.graphs.graph import SequenceNode
from runtime.graphs.graph import SplitNode
from runtime.graphs.rules import RuleError

FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)

IndexKey = tuple[t.Any, ...]


class CompileError(ValueError):
    """The graph is not publishable (validate it first)."""


_SCALARS = (str, int, float, bool, type(None))


def freeze(value: object) -> t.Any:
    """Return an immutable deep copy: dicts → MappingProxy, lists → tuples."""
    # Concrete types first (ABC isinstance checks are slow at this scale), and
    # a flat dict of scalars — most configs — is copied without recursion.
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (dict, Mapping)):
        copied = {str(k): v for k, v in value.items()}
        for key, item in copied.items():
            if not isinstance(item, _SCALARS):
                copied[key] = freeze(item)
        return MappingProxyType(copied)
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def _thaw(value: object) -> t.Any:
    if isinstance(value, Mapping):
        return {str(k): _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class GoalSpec:
    """A goal as goal matching needs it."""

    type: str
    name: str
    config: Mapping[str, t.Any]


@dataclass(frozen=True)
class StepSpec:
    """One step of a compiled sequence."""

    id: str
    type: str
    config: Mapping[str, t.Any]


@dataclass(frozen=True)
class SequenceSpec:
    """A compiled sequence: its name and ordered steps."""

    name: str
    steps: tuple[StepSpec, ...]

    def step_index(self, step_id: str) -> int | None:
        """Return the position of ``step_id``, or None if the step is gone."""
        for index, step in enumerate(self.steps):
            if step.id == step_id:
                return index
        return None


def _proxy(d: dict[t.Any, t.Any]) -> Mapping[t.Any, t.Any]:
    return MappingProxyType(d)


@dataclass(frozen=True)
class CompiledCampaign:
    """Immutable lookup tables for one published campaign version."""

    goal_index: Mapping[IndexKey, tuple[str, ...]]
    entry_goals: frozenset[str]
    stops: Mapping[str, frozenset[str]]
    after_goal: Mapping[str, tuple[str, ...]]
    next_sequences: Mapping[str, tuple[str, ...]]
    sequence_goals: Mapping[str, tuple[str, ...]]
    sequences: Mapping[str, SequenceSpec]
    goals: Mapping[str, GoalSpec]
    decisions: Mapping[str, DecisionSpec] = field(default_factory=lambda: _proxy({}))
    splits: Mapping[str, SplitSpec] = field(default_factory=lambda: _proxy({}))
    branch_targets: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: _proxy({}))
    # Parsed goal configs, filled lazily by goals_for_event; not part of equality.
    _parsed: dict[str, BaseModel] = field(default_factory=dict, compare=False, repr=False)

    def goals_for_event(self, event: Mapping[str, t.Any]) -> tuple[str, ...]:
        """Return the goal ids a domain event satisfies (index lookup + ``matches``).

        Whether the contact may take a non-entry goal (already enrolled) is the
        decision of `runtime.execution.decide`, not this method's.
        """
        hits: list[str] = []
        for key in event_keys(event):
            for goal_id in self.goal_index.get(key, ()):
                if goal_id in hits:
                    continue
                spec = self.goals[goal_id]
                kind = GOAL_TYPES[spec.type]
                parsed = self._parsed.get(goal_id)
                if parsed is None:
                    parsed = self._parsed[goal_id] = kind.parse(spec.config)
                if kind.matches(parsed, event):
                    hits.append(goal_id)
        return tuple(sorted(hits))

    def to_json(self) -> dict[str, t.Any]:
        """Return a plain-JSON form (lists and string-keyed dicts only)."""
        return {
            "format": FORMAT_VERSION,
            "goal_index": [
                {"key": list(key), "goals": list(goals)}
                for key, goals in sorted(self.goal_index.items(), key=lambda kv: repr(kv[0]))
            ],
            "entry_goals": sorted(self.entry_goals),
            "stops": {g: sorted(s) for g, s in sorted(self.stops.items())},
            "after_goal": {g: list(s) for g, s in sorted(self.after_goal.items())},
            "next_sequences": {s: list(n) for s, n in sorted(self.next_sequences.items())},
            "sequence_goals": {s: list(g) for s, g in sorted(self.sequence_goals.items())},
            "sequences": {
                sid: {
                    "name": spec.name,
                    "steps": [
                        {"id": st.id, "type": st.type, "config": _thaw(st.config)}
                        for st in spec.steps
                    ],
                }
                for sid, spec in sorted(self.sequences.items())
            },
            "goals": {
                gid: {"type": spec.type, "name": spec.name, "config": _thaw(spec.config)}
                for gid, spec in sorted(self.goals.items())
            },
            "decisions": {d: spec.to_json() for d, spec in sorted(self.decisions.items())},
            "splits": {d: spec.to_json() for d, spec in sorted(self.splits.items())},
            "branch_targets": {d: dict(sorted(to.items())) for d, to in sorted(self.branch_targets.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, t.Any]) -> CompiledCampaign:
        """Rebuild a compiled campaign stored by :meth:`to_json` (no recompiling).

        Raises:
            CompileError: unknown format version.
        """
        if data.get("format") not in READABLE_FORMATS:
            raise CompileError(f"unsupported compiled format {data.get('format')!r}")
        return cls(
            goal_index=_proxy({tuple(e["key"]): tuple(e["goals"]) for e in data["goal_index"]}),
            entry_goals=frozenset(data["entry_goals"]),
            stops=_proxy({g: frozenset(s) for g, s in data["stops"].items()}),
            after_goal=_proxy({g: tuple(s) for g, s in data["after_goal"].items()}),
            next_sequences=_proxy({s: tuple(n) for s, n in data["next_sequences"].items()}),
            sequence_goals=_proxy({s: tuple(g) for s, g in data["sequence_goals"].items()}),
            sequences=_proxy(
                {
                    sid: SequenceSpec(
                        name=spec["name"],
                        steps=tuple(
                            StepSpec(st["id"], st["type"], freeze(st["config"]))
                            for st in spec["steps"]
                        ),
                    )
                    for sid, spec in data["sequences"].items()
                }
            ),
            goals=_proxy(
                {
                    gid: GoalSpec(spec["type"], spec["name"], freeze(spec["config"]))
                    for gid, spec in data["goals"].items()
                }
            ),
            decisions=_proxy({d: DecisionSpec.from_json(s) for d, s in data.get("decisions", {}).items()}),
            splits=_proxy({d: SplitSpec.from_json(s) for d, s in data.get("splits", {}).items()}),
            branch_targets=_proxy({d: _proxy(dict(to)) for d, to in data.get("branch_targets", {}).items()}),
        )


def sequence_ancestors(
    flow: nx.DiGraph[str], order: list[str], is_sequence: Mapping[str, bool]
) -> dict[str, frozenset[str]]:
    """Return, for every node, its ancestor sequences, in one topological pass.

    Equal to ``{n: {a for a in nx.ancestors(flow, n) if is_sequence[a]}}`` but
    linear in the size of the result instead of one search per node.
    """
    empty: frozenset[str] = frozenset()
    out: dict[str, frozenset[str]] = {}
    for node in order:
        parts = [out[p] | {p} if is_sequence[p] else out[p] for p in flow.predecessors(node)]
        if not parts:
            out[node] = empty
        elif len(parts) == 1:
            out[node] = parts[0]  # share the parent's set: no copy
        else:
            out[node] = frozenset().union(*parts)
    return out


def compile_graph(graph: CampaignGraph) -> CompiledCampaign:
    """Compile a validated graph.

    Args:
        graph: a graph with no validation errors.

    Returns:
        The immutable compiled campaign.

    Raises:
        CompileError: the graph is cyclic or has unknown types/invalid configs
            (never for a graph that validates).
    """
    goals = [n for n in graph.nodes if isinstance(n, GoalNode)]
    sequences = [n for n in graph.nodes if isinstance(n, SequenceNode)]
    decisions = [n for n in graph.nodes if isinstance(n, DecisionNode)]
    splits = [n for n in graph.nodes if isinstance(n, SplitNode)]
    branching = {n.id for n in decisions} | {n.id for n in splits}
    is_sequence = {n.id: False for n in goals} | {n.id: True for n in sequences} | dict.fromkeys(branching, False)

    flow: nx.DiGraph[str] = nx.DiGraph()
    flow.add_nodes_from(is_sequence)
    flow.add_edges_from(
        (e.source, e.target)
        for e in graph.edges
        if e.source in is_sequence and e.target in is_sequence
    )
    try:
        order = list(nx.topological_sort(flow))
    except nx.NetworkXUnfeasible as exc:
        raise CompileError("the campaign graph has a cycle") from exc

    goal_index: dict[IndexKey, list[str]] = {}
    goal_specs: dict[str, GoalSpec] = {}
    for goal in goals:
        kind = GOAL_TYPES.get(goal.type)
        if kind is None:
            raise CompileError(f"goal {goal.id!r}: unknown goal type {goal.type!r}")
        try:
            key = kind.index_key(goal.config)
        except ValidationError as exc:
            raise CompileError(f"goal {goal.id!r}: invalid config") from exc
        goal_index.setdefault(key, []).append(goal.id)
        goal_specs[goal.id] = GoalSpec(goal.type, goal.name, freeze(goal.config))

    seq_specs: dict[str, SequenceSpec] = {}
    for seq in sequences:
        for step in seq.steps:
            if step.type not in STEP_TYPES:
                raise CompileError(f"step {step.id!r}: unknown step type {step.type!r}")
        seq_specs[seq.id] = SequenceSpec(
            seq.name, tuple(StepSpec(s.id, s.type, freeze(s.config)) for s in seq.steps)
        )

    try:
        decision_specs = {d.id: decision_spec(d) for d in decisions}
    except RuleError as exc:
        raise CompileError(f"a decision has invalid rules: {exc}") from exc
    targets: dict[str, dict[str, str]] = {n: {} for n in sorted(branching)}
    for edge in graph.edges:
        if edge.source in branching and edge.target in is_sequence and edge.branch is not None:
            targets[edge.source][edge.branch] = edge.target

    ancestors = sequence_ancestors(flow, order, is_sequence)
    goal_ids = {g.id for g in goals}

    def onward(node: str) -> tuple[str, ...]:
        """Sequences, decisions and splits after a node (never goals: those wait for events)."""
        return tuple(sorted(s for s in flow.successors(node) if s not in goal_ids))

    return CompiledCampaign(
        goal_index=_proxy({k: tuple(sorted(v)) for k, v in goal_index.items()}),
        entry_goals=frozenset(g.id for g in goals if flow.in_degree(g.id) == 0),
        stops=_proxy({g.id: ancestors[g.id] for g in goals}),
        after_goal=_proxy({g.id: onward(g.id) for g in goals}),
        next_sequences=_proxy({s.id: onward(s.id) for s in sequences}),
        sequence_goals=_proxy({s.id: tuple(sorted(n for n in flow.successors(s.id) if n in goal_ids))
                               for s in sequences}),
        sequences=_proxy(seq_specs),
        goals=_proxy(goal_specs),
        decisions=_proxy(decision_specs),
        splits=_proxy({s.id: split_spec(s) for s in splits}),
        branch_targets=_proxy({n: _proxy(to) for n, to in targets.items()}),
    )
