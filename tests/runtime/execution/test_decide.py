"""`decide()`: the seed-001 goal rules as a pure function, tested with no database at all."""

from __future__ import annotations

import typing as t

import pytest

from runtime.execution.decide import Branch
from runtime.execution.decide import Enroll
from runtime.execution.decide import Hit
from runtime.execution.decide import Leave
from runtime.execution.decide import Presence
from runtime.execution.decide import Skip
from runtime.execution.decide import Start
from runtime.execution.decide import Stop
from runtime.execution.decide import after_sequence
from runtime.execution.decide import decide
from runtime.graphs.compiler import CompiledCampaign
from runtime.graphs.compiler import compile_graph
from runtime.graphs.graph import parse_graph
from runtime.graphs.rule_eval import Facts
from tests.runtime.branching_graphs import decision
from tests.runtime.branching_graphs import edge
from tests.runtime.branching_graphs import goal
from tests.runtime.branching_graphs import seq as tag_seq
from tests.runtime.branching_graphs import split
from tests.runtime.branching_graphs import split_graph
from tests.runtime.branching_graphs import vip_graph

PROSPECT, QUALIFIED, DISCOVERY = 10, 20, 30


def compiled(nodes: list[dict[str, t.Any]], *edges: str) -> CompiledCampaign:
    """Compile a graph written as nodes and "a>b" edges."""
    return compile_graph(parse_graph({
        "nodes": nodes,
        "edges": [{"source": e.split(">")[0], "target": e.split(">")[1]} for e in edges],
    }))


def moved(direction: str, stage: int, node_id: str = "g", name: str = "") -> dict[str, t.Any]:
    return {"id": node_id, "kind": "goal", "type": "stage_moved", "name": name or node_id,
            "config": {"pipeline_id": 1, "stage_id": stage, "direction": direction}}


def tagged(tag: str, node_id: str) -> dict[str, t.Any]:
    return {"id": node_id, "kind": "goal", "type": "tag_applied", "name": node_id, "config": {"tag": tag}}


def seq(node_id: str) -> dict[str, t.Any]:
    return {"id": node_id, "kind": "sequence", "name": node_id,
            "steps": [{"id": f"{node_id}-n", "type": "create_note", "config": {"body": "x"}}]}


def stage_move(src: int | None, dst: int, source: str = "user") -> dict[str, t.Any]:
    return {"type": "stage_moved", "contact_id": 1, "source": source, "opportunity_id": 5, "pipeline_id": 1,
            "from_stage_id": src, "to_stage_id": dst}


def created(stage: int, source: str) -> dict[str, t.Any]:
    return {"type": "opportunity_created", "contact_id": 1, "source": source, "opportunity_id": 5,
            "pipeline_id": 1, "stage_id": stage}


def tag(name: str) -> dict[str, t.Any]:
    return {"type": "tag_applied", "contact_id": 1, "source": "user", "tag": name}


NEW = Presence()


# --- rule 4: INTO / OUT OF ------------------------------------------------------------------


def test_a_move_into_the_stage_satisfies_an_into_goal_from_any_prior_stage() -> None:
    campaign = compiled([moved("into", QUALIFIED), seq("s")], "g>s")
    for prior in (PROSPECT, DISCOVERY):
        assert decide(campaign, NEW, stage_move(prior, QUALIFIED)) == [Enroll(), Hit("g"), Start("s", "g")]


def test_a_move_out_of_the_stage_satisfies_an_out_of_goal_only() -> None:
    into = compiled([moved("into", QUALIFIED), seq("s")], "g>s")
    out_of = compiled([moved("out_of", QUALIFIED), seq("s")], "g>s")
    leaving = stage_move(QUALIFIED, DISCOVERY)
    assert decide(into, NEW, leaving) == []
    assert decide(out_of, NEW, leaving) == [Enroll(), Hit("g"), Start("s", "g")]


