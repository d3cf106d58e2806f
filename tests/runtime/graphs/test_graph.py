"""Graph JSON parsing, canonical export, networkx round trips and auto layout."""

from __future__ import annotations

import copy
import json
import random
import typing as t

import networkx as nx
import pytest

from runtime.graphs.graph import CampaignGraph
from runtime.graphs.graph import GoalNode
from runtime.graphs.graph import MalformedGraph
from runtime.graphs.graph import NoteNode
from runtime.graphs.graph import SequenceNode
from runtime.graphs.graph import from_networkx
from runtime.graphs.graph import graph_to_json
from runtime.graphs.graph import parse_graph
from runtime.graphs.graph import to_networkx
from runtime.graphs.layout import COLUMN_WIDTH
from runtime.graphs.layout import ROW_HEIGHT
from runtime.graphs.layout import layout_graph

DESIGN_EXAMPLE: dict[str, t.Any] = {
    "nodes": [
        {
            "id": "g1",
            "kind": "goal",
            "type": "stage_moved",
            "name": "Moved to Qualified",
            "config": {"pipeline_id": 1, "stage_id": 2, "direction": "into"},
            "position": {"x": 80, "y": 120},
        },
        {
            "id": "s1",
            "kind": "sequence",
            "name": "Qualified follow-up",
            "position": {"x": 320, "y": 120},
            "steps": [
                {
                    "id": "t1",
                    "type": "create_task",
                    "config": {
                        "title": "Call {{contact.first_name}}",
                        "assignee": "owner",
                        "due_in_days": 1,
                    },
                },
                {"id": "t2", "type": "delay", "config": {"amount": 2, "unit": "days"}},
                {
                    "id": "t3",
                    "type": "send_email",
                    "config": {"subject": "Hello {{contact.first_name}}", "body": "…"},
                },
            ],
        },
    ],
    "edges": [{"source": "g1", "target": "s1"}],
}


def rich_graph() -> dict[str, t.Any]:
    """The design example plus ui data everywhere, a note, a float position and edge ids."""
    data = copy.deepcopy(DESIGN_EXAMPLE)
    data["ui"] = {"viewport": {"x": -10, "y": 5.5, "zoom": 0.75}, "minimap": True}
    data["nodes"][0]["ui"] = {"color": "#fc0", "collapsed": False}
    data["nodes"][1]["steps"][0]["ui"] = {"open": True}
    data["nodes"][1]["position"] = {"x": 320.5, "y": 120}
    data["nodes"].append(
        {
            "id": "n1",
            "kind": "note",
            "text": "Ask Bob",
            "position": {"x": 5, "y": 6},
            "ui": {"width": 200},
        }
    )
    data["nodes"].append(
        {
            "id": "g2",
            "kind": "goal",
            "type": "tag_applied",
            "name": "VIP",
            "config": {"tag": "vip"},
            "position": {"x": 600, "y": 120},
        }
    )
    data["edges"].append({"id": "e2", "source": "s1", "target": "g2", "ui": {"animated": True}})
    return data


def test_parse_design_example() -> None:
    graph = parse_graph(DESIGN_EXAMPLE)
    goal, seq = graph.nodes
    assert isinstance(goal, GoalNode) and goal.config["stage_id"] == 2
    assert isinstance(seq, SequenceNode)
    assert [s.id for s in seq.steps] == ["t1", "t2", "t3"]
    assert seq.position.x == 320
    assert graph.edges[0].source == "g1" and graph.edges[0].id is None


def test_parse_keeps_incomplete_but_sound_drafts() -> None:
    graph = parse_graph(
        {"nodes": [{"id": "g", "kind": "goal", "type": "no_such_type"}], "edges": []}
    )
    assert isinstance(graph.nodes[0], GoalNode) and graph.nodes[0].config == {}


def test_parse_defaults_missing_lists() -> None:
    assert parse_graph({}) == CampaignGraph()


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ([1, 2], "JSON object"),
        (None, "JSON object"),
        ("graph", "JSON object"),
        ({"nodes": {"g1": {}}}, "'nodes' must be a list"),
        ({"nodes": [7]}, "not an object"),
        ({"nodes": [{"id": "x", "kind": "widget"}]}, "unknown kind 'widget'"),
        ({"nodes": [{"id": "x"}]}, "unknown kind None"),
        ({"nodes": [{"kind": "goal", "type": "tag_applied"}]}, "nodes.0.goal.id"),
        ({"nodes": [{"id": "", "kind": "goal", "type": "tag_applied"}]}, "nodes.0.goal.id"),
        ({"nodes": [{"id": "s", "kind": "sequence", "steps": [{"type": "delay"}]}]}, "steps.0.id"),
        ({"nodes": [{"id": "s", "kind": "sequence", "steps": "delay"}]}, "steps"),
        ({"nodes": [{"id": "g", "kind": "goal", "type": "t", "config": []}]}, "config"),
        ({"nodes": [{"id": "g", "kind": "goal", "type": "t", "colour": "red"}]}, "colour"),
        ({"nodes": [], "edges": [{"source": "a"}]}, "edges.0.target"),
        (
            {
                "nodes": [{"id": "g", "kind": "goal", "type": "t"}],
                "edges": [{"source": "g", "target": "missing"}],
            },
            "missing node 'missing'",
        ),
        (
            {"nodes": [{"id": "g", "kind": "goal", "type": "t"}, {"id": "g", "kind": "sequence"}]},
            "duplicate node id 'g'",
        ),
        (
            {
                "nodes": [
                    {"id": "g", "kind": "goal", "type": "t"},
                    {"id": "s", "kind": "sequence"},
                ],
                "edges": [{"source": "g", "target": "s"}, {"source": "g", "target": "s"}],
            },
            "duplicate edge",
        ),
    ],
)
def test_malformed_payloads_are_refused(payload: object, fragment: str) -> None:
    with pytest.raises(MalformedGraph) as info:
        parse_graph(payload)
    assert fragment in str(info.value)
    assert isinstance(info.value.details, list)


