"""Validation of decisions and splits: every problem, on its node (and path), in plain words."""

from __future__ import annotations

import copy
import typing as t

import pytest

from runtime.graphs.graph import parse_graph
from runtime.graphs.validation import StaticRefs
from runtime.graphs.validation import validate
from tests.runtime.branching_graphs import TAGS
from tests.runtime.branching_graphs import edge
from tests.runtime.branching_graphs import goal
from tests.runtime.branching_graphs import seq
from tests.runtime.branching_graphs import split_graph
from tests.runtime.branching_graphs import vip_graph

REFS = StaticRefs(tags=set(TAGS))


def problems(data: dict[str, t.Any]) -> list[tuple[str | None, str, str | None, str, str]]:
    result = validate(parse_graph(data), REFS)
    return [(i.node_id, i.code, i.branch_id, i.severity, i.message) for i in result.errors + result.warnings]


def codes(data: dict[str, t.Any]) -> set[str]:
    return {p[1] for p in problems(data)}


def node(data: dict[str, t.Any], node_id: str) -> dict[str, t.Any]:
    return next(n for n in data["nodes"] if n["id"] == node_id)


def test_the_example_graphs_are_clean() -> None:
    assert problems(vip_graph()) == []
    assert problems(split_graph((70, 30))) == []


def test_decision_without_otherwise_is_a_warning_only() -> None:
    result = validate(parse_graph(vip_graph(otherwise=False)), REFS)
    assert result.valid
    assert [(i.node_id, i.code, i.message) for i in result.warnings] == [
        ("d1", "no_otherwise", "Contacts that match no path leave the campaign here: add an Otherwise path to keep "
                               "them")]


def test_edge_to_a_missing_branch() -> None:
    data = vip_graph()
    data["edges"][1]["branch"] = "vvip"
    [found] = [p for p in problems(data) if p[1] == "unknown_branch"]
    assert found == ("d1", "unknown_branch", "vvip", "error",
                     "A connection leaves from a path this decision doesn't have (“vvip”): remove the connection "
                     "or connect it from an existing path")
    assert ("d1", "unconnected_path", "vip") in {p[:3] for p in problems(data)}  # and VIP now leads nowhere


def test_otherwise_edge_without_otherwise() -> None:
    data = vip_graph()
    node(data, "d1")["otherwise"] = False
    found = [p for p in problems(data) if p[1] == "unknown_branch"]
    assert found == [("d1", "unknown_branch", "otherwise", "error",
                      "A connection leaves from Otherwise, but this decision has no Otherwise path: turn Otherwise "
                      "on or remove the connection")]


def test_two_edges_for_one_branch() -> None:
    data = vip_graph()
    data["edges"][-1]["branch"] = "vip"  # Otherwise's connection now also claims VIP
    found = [p for p in problems(data) if p[1] == "duplicate_branch_edge"]
    assert found == [("d1", "duplicate_branch_edge", "vip", "error",
                      "Path “VIP” has 2 connections: a path leads to one place, so remove all but one")]


def test_decision_with_no_outgoing_edge() -> None:
    data = vip_graph()
    data["edges"] = [edge("g_lead", "d1")]
    data["nodes"] = [n for n in data["nodes"] if n["kind"] != "sequence"]
    assert ("d1", "no_outgoing_edge", None, "error",
            "Connect at least one path of this decision to what contacts do next") in problems(data)


def test_split_with_no_outgoing_edge() -> None:
    data = split_graph()
    data["edges"] = [edge("g_ab", "x1")]
    data["nodes"] = [n for n in data["nodes"] if n["kind"] != "sequence"]
    assert ("x1", "no_outgoing_edge", None, "error",
            "Connect at least one path of this split to what contacts do next") in problems(data)


def test_unconnected_path_is_a_warning() -> None:
    data = vip_graph()
    data["edges"] = [e for e in data["edges"] if e.get("branch") != "big"]
    data["nodes"] = [n for n in data["nodes"] if n["id"] != "s_big"]
    result = validate(parse_graph(data), REFS)
    assert result.valid
    assert [(i.code, i.branch_id, i.message) for i in result.warnings] == [
        ("unconnected_path", "big", "Path “Big deal” leads nowhere: contacts who take it stop here")]