def test_saving_without_a_stage_change_is_not_a_move() -> None:
    campaign = compiled([moved("into", QUALIFIED), seq("s")], "g>s")
    assert decide(campaign, NEW, stage_move(QUALIFIED, QUALIFIED)) == []


# --- rule 5: created by hand vs by a campaign ------------------------------------------------


def test_an_opportunity_created_by_hand_in_the_stage_satisfies_nothing() -> None:
    campaign = compiled([moved("into", QUALIFIED), seq("s")], "g>s")
    assert decide(campaign, NEW, created(QUALIFIED, "user")) == []


def test_an_opportunity_a_campaign_created_in_the_stage_counts_as_moved_into_it() -> None:
    campaign = compiled([moved("into", QUALIFIED), seq("s")], "g>s")
    assert decide(campaign, NEW, created(QUALIFIED, "campaign")) == [Enroll(), Hit("g"), Start("s", "g")]
    assert decide(campaign, NEW, created(PROSPECT, "campaign")) == []


# --- rule 1: entry goals, or contacts already in the campaign ---------------------------------


def test_a_goal_with_an_incoming_edge_needs_the_contact_in_the_campaign() -> None:
    campaign = compiled([tagged("lead", "g1"), seq("s1"), moved("into", QUALIFIED, "g2"), seq("s2")],
                        "g1>s1", "s1>g2", "g2>s2")
    assert decide(campaign, NEW, stage_move(PROSPECT, QUALIFIED)) == [Skip("g2", "not_in_campaign")]
    inside = Presence(enrolled=True, runs=(("s1", "active"),))
    assert Hit("g2") in decide(campaign, inside, stage_move(PROSPECT, QUALIFIED))


# --- rule 2: the sequences before a goal stop, the one after it starts ------------------------


def test_satisfying_a_goal_stops_its_upstream_sequences_and_starts_the_next() -> None:
    campaign = compiled([tagged("lead", "g1"), seq("s1"), moved("into", QUALIFIED, "g2", "Qualified"), seq("s2"),
                         tagged("newsletter", "g3"), seq("other")],
                        "g1>s1", "s1>g2", "g2>s2", "g3>other")
    inside = Presence(enrolled=True, runs=(("s1", "active"), ("other", "active")))
    assert decide(campaign, inside, stage_move(PROSPECT, QUALIFIED)) == [
        Hit("g2"), Stop(("s1",), "goal 'Qualified' satisfied"), Start("s2", "g2"),
    ]  # "other" runs on: campaigns' paths run side by side (rule 3)


def test_a_paused_upstream_run_is_stopped_too_and_finished_ones_are_left_alone() -> None:
    campaign = compiled([tagged("lead", "g1"), seq("s1"), seq("s0"), moved("into", QUALIFIED, "g2"), seq("s2")],
                        "g1>s0", "s0>s1", "s1>g2", "g2>s2")
    inside = Presence(enrolled=True, runs=(("s0", "completed"), ("s1", "paused")))
    actions = decide(campaign, inside, stage_move(PROSPECT, QUALIFIED))
    assert [a for a in actions if isinstance(a, Stop)] == [Stop(("s1",), "goal 'g2' satisfied")]


def test_one_event_satisfying_two_goals_on_a_path_ends_at_the_furthest() -> None:
    campaign = compiled([tagged("vip", "g1"), seq("s1"), tagged("vip", "g2"), seq("s2")],
                        "g1>s1", "s1>g2", "g2>s2")
    # g2 needs the contact in the campaign *before* the event.
    assert decide(campaign, NEW, tag("vip")) == [Enroll(), Hit("g1"), Start("s1", "g1"), Skip("g2", "not_in_campaign")]
    inside = Presence(enrolled=True, runs=(("s1", "active"),))
    assert decide(campaign, inside, tag("vip")) == [
        Hit("g1"), Skip("s1", "already_running"), Hit("g2"), Stop(("s1",), "goal 'g2' satisfied"), Start("s2", "g2"),
    ]


