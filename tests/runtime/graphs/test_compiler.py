"""Compiling a valid graph: goal index, entry goals, stop sets, JSON round trip."""

from __future__ import annotations

import json
import typing as t
from types import MappingProxyType

import networkx as nx
import pytest

from runtime.graphs.compiler import CompiledCampaign
from runtime.graphs.compiler import CompileError
from runtime.graphs.compiler import compile_graph
from runtime.graphs.graph import flow_digraph
from runtime.graphs.graph import parse_graph
from runtime.graphs.validation import StaticRefs
from runtime.graphs.validation import validate


def seq(node_id: str, *steps: tuple[str, str, dict[str, t.Any]]) -> dict[str, t.Any]:
    return {
        "id": node_id,
        "kind": "sequence",
        "name": node_id.upper(),
        "steps": [{"id": i, "type": ty, "config": c} for i, ty, c in steps],
    }


def goal(node_id: str, type_: str, config: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"id": node_id, "kind": "goal", "type": type_, "name": node_id.upper(), "config": config}


TAG = ("apply_tag", {"tag": "vip"})


def diamond() -> dict[str, t.Any]:
    """Two entry goals feed s_a / s_b, which both lead to goal g_join, then s_end.

    g_in ─→ s_a ─→ s_a2 ─┐
      └───→ s_b ─────────┼→ g_join ─→ s_end
    g_tag ─→ s_c ────────┘
    g_other ─→ s_other              (a parallel path)
    """
    return {
        "nodes": [
            goal("g_in", "stage_moved", {"pipeline_id": 1, "stage_id": 11, "direction": "into"}),
            goal("g_tag", "tag_applied", {"tag": "vip"}),
            goal("g_join", "stage_moved", {"stage_id": 12, "direction": "into"}),
            goal("g_other", "stage_moved", {"stage_id": 12, "direction": "into"}),
            seq("s_a", ("a1", *TAG)),
            seq("s_a2", ("a2", *TAG)),
            seq("s_b", ("b1", *TAG)),
            seq("s_c", ("c1", *TAG)),
            seq(
                "s_end",
                ("e1", "delay", {"amount": 1, "unit": "days"}),
                ("e2", "send_email", {"subject": "Hi", "body": "Welcome {{contact.first_name}}"}),
            ),
            seq("s_other", ("o1", *TAG)),
            {"id": "note", "kind": "note", "text": "ignored"},
        ],
        "edges": [
            {"source": "g_in", "target": "s_a"},
            {"source": "g_in", "target": "s_b"},
            {"source": "s_a", "target": "s_a2"},
            {"source": "s_a2", "target": "g_join"},
            {"source": "s_b", "target": "g_join"},
            {"source": "g_tag", "target": "s_c"},
            {"source": "s_c", "target": "g_join"},
            {"source": "g_join", "target": "s_end"},
            {"source": "g_other", "target": "s_other"},
        ],
    }


@pytest.fixture
def compiled(refs: StaticRefs) -> CompiledCampaign:
    graph = parse_graph(diamond())
    assert validate(graph, refs).valid
    return compile_graph(graph)


def test_entry_goals(compiled: CompiledCampaign) -> None:
    assert compiled.entry_goals == frozenset({"g_in", "g_tag", "g_other"})


def test_stops_are_ancestor_sequences(compiled: CompiledCampaign) -> None:
    assert compiled.stops["g_join"] == frozenset({"s_a", "s_a2", "s_b", "s_c"})
    assert compiled.stops["g_in"] == frozenset()
    assert compiled.stops["g_other"] == frozenset()  # other paths keep running
    flow = flow_digraph(parse_graph(diamond()))
    for goal_id, stops in compiled.stops.items():
        assert stops == {a for a in nx.ancestors(flow, goal_id) if a.startswith("s_")}


def test_successor_tables(compiled: CompiledCampaign) -> None:
    assert compiled.after_goal["g_in"] == ("s_a", "s_b")
    assert compiled.after_goal["g_join"] == ("s_end",)
    assert compiled.next_sequences["s_a"] == ("s_a2",)
    assert compiled.next_sequences["s_end"] == ()
    assert compiled.sequence_goals["s_b"] == ("g_join",)
    assert compiled.sequence_goals["s_a"] == ()
    assert "note" not in compiled.sequences and "note" not in compiled.goals


def test_goal_index_keys(compiled: CompiledCampaign) -> None:
    assert dict(compiled.goal_index) == {
        ("stage_moved", "into", 11): ("g_in",),
        ("stage_moved", "into", 12): ("g_join", "g_other"),
        ("tag_applied", "vip"): ("g_tag",),
    }


def test_specs(compiled: CompiledCampaign) -> None:
    end = compiled.sequences["s_end"]
    assert end.name == "S_END"
    assert [s.id for s in end.steps] == ["e1", "e2"]
    assert end.steps[0].type == "delay" and end.steps[0].config["amount"] == 1
    assert end.step_index("e2") == 1 and end.step_index("gone") is None
    assert compiled.goals["g_tag"].type == "tag_applied"
    assert compiled.goals["g_tag"].config["tag"] == "vip"


