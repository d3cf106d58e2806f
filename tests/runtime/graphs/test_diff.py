"""Version diffs: nodes and steps added, removed and changed."""

from __future__ import annotations

import copy
import typing as t

from runtime.graphs.diff import diff_graphs
from runtime.graphs.graph import parse_graph

OLD: dict[str, t.Any] = {
    "nodes": [
        {
            "id": "g1",
            "kind": "goal",
            "type": "tag_applied",
            "name": "Lead",
            "config": {"tag": "lead"},
        },
        {
            "id": "s1",
            "kind": "sequence",
            "name": "Nurture",
            "steps": [
                {"id": "a", "type": "send_email", "config": {"subject": "1", "body": "x"}},
                {"id": "b", "type": "delay", "config": {"amount": 1, "unit": "days"}},
                {"id": "c", "type": "send_email", "config": {"subject": "2", "body": "x"}},
            ],
        },
        {"id": "s2", "kind": "sequence", "name": "Old", "steps": []},
        {"id": "n", "kind": "note", "text": "x"},
    ],
    "edges": [{"source": "g1", "target": "s1"}, {"source": "g1", "target": "s2"}],
}


def test_first_publish_is_all_added() -> None:
    diff = diff_graphs(None, parse_graph(OLD))
    assert [(e.node_id, e.kind, e.type) for e in diff.nodes_added] == [
        ("g1", "goal", "tag_applied"),
        ("s1", "sequence", None),
        ("s2", "sequence", None),
    ]
    assert diff.edges_added == [("g1", "s1", None), ("g1", "s2", None)]
    assert not diff.empty


def test_identical_and_cosmetic_changes_are_empty() -> None:
    new = copy.deepcopy(OLD)
    new["nodes"][0]["position"] = {"x": 500, "y": 5}
    new["nodes"][1]["ui"] = {"color": "red"}
    new["nodes"][3]["text"] = "changed note"
    diff = diff_graphs(parse_graph(OLD), parse_graph(new))
    assert diff.empty
    assert diff.to_json()["empty"] is True


def test_nodes_and_steps_added_removed_changed() -> None:
    new = copy.deepcopy(OLD)
    new["nodes"][0]["config"] = {"tag": "hot-lead"}
    seq = new["nodes"][1]
    seq["name"] = "Nurture v2"
    seq["steps"][2]["config"]["subject"] = "Two"
    del seq["steps"][1]  # delay removed
    seq["steps"].append({"id": "d", "type": "apply_tag", "config": {"tag": "nurtured"}})
    del new["nodes"][2]  # s2 removed
    new["edges"] = [{"source": "g1", "target": "s1"}]
    new["nodes"].append({"id": "g2", "kind": "goal", "type": "purchase", "name": "Bought"})

    diff = diff_graphs(parse_graph(OLD), parse_graph(new))
    data = diff.to_json()
    assert data["nodes"]["added"] == [
        {"node_id": "g2", "kind": "goal", "type": "purchase", "name": "Bought", "contacts": 0}
    ]
    assert data["nodes"]["removed"] == [
        {"node_id": "s2", "kind": "sequence", "type": None, "name": "Old", "contacts": 0}
    ]
    changed = {e["node_id"]: e["changes"] for e in data["nodes"]["changed"]}
    assert changed == {"g1": ["config"], "s1": ["name", "steps"]}
    assert [(e["node_id"], e["step_id"], e["type"]) for e in data["steps"]["removed"]] == [
        ("s1", "b", "delay")
    ]
    assert [(e["step_id"], e["type"]) for e in data["steps"]["added"]] == [("d", "apply_tag")]
    assert [(e["step_id"], e["changes"]) for e in data["steps"]["changed"]] == [("c", ["config"])]
    assert data["edges"]["removed"] == [{"source": "g1", "target": "s2"}]