# --- paused campaigns and re-entry ------------------------------------------------------------


def test_a_paused_campaign_satisfies_nothing() -> None:
    campaign = compiled([moved("into", QUALIFIED), seq("s")], "g>s")
    assert decide(campaign, Presence(paused=True), stage_move(PROSPECT, QUALIFIED)) == [Skip("g", "campaign_paused")]


@pytest.mark.parametrize(("status", "allow_reentry", "expected"), [
    ("active", False, Skip("s", "already_running")),
    ("paused", True, Skip("s", "already_running")),
    ("completed", False, Skip("s", "reentry_off")),
    ("stopped", False, Skip("s", "reentry_off")),
    ("failed", False, Skip("s", "reentry_off")),
    ("completed", True, Start("s", "g")),
])
def test_re_entry(status: str, allow_reentry: bool, expected: Start | Skip) -> None:
    campaign = compiled([moved("into", QUALIFIED), seq("s")], "g>s")
    presence = Presence(allow_reentry=allow_reentry, enrolled=True, runs=(("s", status),))
    assert decide(campaign, presence, stage_move(PROSPECT, QUALIFIED)) == [Hit("g"), expected]


def test_a_completed_sequence_leads_to_the_next_unless_re_entry_forbids_it() -> None:
    campaign = compiled([tagged("go", "g"), seq("s1"), seq("s2")], "g>s1", "s1>s2")
    done = Presence(enrolled=True, runs=(("s1", "completed"),))
    assert after_sequence(campaign, done, "s1", contact_id=1) == [Start("s2", None)]
    again = Presence(enrolled=True, runs=(("s1", "completed"), ("s2", "completed")))
    assert after_sequence(campaign, again, "s1", contact_id=1) == [Skip("s2", "reentry_off")]


# --- decisions and splits ------------------------------------------------------------------------


def lead(contact_id: int = 1) -> dict[str, t.Any]:
    return {"type": "tag_applied", "contact_id": contact_id, "source": "user", "tag": "lead"}


def graph(data: dict[str, t.Any]) -> CompiledCampaign:
    return compile_graph(parse_graph(data))


@pytest.mark.parametrize(("facts", "expected"), [
    (Facts(tags=frozenset({"vip"})), [Branch("d1", ("vip",), "matched “VIP”"), Start("s_vip", "g_lead", ("d1", "vip"))]),
    (Facts(opportunity={"value": 20000}), [Branch("d1", ("big",), "matched “Big deal”"),
                                           Start("s_big", "g_lead", ("d1", "big"))]),
    (Facts(), [Branch("d1", ("otherwise",), "matched no path: took Otherwise"),
               Start("s_rest", "g_lead", ("d1", "otherwise"))]),
])
def test_a_goal_sends_the_contact_through_a_decision(facts: Facts, expected: list[t.Any]) -> None:
    assert decide(graph(vip_graph()), NEW, lead(), lambda: facts) == [Enroll(), Hit("g_lead"), *expected]


def test_mode_all_starts_every_matching_path() -> None:
    both = Facts(tags=frozenset({"vip"}), fields={"company_size": 900})
    assert decide(graph(vip_graph(mode="all")), NEW, lead(), lambda: both) == [
        Enroll(), Hit("g_lead"), Branch("d1", ("vip", "big"), "matched “VIP”, “Big deal”"),
        Start("s_vip", "g_lead", ("d1", "vip")), Start("s_big", "g_lead", ("d1", "big"))]


def test_matching_nothing_without_otherwise_leaves() -> None:
    actions = decide(graph(vip_graph(otherwise=False)), NEW, lead(), lambda: Facts())
    assert actions == [Enroll(), Hit("g_lead"), Leave("d1", "matched no path of “VIP?”, which has no Otherwise "
                                                             "path: left the campaign")]


