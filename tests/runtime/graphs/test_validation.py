"""Publish validation: one failing graph per rule, asserting the located issue."""

from __future__ import annotations

import copy
import typing as t

import pytest

from runtime.graphs.graph import CampaignGraph
from runtime.graphs.graph import Edge
from runtime.graphs.graph import GoalNode
from runtime.graphs.graph import SequenceNode
from runtime.graphs.graph import parse_graph
from runtime.graphs.validation import RULES
from runtime.graphs.validation import Issue
from runtime.graphs.validation import StaticRefs
from runtime.graphs.validation import validate


def base() -> dict[str, t.Any]:
    """A valid campaign: g1 → s1 → g2 → s2."""
    return {
        "nodes": [
            {
                "id": "g1",
                "kind": "goal",
                "type": "stage_moved",
                "name": "Qualified",
                "config": {"pipeline_id": 1, "stage_id": 11, "direction": "into"},
            },
            {
                "id": "s1",
                "kind": "sequence",
                "name": "Follow-up",
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
                    {
                        "id": "t2",
                        "type": "send_email",
                        "config": {"subject": "Hi {{contact.first_name}}", "body": "…"},
                    },
                    {"id": "t3", "type": "delay", "config": {"amount": 2, "unit": "days"}},
                    {"id": "t4", "type": "send_email", "config": {"subject": "Again", "body": "…"}},
                ],
            },
            {
                "id": "g2",
                "kind": "goal",
                "type": "tag_applied",
                "name": "VIP",
                "config": {"tag": "vip"},
            },
            {
                "id": "s2",
                "kind": "sequence",
                "name": "VIP",
                "steps": [{"id": "u1", "type": "apply_tag", "config": {"tag": "customer"}}],
            },
            {"id": "note", "kind": "note", "text": "ignored"},
        ],
        "edges": [
            {"source": "g1", "target": "s1"},
            {"source": "s1", "target": "g2"},
            {"source": "g2", "target": "s2"},
        ],
    }


def node(data: dict[str, t.Any], node_id: str) -> dict[str, t.Any]:
    return next(n for n in data["nodes"] if n["id"] == node_id)


def step(data: dict[str, t.Any], step_id: str) -> dict[str, t.Any]:
    return next(s for n in data["nodes"] for s in n.get("steps", []) if s["id"] == step_id)


def issues_of(data: dict[str, t.Any] | CampaignGraph, refs: StaticRefs) -> list[Issue]:
    graph = data if isinstance(data, CampaignGraph) else parse_graph(data)
    result = validate(graph, refs)
    return result.errors + result.warnings


def only(data: dict[str, t.Any] | CampaignGraph, refs: StaticRefs, code: str) -> list[Issue]:
    return [i for i in issues_of(data, refs) if i.code == code]


def test_base_graph_is_clean(refs: StaticRefs) -> None:
    result = validate(parse_graph(base()), refs)
    assert result.valid and result.errors == [] and result.warnings == []
    assert result.to_json() == {"valid": True, "errors": [], "warnings": []}


def test_rules_are_small_named_functions() -> None:
    names = [r.__name__ for r in RULES]
    assert "no_cycles" in names and len(names) == len(set(names))
    assert all(r.__doc__ for r in RULES)


# --- structural rules ----------------------------------------------------------


def test_cycle(refs: StaticRefs) -> None:
    data = base()
    data["edges"].append({"source": "s2", "target": "g1"})
    [issue] = only(data, refs, "cycle")
    assert issue.node_id == "g1" and issue.step_id is None and issue.severity == "error"
    assert issue.message == ("These connections make a loop (“Qualified” → “Follow-up” → “VIP” → “VIP” → "
                             "“Qualified”): campaigns flow one way, so remove one of them")
    # The loop also leaves no entry goal.
    assert only(data, refs, "no_entry_goal")


def test_self_loop_is_a_cycle(refs: StaticRefs) -> None:
    data = base()
    data["edges"].append({"source": "s2", "target": "s2"})
    [issue] = only(data, refs, "cycle")
    assert (issue.node_id, issue.message) == ("s2", "These connections make a loop (“VIP” → “VIP”): campaigns "
                                              "flow one way, so remove one of them")


@pytest.mark.parametrize(("source", "target"), [("g1", "g2"), ("note", "s1"), ("s1", "note")])
def test_bad_edge(refs: StaticRefs, source: str, target: str) -> None:
    data = base()
    data["edges"].append({"source": source, "target": target})
    [issue] = only(data, refs, "bad_edge")
    assert issue.node_id == source and issue.step_id is None


def test_dangling_edge(refs: StaticRefs) -> None:
    # parse_graph refuses these, so build the model directly (as a caller might).
    graph = parse_graph(base()).model_copy(deep=True)
    graph.edges.append(Edge(source="s2", target="ghost"))
    [issue] = only(graph, refs, "dangling_edge")
    assert issue.node_id == "s2" and "ghost" in issue.message
    graph.edges.append(Edge(source="nobody", target="ghost"))
    assert [i.node_id for i in only(graph, refs, "dangling_edge")] == ["s2", None]