def test_malformed_details_list_every_pydantic_error() -> None:
    with pytest.raises(MalformedGraph) as info:
        parse_graph({"nodes": [{"kind": "goal"}]})
    locs = {d["loc"] for d in info.value.details}
    assert {"nodes.0.goal.id", "nodes.0.goal.type"} <= locs


def test_json_round_trip_keeps_ui_notes_and_positions() -> None:
    data = rich_graph()
    out = graph_to_json(parse_graph(data))
    by_id = {n["id"]: n for n in out["nodes"]}
    assert out["ui"] == {"minimap": True, "viewport": {"x": -10, "y": 5.5, "zoom": 0.75}}
    assert by_id["g1"]["ui"] == {"collapsed": False, "color": "#fc0"}
    assert by_id["s1"]["steps"][0]["ui"] == {"open": True}
    assert by_id["s1"]["position"] == {"x": 320.5, "y": 120}
    assert by_id["n1"] == {
        "id": "n1",
        "kind": "note",
        "text": "Ask Bob",
        "position": {"x": 5, "y": 6},
        "ui": {"width": 200},
    }
    assert {"id": "e2", "source": "s1", "target": "g2", "ui": {"animated": True}} in out["edges"]


def test_canonical_json_is_stable_and_order_independent() -> None:
    data = rich_graph()
    first = graph_to_json(parse_graph(data))
    second = graph_to_json(parse_graph(json.loads(json.dumps(first))))
    assert json.dumps(first) == json.dumps(second)
    shuffled = copy.deepcopy(data)
    random.Random(3).shuffle(shuffled["nodes"])
    shuffled["edges"].reverse()
    shuffled["nodes"][0]["config" if "config" in shuffled["nodes"][0] else "position"] = dict(
        reversed(list(shuffled["nodes"][0].get("config", shuffled["nodes"][0]["position"]).items()))
    )
    assert json.dumps(graph_to_json(parse_graph(shuffled))) == json.dumps(first)
    assert [n["id"] for n in first["nodes"]] == sorted(n["id"] for n in first["nodes"])
    # Steps keep their order: it is meaningful.
    assert [s["id"] for s in first["nodes"][-1]["steps"]] == ["t1", "t2", "t3"]


def test_networkx_round_trip_is_lossless() -> None:
    graph = parse_graph(rich_graph())
    g = to_networkx(graph)
    assert g.nodes["g1"]["kind"] == "goal"
    assert g.nodes["g1"]["position"] == {"x": 80, "y": 120}
    assert [s["id"] for s in g.nodes["s1"]["steps"]] == ["t1", "t2", "t3"]
    assert g.nodes["n1"]["kind"] == "note"
    assert g.edges["s1", "g2"] == {"id": "e2", "ui": {"animated": True}}
    assert g.graph["ui"]["minimap"] is True
    back = from_networkx(g)
    assert back == graph
    assert graph_to_json(back) == graph_to_json(graph)


def test_networkx_node_link_convention() -> None:
    g = to_networkx(parse_graph(DESIGN_EXAMPLE))
    data = nx.node_link_data(g, edges="edges")
    assert [n["id"] for n in data["nodes"]] == ["g1", "s1"]
    assert data["edges"] == [{"source": "g1", "target": "s1"}]
    rebuilt: nx.DiGraph[str] = nx.DiGraph(nx.node_link_graph(data, edges="edges"))
    assert from_networkx(rebuilt) == parse_graph(DESIGN_EXAMPLE)


def test_from_networkx_rejects_nodes_without_kind() -> None:
    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_node("x")
    with pytest.raises(MalformedGraph):
        from_networkx(g)


def _chain_graph() -> CampaignGraph:
    return parse_graph(
        {
            "nodes": [
                {"id": "a", "kind": "goal", "type": "tag_applied", "config": {"tag": "x"}},
                {"id": "b", "kind": "goal", "type": "tag_applied", "config": {"tag": "y"}},
                {"id": "s1", "kind": "sequence"},
                {"id": "s2", "kind": "sequence"},
                {"id": "g", "kind": "goal", "type": "purchase"},
                {"id": "s3", "kind": "sequence"},
                {"id": "note", "kind": "note", "text": "hi", "position": {"x": 999, "y": 999}},
            ],
            "edges": [
                {"source": "a", "target": "s1"},
                {"source": "b", "target": "s2"},
                {"source": "s1", "target": "g"},
                {"source": "s2", "target": "g"},
                {"source": "g", "target": "s3"},
            ],
        }
    )


