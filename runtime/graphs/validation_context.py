"""What validation checks read: the graph, the CRM refs and views derived from them once."""

from __future__ import annotations

import typing as t
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import networkx as nx
from pydantic import BaseModel

from runtime.graphs.catalog.base import NodeType
from runtime.graphs.catalog.ports import Refs
from runtime.graphs.graph import AnyNode
from runtime.graphs.graph import CampaignGraph
from runtime.graphs.graph import DecisionNode
from runtime.graphs.graph import Edge
from runtime.graphs.graph import GoalNode
from runtime.graphs.graph import SequenceNode
from runtime.graphs.graph import SplitNode
from runtime.graphs.graph import Step


@dataclass(frozen=True)
class ParsedConfig:
    """A node or step config that passed its schema."""

    node_id: str
    step_id: str | None
    kind: NodeType[t.Any]
    config: BaseModel


class ValidationContext:
    """What rules read: the graph, the refs and derived views computed once."""

    def __init__(self, graph: CampaignGraph, refs: Refs) -> None:
        self.graph = graph
        self.refs = refs
        self.nodes = graph.node_map()
        self.goals = [n for n in graph.nodes if isinstance(n, GoalNode)]
        self.sequences = [n for n in graph.nodes if isinstance(n, SequenceNode)]
        self.decisions = [n for n in graph.nodes if isinstance(n, DecisionNode)]
        self.splits = [n for n in graph.nodes if isinstance(n, SplitNode)]
        # Filled by the invalid_config rule; later rules use only these.
        self.parsed: list[ParsedConfig] = []

    def steps(self) -> Iterator[tuple[SequenceNode, Step]]:
        """Yield every (sequence, step) pair in canvas order."""
        for seq in self.sequences:
            for step in seq.steps:
                yield seq, step

    def branching(self) -> Iterator[DecisionNode | SplitNode]:
        """Every decision and split, in canvas order."""
        yield from self.decisions
        yield from self.splits

    def title(self, node_id: str) -> str:
        """How messages name a node: “its name”, else its kind ("this goal")."""
        node: AnyNode | None = self.nodes.get(node_id)
        if node is None:
            return f"“{node_id}”"
        name = getattr(node, "name", "")
        return f"“{name}”" if name else f"this {node.kind}"

    @cached_property
    def flow_edges(self) -> list[Edge]:
        """Edges joining two existing goal/sequence/decision/split nodes."""
        return [
            e
            for e in self.graph.edges
            if self._flow_kind(e.source) is not None and self._flow_kind(e.target) is not None
        ]

    def _flow_kind(self, node_id: str) -> str | None:
        node = self.nodes.get(node_id)
        return node.kind if node is not None and node.kind != "note" else None

    @cached_property
    def flow(self) -> nx.DiGraph[str]:
        """Goals, sequences, decisions and splits with their edges (bad kinds included, for cycles)."""
        g: nx.DiGraph[str] = nx.DiGraph()
        g.add_nodes_from(n.id for n in self.goals)
        g.add_nodes_from(n.id for n in self.sequences)
        g.add_nodes_from(n.id for n in self.branching())
        g.add_edges_from((e.source, e.target) for e in self.flow_edges)
        return g

    @cached_property
    def entry_goals(self) -> list[str]:
        """Goals without an incoming edge, in canvas order."""
        seen: set[str] = set()
        out = []
        for goal in self.goals:
            if goal.id not in seen and self.flow.in_degree(goal.id) == 0:
                out.append(goal.id)
            seen.add(goal.id)
        return out
