"""Property tests on random campaign DAGs of goals and sequences."""

from __future__ import annotations

import json
import typing as t

import networkx as nx
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from runtime.graphs.compiler import CompiledCampaign
from runtime.graphs.compiler import compile_graph
from runtime.graphs.graph import flow_digraph
from runtime.graphs.graph import from_networkx
from runtime.graphs.graph import graph_to_json
from runtime.graphs.graph import parse_graph
from runtime.graphs.graph import to_networkx
from runtime.graphs.layout import layout_graph
from runtime.graphs.validation import StaticRefs
from runtime.graphs.validation import validate

REFS = StaticRefs(pipelines={1: {10, 11, 12}}, users={1}, tags={"a", "b"})

GOAL_CONFIGS: list[tuple[str, dict[str, t.Any]]] = [
    ("stage_moved", {"pipeline_id": 1, "stage_id": 11, "direction": "into"}),
    ("stage_moved", {"stage_id": 10, "direction": "out_of"}),
    ("tag_applied", {"tag": "a"}),
    ("form_submitted", {"form": "f"}),
    ("purchase", {}),
    ("task_completed", {"title_contains": "call"}),
]
STEP_CONFIGS: list[tuple[str, dict[str, t.Any]]] = [
    ("delay", {"amount": 3, "unit": "hours"}),
    ("send_email", {"subject": "Hi {{contact.first_name}}", "body": "b"}),
    ("apply_tag", {"tag": "b"}),
    ("create_task", {"title": "t", "assignee": 1, "due_in_days": 2}),
    ("http_post", {"url": "https://x.example/h", "json": {"k": ["v", 1]}}),
]


@st.composite
def campaigns(draw: st.DrawFn) -> dict[str, t.Any]:
    """A valid campaign: node 0 is a goal, every sequence has an earlier predecessor."""
    n = draw(st.integers(min_value=1, max_value=18))
    kinds = ["goal"] + [draw(st.sampled_from(["goal", "sequence"])) for _ in range(n - 1)]
    nodes: list[dict[str, t.Any]] = []
    for i, kind in enumerate(kinds):
        x, y = (
            draw(st.integers(-500, 2000)),
            draw(st.floats(-500, 2000, allow_nan=False).map(lambda v: round(v, 1))),
        )
        if kind == "goal":
            type_, config = draw(st.sampled_from(GOAL_CONFIGS))
            nodes.append(
                {
                    "id": f"g{i}",
                    "kind": "goal",
                    "type": type_,
                    "name": f"Goal {i}",
                    "config": config,
                    "position": {"x": x, "y": y},
                }
            )
        else:
            picks = draw(st.lists(st.sampled_from(STEP_CONFIGS), min_size=1, max_size=3))
            nodes.append(
                {
                    "id": f"s{i}",
                    "kind": "sequence",
                    "name": f"Seq {i}",
                    "position": {"x": x, "y": y},
                    "steps": [
                        {"id": f"s{i}-{k}", "type": ty, "config": c}
                        for k, (ty, c) in enumerate(picks)
                    ],
                    "ui": {"collapsed": draw(st.booleans())},
                }
            )
    ids = [node["id"] for node in nodes]
    edges: set[tuple[int, int]] = set()
    for j, kind in enumerate(kinds):
        allowed = [i for i in range(j) if not (kinds[i] == "goal" and kind == "goal")]
        if kind == "sequence":
            edges.add((draw(st.sampled_from(allowed)), j))
        extra = draw(st.lists(st.sampled_from(allowed), max_size=2)) if allowed else []
        edges.update((i, j) for i in extra)
    if draw(st.booleans()):
        nodes.append({"id": "note", "kind": "note", "text": "n", "position": {"x": 1, "y": 2}})
    order = draw(st.permutations(range(len(nodes))))
    return {
        "nodes": [nodes[k] for k in order],
        "edges": [{"source": ids[i], "target": ids[j]} for i, j in sorted(edges)],
    }


@settings(max_examples=60, deadline=None)
@given(campaigns())
def test_valid_random_graphs_compile_with_networkx_ancestors(data: dict[str, t.Any]) -> None:
    graph = parse_graph(data)
    assert validate(graph, REFS).errors == []
    compiled = compile_graph(graph)
    flow = flow_digraph(graph)
    sequences = {n for n, kind in flow.nodes(data="kind") if kind == "sequence"}
    for goal_id, stops in compiled.stops.items():
        assert stops == nx.ancestors(flow, goal_id) & sequences
    assert compiled.entry_goals == {
        n for n in flow if n not in sequences and flow.in_degree(n) == 0
    }
    assert CompiledCampaign.from_json(json.loads(json.dumps(compiled.to_json()))) == compiled


@settings(max_examples=60, deadline=None)
@given(campaigns())
def test_export_import_export_is_identical(data: dict[str, t.Any]) -> None:
    first = graph_to_json(parse_graph(data))
    second = graph_to_json(parse_graph(json.loads(json.dumps(first))))
    assert json.dumps(first) == json.dumps(second)
    graph = parse_graph(data)
    assert graph_to_json(from_networkx(to_networkx(graph))) == first


@settings(max_examples=30, deadline=None)
@given(campaigns())
def test_layout_places_edges_left_to_right(data: dict[str, t.Any]) -> None:
    laid = layout_graph(parse_graph(data))
    x = {n.id: n.position.x for n in laid.nodes}
    for edge in laid.edges:
        assert x[edge.source] < x[edge.target]