def test_reorder_marks_sequence_changed_and_contacts_can_be_filled() -> None:
    new = copy.deepcopy(OLD)
    new["nodes"][1]["steps"].reverse()
    diff = diff_graphs(parse_graph(OLD), parse_graph(new))
    assert [(e.node_id, e.changes) for e in diff.nodes_changed] == [("s1", ("steps",))]
    assert diff.steps_changed == []
    removed = diff_graphs(
        parse_graph(OLD), parse_graph({"nodes": OLD["nodes"][:2], "edges": OLD["edges"][:1]})
    )
    removed.nodes_removed[0].contacts = 12
    assert removed.to_json()["nodes"]["removed"][0]["contacts"] == 12


def test_kind_swap_is_remove_plus_add() -> None:
    new = copy.deepcopy(OLD)
    new["nodes"][2] = {"id": "s2", "kind": "goal", "type": "purchase"}
    diff = diff_graphs(parse_graph(OLD), parse_graph(new))
    assert [e.kind for e in diff.nodes_removed] == ["sequence"]
    assert [e.kind for e in diff.nodes_added] == ["goal"]


# --- decisions and splits ------------------------------------------------------------------------


def test_branch_changes_are_listed_per_path() -> None:
    import copy

    from tests.runtime.branching_graphs import split_graph
    from tests.runtime.branching_graphs import vip_graph

    old = vip_graph()
    old["nodes"] += split_graph()["nodes"]
    old["edges"] += split_graph()["edges"]
    new = copy.deepcopy(old)
    d1 = next(n for n in new["nodes"] if n["id"] == "d1")
    d1["branches"][0]["label"] = "Very important"  # relabelled
    d1["branches"][1]["rules"] = {"all": [{"field": "opportunity.value", "op": "gte", "value": 50000}]}
    d1["mode"] = "all"
    d1["branches"].append({"id": "new", "label": "Partner", "rules": {"all": [{"field": "tags", "op": "has",
                                                                               "value": "partner"}]}})
    x1 = next(n for n in new["nodes"] if n["id"] == "x1")
    x1["branches"] = [{"id": "a", "label": "A", "weight": 80}]  # b removed, a reweighted
    new["edges"] = [e for e in new["edges"] if e.get("branch") != "b"]
    new["nodes"] = [n for n in new["nodes"] if n["id"] != "s_b"]
    new["edges"] = [e if e.get("branch") != "big" else {**e, "branch": "new"} for e in new["edges"]]
    diff = diff_graphs(parse_graph(old), parse_graph(new))
    data = diff.to_json()
    assert [(e["node_id"], e["branch_id"], e["label"]) for e in data["branches"]["added"]] == [
        ("d1", "new", "Partner")]
    assert [(e["node_id"], e["branch_id"], e["label"], e["type"]) for e in data["branches"]["removed"]] == [
        ("x1", "b", "B", "split")]
    assert [(e["node_id"], e["branch_id"], e["changes"]) for e in data["branches"]["changed"]] == [
        ("d1", "vip", ["label"]), ("d1", "big", ["rules"]), ("x1", "a", ["weight"])]
    changed = {e["node_id"]: e["changes"] for e in data["nodes"]["changed"]}
    assert changed == {"d1": ["mode", "branches"], "x1": ["branches"]}
    assert {"source": "d1", "target": "s_big", "branch": "new"} in data["edges"]["added"]
    assert {"source": "d1", "target": "s_big", "branch": "big"} in data["edges"]["removed"]


def test_removing_a_decision_lists_its_paths_and_otherwise() -> None:
    from tests.runtime.branching_graphs import seq
    from tests.runtime.branching_graphs import vip_graph

    old = vip_graph()
    new = {"nodes": [n for n in old["nodes"] if n["id"] != "d1"] + [seq("d1", "x")],
           "edges": [e for e in old["edges"] if e["source"] != "d1"]}
    data = diff_graphs(parse_graph(old), parse_graph(new)).to_json()
    assert [e["branch_id"] for e in data["branches"]["removed"]] == ["vip", "big", "otherwise"]
    assert data["branches"]["added"] == []