def test_no_entry_goal(refs: StaticRefs) -> None:
    data = {
        "nodes": [
            {
                "id": "s",
                "kind": "sequence",
                "steps": [{"id": "x", "type": "apply_tag", "config": {"tag": "vip"}}],
            }
        ],
        "edges": [],
    }
    [issue] = only(data, refs, "no_entry_goal")
    assert (issue.node_id, issue.step_id) == (None, None)
    assert [i.node_id for i in only(data, refs, "unreachable")] == ["s"]
    assert only({"nodes": [], "edges": []}, refs, "no_entry_goal")


def test_unreachable_sequence(refs: StaticRefs) -> None:
    data = base()
    data["nodes"].append(
        {
            "id": "s3",
            "kind": "sequence",
            "name": "Orphan",
            "steps": [{"id": "v1", "type": "apply_tag", "config": {"tag": "lead"}}],
        }
    )
    [issue] = only(data, refs, "unreachable")
    assert issue.node_id == "s3" and "Orphan" in issue.message


def test_duplicate_node_id(refs: StaticRefs) -> None:
    graph = parse_graph(base()).model_copy(deep=True)
    graph.nodes.append(SequenceNode(id="s2", name="Twin"))
    [issue] = only(graph, refs, "duplicate_id")
    assert (issue.node_id, issue.step_id) == ("s2", None)


def test_duplicate_step_id(refs: StaticRefs) -> None:
    data = base()
    step(data, "u1")["id"] = "t2"  # s2's step reuses an id from s1
    [issue] = only(data, refs, "duplicate_id")
    assert (issue.node_id, issue.step_id) == ("s2", "t2")


def test_unknown_goal_and_step_types(refs: StaticRefs) -> None:
    data = base()
    node(data, "g2")["type"] = "moon_phase"
    step(data, "t1")["type"] = "teleport"
    issues = only(data, refs, "unknown_type")
    assert [(i.node_id, i.step_id) for i in issues] == [("g2", None), ("s1", "t1")]


# --- configs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("step_id", "config", "field", "message"),
    [
        ("t3", {"amount": 0, "unit": "days"}, "amount", "“Wait” must be more than 0"),
        ("t3", {"amount": 2, "unit": "fortnights"}, "unit", "Choose one of the options for “Unit”"),
        ("t3", {"unit": "days"}, "amount", "Type how long to wait"),
        ("t3", {"amount": "two", "unit": "days"}, "amount", "“Wait” must be a whole number"),
        ("t3", {"amount": 2, "window": {"start_hour": 30}}, "window", "“Only within › From hour” must be 23 or less"),
        ("t1", {"title": "Call", "assignee": "owner", "due_in_days": -2}, "due_in_days",
         "“Due in (days)” must be 0 or more"),
        ("t1", {"assignee": "owner"}, "title", "Type what the task asks someone to do"),
        ("t2", {"subject": "", "body": "x"}, "subject", "Type the email's subject"),
        ("t2", {"subject": "Hi", "body": "x", "cc": "boss"}, "cc", "“cc” is not a setting of this step: remove it"),
    ],
)
def test_invalid_step_config(
    refs: StaticRefs, step_id: str, config: dict[str, t.Any], field: str, message: str
) -> None:
    """Config errors name the field by its label and say what to do (never "amount: Field required")."""
    data = base()
    step(data, step_id)["config"] = config
    [issue] = only(data, refs, "invalid_config")
    assert (issue.node_id, issue.step_id, issue.field) == ("s1", step_id, field)
    assert issue.message == message
    assert issue.to_json()["field"] == field


def test_invalid_goal_config(refs: StaticRefs) -> None:
    data = base()
    node(data, "g1")["config"] = {"pipeline_id": 1, "direction": "into"}
    node(data, "g2")["config"] = {}
    issues = only(data, refs, "invalid_config")
    assert [(i.node_id, i.step_id, i.field, i.message) for i in issues] == [
        ("g1", None, "stage_id", "Choose the stage this goal watches"),
        ("g2", None, "tag", "Type the tag this goal watches"),
    ]
    # A config that fails its schema is not checked further (no unknown_stage noise).
    assert only(data, refs, "unknown_stage") == []


def test_invalid_url(refs: StaticRefs) -> None:
    data = base()
    node(data, "s2")["steps"].append(
        {"id": "u2", "type": "http_post", "config": {"url": "file:///etc/passwd", "json": {}}}
    )
    [issue] = only(data, refs, "invalid_url")
    assert (issue.node_id, issue.step_id) == ("s2", "u2")


# --- references --------------------------------------------------------------


def test_unknown_pipeline(refs: StaticRefs) -> None:
    data = base()
    node(data, "g1")["config"]["pipeline_id"] = 99
    [issue] = only(data, refs, "unknown_pipeline")
    assert (issue.node_id, issue.step_id) == ("g1", None)


