"""`decide()`: the seed-001 goal rules as a pure function, tested with no database at all."""

from __future__ import annotations

import typing as t

import pytest

from runtime.execution.decide import Enroll
from runtime.execution.decide import Hit
from runtime.execution.decide import Presence
from runtime.execution.decide import Skip
from runtime.execution.decide import Start
from runtime.execution.decide import Stop
from runtime.execution.decide import after_sequence
from runtime.execution.decide import decide
from runtime.graphs.compiler import CompiledCampaign
from runtime.graphs.compiler import compile_graph
from runtime.graphs.graph import parse_graph

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
    assert after_sequence(campaign, done, "s1") == [Start("s2", None)]
    again = Presence(enrolled=True, runs=(("s1", "completed"), ("s2", "completed")))
    assert after_sequence(campaign, again, "s1") == [Skip("s2", "reentry_off")]
