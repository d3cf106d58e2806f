"""The campaign graph: node-link JSON ⇄ pydantic models ⇄ networkx.

Invariants:
    * A :class:`CampaignGraph` that came out of :func:`parse_graph` is
      *structurally sound*: every node has a unique id and a known kind, and
      every edge joins two existing nodes (at most one edge per ordered pair).
      It may still be *incomplete* (unknown types, bad configs, cycles…):
      that is :mod:`runtime.graphs.validation`'s business, and drafts may be saved so.
    * Canvas-only data lives under ``ui`` keys (graph, node, step, edge) and
      survives every round trip untouched; notes (``kind == "note"``) are kept
      but ignored by validation and compilation.
    * :func:`graph_to_json` is canonical: nodes sorted by id, edges by
      (source, target), steps in sequence order, dict keys sorted, ``None``
      optionals dropped, integral coordinates written as ints — so
      export → import → export is byte-for-byte identical.
    * :func:`to_networkx` / :func:`from_networkx` are lossless inverses.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

import networkx as nx
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError

Number = float


class MalformedGraph(ValueError):
    """A payload that is not a campaign graph at all (HTTP 400, draft not stored)."""

    def __init__(self, message: str, details: list[dict[str, t.Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[dict[str, t.Any]] = details or []


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Position(_Model):
    """Canvas coordinates of a node's top-left corner, in pixels."""

    x: Number = 0.0
    y: Number = 0.0


class Step(_Model):
    """One step of a sequence; ``type`` names a catalog step type."""

    id: str = Field(min_length=1)
    type: str
    config: dict[str, t.Any] = Field(default_factory=dict)
    ui: dict[str, t.Any] | None = None


class GoalNode(_Model):
    """A goal on the canvas; ``type`` names a catalog goal type."""

    id: str = Field(min_length=1)
    kind: t.Literal["goal"] = "goal"
    type: str
    name: str = ""
    config: dict[str, t.Any] = Field(default_factory=dict)
    position: Position = Field(default_factory=Position)
    ui: dict[str, t.Any] | None = None


class SequenceNode(_Model):
    """A sequence on the canvas: an ordered list of steps."""

    id: str = Field(min_length=1)
    kind: t.Literal["sequence"] = "sequence"
    name: str = ""
    steps: list[Step] = Field(default_factory=list)
    position: Position = Field(default_factory=Position)
    ui: dict[str, t.Any] | None = None


class DecisionBranch(_Model):
    """One path of a decision: a label and the rules a contact must match (DESIGN.md §6.2).

    ``rules`` is kept as given (a draft may hold incomplete rules); validation
    checks it with `runtime.graphs.rules.check_rules`.
    """

    id: str = Field(min_length=1, max_length=64)
    label: str = ""
    rules: dict[str, t.Any] = Field(default_factory=lambda: {"all": []})


class DecisionNode(_Model):
    """A decision diamond: paths with rules, taken first-match or all-matches, and an otherwise path."""

    id: str = Field(min_length=1)
    kind: t.Literal["decision"] = "decision"
    name: str = ""
    mode: t.Literal["first", "all"] = "first"
    branches: list[DecisionBranch] = Field(default_factory=list)
    otherwise: bool = False
    position: Position = Field(default_factory=Position)
    ui: dict[str, t.Any] | None = None


class SplitBranch(_Model):
    """One path of a split and its weight (a share of the total)."""

    id: str = Field(min_length=1, max_length=64)
    label: str = ""
    weight: int = 1


class SplitNode(_Model):
    """A random (but stable per contact) split: each contact takes one path by weight."""

    id: str = Field(min_length=1)
    kind: t.Literal["split"] = "split"
    name: str = ""
    branches: list[SplitBranch] = Field(default_factory=list)
    position: Position = Field(default_factory=Position)
    ui: dict[str, t.Any] | None = None


class NoteNode(_Model):
    """A free-text note on the canvas (no behaviour)."""

    id: str = Field(min_length=1)
    kind: t.Literal["note"] = "note"
    text: str = ""
    position: Position = Field(default_factory=Position)
    ui: dict[str, t.Any] | None = None


AnyNode = GoalNode | SequenceNode | DecisionNode | SplitNode | NoteNode
Node = t.Annotated[AnyNode, Field(discriminator="kind")]
NODE_KINDS = ("goal", "sequence", "decision", "split", "note")
#: Nodes that send each contact down one (or, for a decision in "all" mode, several) of their paths.
BRANCHING_KINDS = ("decision", "split")
#: The branch id of a decision's catch-all path.
OTHERWISE = "otherwise"