def test_unknown_stage_and_stage_outside_its_pipeline(refs: StaticRefs) -> None:
    data = base()
    node(data, "g1")["config"]["stage_id"] = 100  # a stage of pipeline 2
    node(data, "s2")["steps"].append(
        {"id": "u2", "type": "move_opportunity", "config": {"stage_id": 404}}
    )
    issues = only(data, refs, "unknown_stage")
    assert [(i.node_id, i.step_id) for i in issues] == [("g1", None), ("s2", "u2")]
    assert issues[0].message == "The chosen stage is not in the chosen pipeline: choose one of its stages"
    assert issues[1].message == "The chosen stage no longer exists (stage #404): choose another"
    assert [i.field for i in issues] == ["stage_id", "stage_id"]


def test_unknown_user(refs: StaticRefs) -> None:
    data = base()
    step(data, "t1")["config"]["assignee"] = 77
    [issue] = only(data, refs, "unknown_user")
    assert (issue.node_id, issue.step_id) == ("s1", "t1")


def test_unknown_tag(refs: StaticRefs) -> None:
    data = base()
    step(data, "u1")["config"]["tag"] = "platinum"
    [issue] = only(data, refs, "unknown_tag")
    assert (issue.node_id, issue.step_id) == ("s2", "u1")


@pytest.mark.parametrize(
    ("step_id", "key"),
    [("t2", "subject"), ("t2", "body"), ("t1", "title")],
)
def test_unknown_merge_field(refs: StaticRefs, step_id: str, key: str) -> None:
    data = base()
    step(data, step_id)["config"][key] = "Hi {{contact.nickname}}"
    [issue] = only(data, refs, "unknown_merge_field")
    assert (issue.node_id, issue.step_id) == ("s1", step_id)
    label = {"subject": "Subject", "body": "Body", "title": "Title"}[key]
    assert issue.message == (f"“{label}” uses {{{{contact.nickname}}}}, which is not a merge field: pick one from "
                             "“+ Merge field” or correct the spelling")
    assert issue.field == key


def test_unknown_merge_field_in_note(refs: StaticRefs) -> None:
    data = base()
    node(data, "s2")["steps"].append(
        {"id": "u2", "type": "create_note", "config": {"body": "{{deal.size}}"}}
    )
    [issue] = only(data, refs, "unknown_merge_field")
    assert (issue.node_id, issue.step_id) == ("s2", "u2")


# --- warnings ----------------------------------------------------------------


def test_empty_sequence_warning(refs: StaticRefs) -> None:
    data = base()
    node(data, "s2")["steps"] = []
    result = validate(parse_graph(data), refs)
    assert result.valid
    [issue] = result.warnings
    assert (issue.node_id, issue.code, issue.severity) == ("s2", "empty_sequence", "warning")


def test_email_burst_warning(refs: StaticRefs) -> None:
    data = base()
    # Remove the delay between t2 and t4; a task in between does not count as a pause.
    node(data, "s1")["steps"] = [step(data, "t2"), step(data, "t1"), step(data, "t4")]
    result = validate(parse_graph(data), refs)
    assert result.valid
    [issue] = result.warnings
    assert (issue.node_id, issue.step_id, issue.code) == ("s1", "t4", "email_burst")


def test_dead_end_goal_warning(refs: StaticRefs) -> None:
    data = base()
    data["nodes"].append({"id": "g3", "kind": "goal", "type": "purchase", "name": "Bought"})
    data["edges"].append({"source": "s1", "target": "g3"})
    result = validate(parse_graph(data), refs)
    assert result.valid
    [issue] = result.warnings
    assert (issue.node_id, issue.code, issue.severity) == ("g3", "dead_end_goal", "warning")
    assert issue.to_json() == {
        "node_id": "g3",
        "step_id": None,
        "code": "dead_end_goal",
        "message": "Nothing follows “Bought”: achieving it only stops the sequences before it. Connect what "
                   "contacts do next",
        "severity": "warning",
    }


def test_validation_never_raises_on_garbage(refs: StaticRefs) -> None:
    graph = CampaignGraph(
        nodes=[
            GoalNode(id="g", type="stage_moved", config={"stage_id": {"x": 1}}),
            GoalNode(id="g", type="tag_applied"),
            SequenceNode(id="s"),
        ],
        edges=[
            Edge(source="g", target="g"),
            Edge(source="s", target="zzz"),
            Edge(source="g", target="s"),
        ],
    )
    result = validate(graph, refs)
    codes = {i.code for i in result.errors}
    assert {"duplicate_id", "cycle", "dangling_edge", "bad_edge", "invalid_config"} <= codes


def test_refs_are_only_checked_for_structurally_valid_configs(refs: StaticRefs) -> None:
    data = copy.deepcopy(base())
    step(data, "u1")["config"] = {"tag": ""}
    assert [i.code for i in validate(parse_graph(data), refs).errors] == ["invalid_config"]