def test_compiled_form_is_immutable(compiled: CompiledCampaign) -> None:
    assert isinstance(compiled.stops, MappingProxyType)
    with pytest.raises(TypeError):
        compiled.stops["x"] = frozenset()  # type: ignore[index]
    with pytest.raises(TypeError):
        compiled.goals["g_in"].config["stage_id"] = 5  # type: ignore[index]
    with pytest.raises(AttributeError):
        compiled.entry_goals = frozenset()  # type: ignore[misc]


def test_goals_for_event(compiled: CompiledCampaign) -> None:
    moved = {
        "type": "stage_moved",
        "contact_id": 1,
        "opportunity_id": 3,
        "pipeline_id": 1,
        "from_stage_id": 10,
        "to_stage_id": 11,
        "source": "user",
    }
    assert compiled.goals_for_event(moved) == ("g_in",)
    assert (
        compiled.goals_for_event(moved | {"pipeline_id": 2}) == ()
    )  # g_in is scoped to pipeline 1
    assert compiled.goals_for_event(moved | {"to_stage_id": 12}) == ("g_join", "g_other")
    created = {
        "type": "opportunity_created",
        "contact_id": 1,
        "opportunity_id": 3,
        "pipeline_id": 1,
        "stage_id": 11,
    }
    assert compiled.goals_for_event(created | {"source": "campaign"}) == ("g_in",)
    assert compiled.goals_for_event(created | {"source": "user"}) == ()
    assert compiled.goals_for_event({"type": "tag_applied", "contact_id": 1, "tag": "vip"}) == (
        "g_tag",
    )


def test_json_round_trip(compiled: CompiledCampaign) -> None:
    data = compiled.to_json()
    text = json.dumps(data)  # plain JSON, no pickle
    loaded = CompiledCampaign.from_json(json.loads(text))
    assert loaded == compiled
    assert loaded.to_json() == data
    assert loaded.goal_index[("tag_applied", "vip")] == ("g_tag",)
    assert isinstance(loaded.sequences["s_end"].steps[1].config, MappingProxyType)
    with pytest.raises(CompileError):
        CompiledCampaign.from_json(data | {"format": 99})


def test_compile_refuses_what_validation_rejects() -> None:
    cyclic = diamond()
    cyclic["edges"].append({"source": "s_end", "target": "g_in"})
    with pytest.raises(CompileError, match="cycle"):
        compile_graph(parse_graph(cyclic))
    unknown = diamond()
    unknown["nodes"][0]["type"] = "nope"
    with pytest.raises(CompileError, match="unknown goal type"):
        compile_graph(parse_graph(unknown))
    bad = diamond()
    bad["nodes"][0]["config"] = {}
    with pytest.raises(CompileError, match="invalid config"):
        compile_graph(parse_graph(bad))


# --- decisions and splits ------------------------------------------------------------------------


def test_decisions_and_splits_compile_with_their_targets() -> None:
    from tests.runtime.branching_graphs import split_graph
    from tests.runtime.branching_graphs import vip_graph

    data = vip_graph()
    data["nodes"] += split_graph()["nodes"]
    data["edges"] += split_graph()["edges"]
    data["nodes"].append(goal("g_after", "tag_applied", {"tag": "after"}))
    data["edges"].append({"source": "s_vip", "target": "g_after"})
    compiled = compile_graph(parse_graph(data))
    assert compiled.after_goal["g_lead"] == ("d1",)
    assert compiled.after_goal["g_ab"] == ("x1",)
    assert dict(compiled.branch_targets["d1"]) == {"vip": "s_vip", "big": "s_big", "otherwise": "s_rest"}
    assert dict(compiled.branch_targets["x1"]) == {"a": "s_a", "b": "s_b"}
    assert compiled.decisions["d1"].mode == "first" and compiled.decisions["d1"].otherwise
    assert [p.weight for p in compiled.splits["x1"].paths] == [50, 50]
    # A goal after a path stops the sequences before it, through the decision.
    assert compiled.stops["g_after"] == frozenset({"s_vip"})
    again = CompiledCampaign.from_json(json.loads(json.dumps(compiled.to_json())))
    assert again == compiled
    assert again.to_json()["format"] == 2


def test_format_1_campaigns_still_load() -> None:
    """Versions published before decisions existed were stored as format 1."""
    compiled = compile_graph(parse_graph(diamond()))
    stored = compiled.to_json()
    for key in ("decisions", "splits", "branch_targets"):
        stored.pop(key)
    stored["format"] = 1
    loaded = CompiledCampaign.from_json(stored)
    assert loaded == compiled and not loaded.decisions and not loaded.branch_targets
    with pytest.raises(CompileError, match="unsupported compiled format"):
        CompiledCampaign.from_json({**stored, "format": 99})