@pytest.mark.parametrize(("rule", "code", "message"), [
    ({"field": "shoe_size", "op": "eq", "value": 9}, "unknown_field", "“shoe_size” is not a field rules can check"),
    ({"field": "", "op": "eq", "value": 9}, "unknown_field", "Choose what the rule checks"),
    ({"field": "tags", "op": "gte", "value": "vip"}, "unknown_op", "“Tags” can't be compared with “is at least”"),
    ({"field": "tags", "op": "resembles", "value": "vip"}, "unknown_op", "Choose how “Tags” is compared"),
    ({"field": "opportunity.value", "op": "gte", "value": "lots"}, "invalid_value",
     "“Deal value” is compared with a number: type one"),
    ({"field": "opportunity.stage_id", "op": "eq", "value": "Qualified"}, "invalid_value",
     "Choose the deal stage to compare with"),
    ({"field": "email.opened", "op": "eq", "value": "yes"}, "invalid_value", "“Opened an email of this campaign” is "
                                                                           "compared with yes or no"),
    ({"field": "tags", "op": "has", "value": ""}, "invalid_value", "Type the tag “Tags” is compared with"),
    ({"field": "contact.created_at", "op": "lt", "value": "soon"}, "invalid_value",
     "“Contact created” is compared with a date (YYYY-MM-DD)"),
])
def test_rule_problems_are_located_on_the_path_and_rule(rule: dict[str, t.Any], code: str, message: str) -> None:
    data = vip_graph()
    node(data, "d1")["branches"][1]["rules"] = {"all": [{"field": "tags", "op": "has", "value": "x"},
                                                        {"any": [rule]}]}
    result = validate(parse_graph(data), REFS)
    [issue] = result.errors
    assert (issue.node_id, issue.code, issue.branch_id, issue.rule) == ("d1", code, "big", "all.1.any.0")
    assert issue.message == f"Path “Big deal”: {message}"
    assert issue.to_json()["branch_id"] == "big" and issue.to_json()["rule"] == "all.1.any.0"


def test_empty_rules_and_no_paths() -> None:
    data = vip_graph()
    node(data, "d1")["branches"][0]["rules"] = {"all": []}
    assert ("d1", "empty_group", "vip", "error", "Path “VIP”: Add at least one rule to this group") in problems(data)
    node(data, "d1")["branches"] = []
    data["edges"] = [e for e in data["edges"] if e.get("branch") in (None, "otherwise")]
    assert ("d1", "no_paths", None, "error", "Add a path with the rules contacts must match") in problems(data)


def test_branch_ids_unique_and_otherwise_reserved() -> None:
    data = vip_graph()
    node(data, "d1")["branches"][1]["id"] = "vip"
    assert "duplicate_branch" in codes(data)
    data = vip_graph()
    node(data, "d1")["branches"][1]["id"] = "otherwise"
    assert "reserved_branch" in codes(data)


def test_split_with_zero_total_weight() -> None:
    found = [p for p in problems(split_graph((0, 0))) if p[3] == "error"]
    assert found == [("x1", "zero_weight", None, "error", "Give at least one path a weight above 0: contacts are "
                                                          "divided in proportion to the weights")]


def test_split_negative_weight_and_single_path() -> None:
    assert ("x1", "invalid_weight", "b", "error",
            "The weight of path “B” can't be negative: use 0 to send nobody that way") in problems(split_graph((5, -1)))
    one = split_graph((5,))
    assert ("x1", "one_path", None, "warning",
            "A split with one path sends everyone the same way: add another path") in problems(one)
    assert validate(parse_graph(one), REFS).valid


def test_a_weight_of_zero_on_one_path_is_fine() -> None:
    assert validate(parse_graph(split_graph((0, 10))), REFS).valid


@pytest.mark.parametrize(("source", "target", "message"), [
    ("d1", "g_other", "A decision's paths lead to sequences, decisions or splits, not to a goal: connect a "
                      "sequence (“VIP?” → “g_other”)"),
])
def test_decisions_do_not_lead_to_goals(source: str, target: str, message: str) -> None:
    data = vip_graph()
    data["nodes"].append(goal("g_other", "vip"))
    data["edges"].append(edge(source, target, "big"))
    data["edges"] = [e for e in data["edges"] if not (e["source"] == "d1" and e["target"] == "s_big")]
    assert ("d1", "bad_edge", None, "error", message) in problems(data)


def test_decisions_follow_goals_sequences_and_decisions() -> None:
    """goal → d1 → (vip) d2 → s; sequence → split → d3; every connection allowed."""
    data = vip_graph()
    d2 = copy.deepcopy(node(data, "d1")) | {"id": "d2", "name": "Second"}
    data["nodes"] += [d2, seq("s_after", "after"),
                      {"id": "x9", "kind": "split", "name": "S", "branches": [{"id": "a", "label": "A", "weight": 1}]}]
    data["edges"] = [e for e in data["edges"] if e.get("branch") != "vip"]
    data["edges"] += [edge("d1", "d2", "vip"), edge("d2", "s_vip", "vip"), edge("d2", "s_after", "big"),
                      edge("d2", "x9", "otherwise"), edge("x9", "s_after", "a")]
    result = validate(parse_graph(data), REFS)
    assert result.valid, result.errors


def test_edge_without_branch_from_a_decision_and_stray_branch() -> None:
    data = vip_graph()
    data["edges"][1].pop("branch")
    assert "missing_branch" in codes(data)
    data = vip_graph()
    data["edges"][0]["branch"] = "vip"  # g_lead → d1 is not a path
    assert "stray_branch" in codes(data)


def test_unreachable_decision_and_cycle_through_a_decision() -> None:
    data = vip_graph()
    data["edges"] = [e for e in data["edges"] if e["source"] != "g_lead"]
    data["nodes"].append(goal("g_more", "ab"))
    data["edges"].append(edge("g_more", "s_rest"))
    assert ("d1", "unreachable", None, "error",
            "No contact can reach “VIP?”: connect it after a goal, a sequence or a decision") in problems(data)
    data = vip_graph()
    data["edges"].append(edge("s_rest", "d1"))
    assert "cycle" in codes(data)