def test_facts_are_read_only_when_a_decision_is_reached_and_once_per_call() -> None:
    calls: list[int] = []

    def facts() -> Facts:
        calls.append(1)
        return Facts(tags=frozenset({"vip"}))

    data = vip_graph()
    # d1's VIP path leads to a second decision d2 (same rules): both read the same moment.
    data["nodes"].append(decision("d2", name="Second"))
    data["edges"] = [e for e in data["edges"] if e.get("branch") != "vip"] + [
        edge("d1", "d2", "vip"), edge("d2", "s_vip", "vip")]
    actions = decide(graph(data), NEW, lead(), facts)
    assert [a for a in actions if isinstance(a, (Branch, Start))] == [
        Branch("d1", ("vip",), "matched “VIP”"), Branch("d2", ("vip",), "matched “VIP”"),
        Start("s_vip", "g_lead", ("d2", "vip"))]
    assert calls == [1]
    decide(graph(split_graph()), NEW, {"type": "tag_applied", "contact_id": 1, "source": "user", "tag": "ab"}, facts)
    assert calls == [1]  # a split needs no facts


def test_a_split_assigns_by_contact_and_node() -> None:
    compiled_ = graph(split_graph())
    seen = set()
    for contact_id in range(1, 40):
        event = {"type": "tag_applied", "contact_id": contact_id, "source": "user", "tag": "ab"}
        actions = decide(compiled_, NEW, event)
        [branch] = [a for a in actions if isinstance(a, Branch)]
        [start] = [a for a in actions if isinstance(a, Start)]
        assert start == Start(f"s_{branch.branch_ids[0]}", "g_ab", ("x1", branch.branch_ids[0]))
        assert decide(compiled_, NEW, event) == actions  # re-runs agree
        seen.add(branch.branch_ids)
    assert seen == {("a",), ("b",)}


def test_a_completed_sequence_leads_into_a_decision() -> None:
    data = {"nodes": [goal("g", "go"), tag_seq("s1", "x"), decision(), tag_seq("s_vip", "v")],
            "edges": [edge("g", "s1"), edge("s1", "d1"), edge("d1", "s_vip", "vip")]}
    done = Presence(enrolled=True, runs=(("s1", "completed"),))
    assert after_sequence(graph(data), done, "s1", contact_id=3, facts=lambda: Facts(tags=frozenset({"vip"}))) == [
        Branch("d1", ("vip",), "matched “VIP”"), Start("s_vip", None, ("d1", "vip"))]
    # A path that leads nowhere is still recorded; nothing starts.
    assert after_sequence(graph(data), done, "s1", contact_id=3, facts=lambda: Facts()) == [
        Branch("d1", ("otherwise",), "matched no path: took Otherwise")]


def test_a_decision_path_into_a_running_sequence_is_skipped() -> None:
    running = Presence(enrolled=True, runs=(("s_vip", "active"),))
    actions = decide(graph(vip_graph()), running, lead(), lambda: Facts(tags=frozenset({"vip"})))
    assert actions[-1] == Skip("s_vip", "already_running")


def test_split_after_split_is_independent() -> None:
    data = split_graph()
    data["nodes"].append(split("x2", (1, 1)))
    data["nodes"] = [n for n in data["nodes"] if n["id"] != "s_a"] + [tag_seq("s_a2", "a2"), tag_seq("s_b2", "b2")]
    data["edges"] = [e for e in data["edges"] if e.get("branch") != "a"] + [
        edge("x1", "x2", "a"), edge("x2", "s_a2", "a"), edge("x2", "s_b2", "b")]
    compiled_ = graph(data)
    second = set()
    for contact_id in range(1, 60):
        actions = decide(compiled_, NEW, {"type": "tag_applied", "contact_id": contact_id, "source": "user", "tag": "ab"})
        branches = [a for a in actions if isinstance(a, Branch)]
        if branches[0].branch_ids == ("a",):
            assert branches[1].node_id == "x2"
            second.add(branches[1].branch_ids)
    assert second == {("a",), ("b",)}