class Edge(_Model):
    """A directed connection between two nodes; one leaving a decision or split names its path."""

    id: str | None = None
    source: str = Field(min_length=1)
    target: str = Field(min_length=1)
    #: The branch id (or "otherwise") of the path this edge continues; None for other edges.
    branch: str | None = Field(default=None, min_length=1, max_length=64)
    ui: dict[str, t.Any] | None = None


class CampaignGraph(_Model):
    """A whole canvas: nodes, edges and canvas-level ui state (viewport…)."""

    nodes: list[Node] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)
    ui: dict[str, t.Any] | None = None

    def node_map(self) -> dict[str, AnyNode]:
        """Return nodes by id (the first one wins if ids repeat)."""
        out: dict[str, AnyNode] = {}
        for node in self.nodes:
            out.setdefault(node.id, node)
        return out


# --- parsing -----------------------------------------------------------------


def _error_details(exc: ValidationError) -> list[dict[str, t.Any]]:
    return [
        {"loc": ".".join(str(p) for p in err["loc"]), "message": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def _precheck_kinds(data: Mapping[str, t.Any]) -> None:
    """Give unknown/missing node kinds a plain message before pydantic does."""
    nodes = data.get("nodes", [])
    if not isinstance(nodes, list):
        raise MalformedGraph("'nodes' must be a list")
    for index, node in enumerate(nodes):
        if not isinstance(node, Mapping):
            raise MalformedGraph(f"node #{index} is not an object", [{"loc": f"nodes.{index}"}])
        kind = node.get("kind")
        if kind not in NODE_KINDS:
            raise MalformedGraph(
                f"node #{index} ({node.get('id')!r}) has unknown kind {kind!r}",
                [{"loc": f"nodes.{index}.kind", "message": f"expected one of {NODE_KINDS}"}],
            )


def check_structure(graph: CampaignGraph) -> None:
    """Raise MalformedGraph unless node ids are unique and every edge joins two nodes."""
    seen: set[str] = set()
    for node in graph.nodes:
        if node.id in seen:
            raise MalformedGraph(f"duplicate node id {node.id!r}", [{"node_id": node.id}])
        seen.add(node.id)
    pairs: set[tuple[str, str]] = set()
    for index, edge in enumerate(graph.edges):
        for end in (edge.source, edge.target):
            if end not in seen:
                raise MalformedGraph(
                    f"edge #{index} ({edge.source} → {edge.target}) refers to missing node {end!r}",
                    [{"loc": f"edges.{index}", "node_id": end}],
                )
        if (edge.source, edge.target) in pairs:
            raise MalformedGraph(
                f"duplicate edge {edge.source} → {edge.target}",
                [{"loc": f"edges.{index}"}],
            )
        pairs.add((edge.source, edge.target))


def parse_graph(data: object) -> CampaignGraph:
    """Parse node-link JSON into a structurally sound CampaignGraph.

    Args:
        data: the decoded JSON payload.

    Returns:
        The graph (possibly still invalid for publishing).

    Raises:
        MalformedGraph: not an object, unknown node kind, missing/duplicate
            ids, wrong field types, or edges to missing nodes.
    """
    if not isinstance(data, Mapping):
        raise MalformedGraph("graph must be a JSON object with 'nodes' and 'edges'")
    _precheck_kinds(data)
    try:
        graph = CampaignGraph.model_validate(dict(data))
    except ValidationError as exc:
        details = _error_details(exc)
        first = details[0]
        raise MalformedGraph(
            f"malformed graph at {first['loc']}: {first['message']}", details
        ) from exc
    check_structure(graph)
    return graph


# --- canonical JSON ----------------------------------------------------------


def _canon(value: t.Any) -> t.Any:
    """Sort dict keys recursively so equal data serialises identically."""
    if isinstance(value, Mapping):
        return {str(k): _canon(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [_canon(v) for v in value]
    return value


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _position(pos: Position) -> dict[str, int | float]:
    return {"x": _num(pos.x), "y": _num(pos.y)}


def _node_json(node: AnyNode) -> dict[str, t.Any]:
    out: dict[str, t.Any] = {"id": node.id, "kind": node.kind}
    if isinstance(node, DecisionNode):
        out.update(name=node.name, mode=node.mode, otherwise=node.otherwise, branches=[
            {"id": b.id, "label": b.label, "rules": _canon(b.rules)} for b in node.branches])
    elif isinstance(node, SplitNode):
        out.update(name=node.name, branches=[{"id": b.id, "label": b.label, "weight": b.weight} for b in node.branches])
    elif isinstance(node, GoalNode):
        out.update(type=node.type, name=node.name, config=_canon(node.config))
    elif isinstance(node, SequenceNode):
        steps = []
        for step in node.steps:
            s: dict[str, t.Any] = {"id": step.id, "type": step.type, "config": _canon(step.config)}
            if step.ui is not None:
                s["ui"] = _canon(step.ui)
            steps.append(s)
        out.update(name=node.name, steps=steps)
    else:
        out["text"] = node.text
    out["position"] = _position(node.position)
    if node.ui is not None:
        out["ui"] = _canon(node.ui)
    return out


def graph_to_json(graph: CampaignGraph) -> dict[str, t.Any]:
    """Return the canonical node-link JSON of ``graph`` (see module invariants)."""
    edges = []
    for edge in sorted(graph.edges, key=lambda e: (e.source, e.target, e.id or "")):
        e: dict[str, t.Any] = {}
        if edge.id is not None:
            e["id"] = edge.id
        e["source"], e["target"] = edge.source, edge.target
        if edge.branch is not None:
            e["branch"] = edge.branch
        if edge.ui is not None:
            e["ui"] = _canon(edge.ui)
        edges.append(e)
    out: dict[str, t.Any] = {
        "nodes": [_node_json(n) for n in sorted(graph.nodes, key=lambda n: n.id)],
        "edges": edges,
    }
    if graph.ui is not None:
        out["ui"] = _canon(graph.ui)
    return out


# --- networkx ----------------------------------------------------------------


def to_networkx(graph: CampaignGraph) -> nx.DiGraph[str]:
    """Return a DiGraph with one node per canvas node (notes included).

    Node attributes are the node's JSON fields except ``id`` (``kind``,
    ``type``, ``name``, ``config``, ``steps``, ``text``, ``position``, ``ui``);
    edge attributes are ``id``, ``branch`` and ``ui`` when set; ``g.graph["ui"]`` holds the
    canvas ui. This is networkx's node-link convention, so
    ``nx.node_link_data(g, edges="edges")`` is close to our JSON.
    """
    g: nx.DiGraph[str] = nx.DiGraph()
    if graph.ui is not None:
        g.graph["ui"] = graph.ui
    for node in graph.nodes:
        data = node.model_dump(exclude={"id"}, exclude_none=False)
        g.add_node(node.id, **data)
    for edge in graph.edges:
        attrs: dict[str, t.Any] = {}
        if edge.id is not None:
            attrs["id"] = edge.id
        if edge.branch is not None:
            attrs["branch"] = edge.branch
        if edge.ui is not None:
            attrs["ui"] = edge.ui
        g.add_edge(edge.source, edge.target, **attrs)
    return g


def from_networkx(g: nx.DiGraph[str]) -> CampaignGraph:
    """Return the CampaignGraph stored in a DiGraph built like :func:`to_networkx`.

    Raises:
        MalformedGraph: a node lacks a known ``kind`` or has bad attributes.
    """
    nodes = [{"id": node_id, **attrs} for node_id, attrs in g.nodes(data=True)]
    edges = [{"source": u, "target": v, **attrs} for u, v, attrs in g.edges(data=True)]
    data: dict[str, t.Any] = {"nodes": nodes, "edges": edges}
    if g.graph.get("ui") is not None:
        data["ui"] = g.graph["ui"]
    return parse_graph(data)


def flow_digraph(graph: CampaignGraph) -> nx.DiGraph[str]:
    """Return the behavioural DiGraph: goals, sequences, decisions and splits, attributes ``kind`` only.

    Edges touching notes or missing nodes are left out.
    """
    g: nx.DiGraph[str] = nx.DiGraph()
    kinds = {}
    for node in graph.nodes:
        if node.kind != "note" and node.id not in kinds:
            kinds[node.id] = node.kind
            g.add_node(node.id, kind=node.kind)
    g.add_edges_from(
        (e.source, e.target) for e in graph.edges if e.source in kinds and e.target in kinds
    )
    return g