def test_layout_columns_follow_topological_generations() -> None:
    laid = layout_graph(_chain_graph())
    pos = {n.id: (n.position.x, n.position.y) for n in laid.nodes}
    xs = sorted({x for x, _ in pos.values() if (x, _) != (999, 999)})
    assert len(xs) == 4  # four generations: goals, sequences, goal, sequence
    assert pos["a"][0] == pos["b"][0] < pos["s1"][0] == pos["s2"][0] < pos["g"][0] < pos["s3"][0]
    assert pos["a"][1] != pos["b"][1]  # same column, distinct rows
    assert pos["note"] == (999, 999)  # notes keep their place
    assert min(x for x, _ in pos.values()) >= 0 and min(y for _, y in pos.values()) >= 0
    # The single-node columns are centred between the two-node ones.
    assert pos["g"][1] == (pos["s1"][1] + pos["s2"][1]) / 2


def test_layout_leaves_input_untouched_and_handles_cycles() -> None:
    graph = _chain_graph()
    before = graph_to_json(graph)
    layout_graph(graph)
    assert graph_to_json(graph) == before
    cyclic = parse_graph(
        {
            "nodes": [{"id": "s1", "kind": "sequence"}, {"id": "s2", "kind": "sequence"}],
            "edges": [{"source": "s1", "target": "s2"}, {"source": "s2", "target": "s1"}],
        }
    )
    laid = layout_graph(cyclic)
    assert {(n.position.x, n.position.y) for n in laid.nodes} == {(40, 40), (40, 40 + ROW_HEIGHT)}
    assert layout_graph(CampaignGraph(nodes=[NoteNode(id="n")])).nodes[0].position.x == 0


# --- decisions and splits ------------------------------------------------------------------------


def test_decisions_and_splits_round_trip_canonically() -> None:
    from tests.runtime.branching_graphs import split_graph
    from tests.runtime.branching_graphs import vip_graph

    data = vip_graph()
    data["nodes"] += split_graph()["nodes"]
    data["edges"] += split_graph()["edges"]
    data["edges"][1]["ui"] = {"label_offset": 3}
    graph = parse_graph(data)
    decision = graph.node_map()["d1"]
    assert decision.kind == "decision" and decision.mode == "first" and decision.otherwise
    assert [b.id for b in decision.branches] == ["vip", "big"]
    out = graph_to_json(graph)
    d1 = next(n for n in out["nodes"] if n["id"] == "d1")
    assert list(d1) == ["id", "kind", "name", "mode", "otherwise", "branches", "position"]
    assert d1["branches"][1]["rules"] == {"any": [{"field": "opportunity.value", "op": "gte", "value": 10000},
                                                  {"field": "contact.fields.company_size", "op": "gte", "value": 500}]}
    x1 = next(n for n in out["nodes"] if n["id"] == "x1")
    assert x1["branches"] == [{"id": "a", "label": "A", "weight": 50}, {"id": "b", "label": "B", "weight": 50}]
    assert {(e["source"], e["target"], e.get("branch")) for e in out["edges"]} >= {
        ("d1", "s_vip", "vip"), ("d1", "s_rest", "otherwise"), ("x1", "s_a", "a")}
    assert graph_to_json(parse_graph(json.loads(json.dumps(out)))) == out
    assert graph_to_json(from_networkx(to_networkx(graph))) == out
    assert to_networkx(graph).edges["d1", "s_vip"]["branch"] == "vip"


@pytest.mark.parametrize(("payload", "fragment"), [
    ({"nodes": [{"id": "d", "kind": "decision", "mode": "sometimes"}]}, "mode"),
    ({"nodes": [{"id": "d", "kind": "decision", "branches": [{"label": "no id"}]}]}, "branches.0.id"),
    ({"nodes": [{"id": "x", "kind": "split", "branches": [{"id": "a", "weight": 2.5}]}]}, "weight"),
    ({"nodes": [{"id": "d", "kind": "decision", "branches": [{"id": "a", "rules": ["tags"]}]}]}, "rules"),
])
def test_malformed_decisions_and_splits(payload: dict[str, t.Any], fragment: str) -> None:
    with pytest.raises(MalformedGraph) as err:
        parse_graph(payload)
    assert fragment in err.value.message


def test_layout_places_decisions_between_their_neighbours() -> None:
    from tests.runtime.branching_graphs import vip_graph

    laid = layout_graph(parse_graph(vip_graph())).node_map()
    assert laid["g_lead"].position.x < laid["d1"].position.x < laid["s_vip"].position.x
    # Columns leave room for the edges: a 240 px node, then at least 120 px before the next column.
    assert laid["d1"].position.x - laid["g_lead"].position.x == COLUMN_WIDTH >= 240 + 120
