"""Decisions and splits in the running engine: paths taken at the moment of arrival, leaving, counts,
the contact's history, splits over many contacts, and publishing changes to paths."""

from __future__ import annotations

import copy
import typing as t
from collections import Counter

from sqlalchemy import select

from models import BranchHit
from models import Contact
from models import DomainEvent
from models.contacts import apply_tag
from models.contacts import update_contact
from runtime import campaigns
from runtime import publishing
from runtime import sequence_history
from runtime.graphs.branches import choose_split
from runtime.graphs.branches import split_spec
from runtime.graphs.graph import SplitNode
from tests.runtime.branching_graphs import decision
from tests.runtime.branching_graphs import edge
from tests.runtime.branching_graphs import goal as tag_goal
from tests.runtime.branching_graphs import seq as tag_seq
from tests.runtime.branching_graphs import split
from tests.runtime.branching_graphs import split_graph
from tests.runtime.branching_graphs import vip_graph
from tests.runtime.engine_fixtures import *  # noqa: F403
from tests.runtime.engine_fixtures import ADMIN
from tests.runtime.engine_fixtures import Env


def tags_of(env: Env, contact: Contact) -> set[str]:
    env.session.refresh(contact)
    return {tag.name for tag in contact.tags}


def hits(env: Env, contact: Contact | None = None) -> list[tuple[str, str | None]]:
    query = select(BranchHit.node_id, BranchHit.branch_id).order_by(BranchHit.id)
    if contact is not None:
        query = query.where(BranchHit.contact_id == contact.id)
    return [(n, b) for n, b in env.session.execute(query)]


def test_a_vip_takes_the_vip_path_and_the_history_says_so(env: Env) -> None:
    camp = env.publish(vip_graph(), "VIP")
    ada = env.contact("ada@example.com")
    apply_tag(env.session, ADMIN, ada.id, "vip")
    apply_tag(env.session, ADMIN, ada.id, "lead")
    env.tick()
    assert env.statuses(ada) == {"s_vip": "completed"}
    assert "went-vip" in tags_of(env, ada)
    [run] = env.runs(ada)
    assert (run.branch_node_id, run.branch_id, run.started_by_goal) == ("d1", "vip", "g_lead")
    assert hits(env, ada) == [("d1", "vip")]
    history = sequence_history.contact_sequences(env.session, ada.id)
    assert [(h["kind"], h["name"], h["status"]) for h in history] == [
        ("decision", "VIP? → VIP", "branched"), ("sequence", "VIP welcome", "completed")]
    assert history[0]["stop_reason"] == "matched “VIP”"
    stats = campaigns.stats(env.session, ADMIN, camp.id)
    assert stats["branches"]["d1"] == {"vip": 1, "big": 0, "otherwise": 0}
    assert stats["nodes"]["d1"]["passed"] == 1 and stats["nodes"]["d1"]["left"] == 0


def test_mode_all_and_otherwise(env: Env) -> None:
    camp = env.publish(vip_graph(mode="all"), "All")
    both = env.contact("both@example.com", fields={"company_size": 900})
    apply_tag(env.session, ADMIN, both.id, "vip")
    nobody = env.contact("nobody@example.com", fields={"company_size": 3})
    for contact in (both, nobody):
        apply_tag(env.session, ADMIN, contact.id, "lead")
    env.tick()
    assert env.statuses(both) == {"s_vip": "completed", "s_big": "completed"}
    assert env.statuses(nobody) == {"s_rest": "completed"}
    assert hits(env) == [("d1", "vip"), ("d1", "big"), ("d1", "otherwise")]
    assert campaigns.stats(env.session, ADMIN, camp.id)["branches"]["d1"] == {"vip": 1, "big": 1, "otherwise": 1}


def test_a_contact_matching_nothing_without_otherwise_leaves_with_the_reason(env: Env) -> None:
    camp = env.publish(vip_graph(otherwise=False), "Strict")
    grace = env.contact("grace@example.com")
    apply_tag(env.session, ADMIN, grace.id, "lead")
    env.tick()
    assert env.runs(grace) == []
    assert hits(env, grace) == [("d1", None)]
    [row] = sequence_history.contact_sequences(env.session, grace.id)
    assert (row["kind"], row["status"], row["name"]) == ("decision", "left", "VIP?")
    assert row["stop_reason"] == "matched no path of “VIP?”, which has no Otherwise path: left the campaign"
    stats = campaigns.stats(env.session, ADMIN, camp.id)
    assert stats["nodes"]["d1"]["left"] == 1 and stats["branches"]["d1"] == {"vip": 0, "big": 0}


def test_the_decision_reads_facts_when_the_contact_arrives_after_a_sequence(env: Env) -> None:
    """s1 tags the contact "vip" (a buffered write in the step batch); the decision after s1 sees it."""
    data = {"nodes": [tag_goal("g", "lead"), tag_seq("s1", "vip"), decision(), tag_seq("s_vip", "went-vip"),
                      tag_seq("s_rest", "went-rest")],
            "edges": [edge("g", "s1"), edge("s1", "d1"), edge("d1", "s_vip", "vip"), edge("d1", "s_rest", "otherwise")]}
    env.publish(data)
    ada = env.contact()
    apply_tag(env.session, ADMIN, ada.id, "lead")
    env.tick()
    assert env.statuses(ada) == {"s1": "completed", "s_vip": "completed"}
    assert hits(env, ada) == [("d1", "vip")]


def test_the_decision_sees_the_opportunity_on_the_path_and_custom_fields(env: Env) -> None:
    qualified = env.stage("Qualified")
    rules = {"all": [{"field": "opportunity.stage_id", "op": "eq", "value": qualified},
                     {"any": [{"field": "opportunity.value", "op": "gte", "value": 10000},
                              {"field": "contact.fields.company_size", "op": "gte", "value": 500}]}]}
    data = {"nodes": [{"id": "g", "kind": "goal", "type": "stage_moved", "name": "Qualified",
                       "config": {"stage_id": qualified, "direction": "into"}},
                      decision(branches=[{"id": "big", "label": "Big", "rules": rules}]),
                      tag_seq("s_big", "went-big"), tag_seq("s_rest", "went-rest")],
            "edges": [edge("g", "d1"), edge("d1", "s_big", "big"), edge("d1", "s_rest", "otherwise")]}
    env.publish(data)
    rich, small, large = (env.contact(f"{n}@example.com") for n in ("rich", "small", "large"))
    for contact, value in ((rich, 25000.0), (small, 500.0), (large, 500.0)):
        opp = env.opportunity(contact, "Prospect")
        opp.value = value
        if contact is large:
            update_contact(env.session, ADMIN, contact.id, {"fields": {"company_size": 800}})
        env.move(opp, "Qualified")
    env.tick()
    assert env.statuses(rich) == {"s_big": "completed"}
    assert env.statuses(small) == {"s_rest": "completed"}
    assert env.statuses(large) == {"s_big": "completed"}
    [run] = env.runs(rich)
    assert run.opportunity_id is not None  # the path's opportunity stays on the run


def test_email_engagement_of_this_campaign_only(env: Env) -> None:
    opened = {"all": [{"field": "email.opened", "op": "eq", "value": True}]}
    camp = env.publish({"nodes": [tag_goal("g", "lead"), decision(branches=[{"id": "o", "label": "Opened",
                                                                         "rules": opened}]),
                                  tag_seq("s_o", "went-vip"), tag_seq("s_rest", "went-rest")],
                        "edges": [edge("g", "d1"), edge("d1", "s_o", "o"), edge("d1", "s_rest", "otherwise")]})
    reader, other = env.contact("reader@example.com"), env.contact("other@example.com")
    # Tracked email records opens as events naming the campaign (DESIGN.md §6.3); none exists yet here.
    env.session.add(DomainEvent(type="email_opened", contact_id=reader.id, payload={"campaign_id": camp.id}))
    env.session.add(DomainEvent(type="email_opened", contact_id=other.id, payload={"campaign_id": camp.id + 1}))
    for contact in (reader, other):
        apply_tag(env.session, ADMIN, contact.id, "lead")
    env.tick()
    assert env.statuses(reader) == {"s_o": "completed"}
    assert env.statuses(other) == {"s_rest": "completed"}


def test_split_over_many_contacts_matches_the_pure_choice_and_counts(env: Env) -> None:
    camp = env.publish(split_graph((1, 3)), "AB")
    contacts = [env.contact(f"c{i}@example.com") for i in range(120)]
    for contact in contacts:
        apply_tag(env.session, ADMIN, contact.id, "ab")
    env.tick()
    spec = split_spec(SplitNode.model_validate(split(weights=(1, 3))))
    expected = Counter(choose_split(spec, c.id, "x1").taken[0] for c in contacts)
    for contact in contacts:
        want = choose_split(spec, contact.id, "x1").taken[0]
        assert env.statuses(contact) == {f"s_{want}": "completed"}
    stats = campaigns.stats(env.session, ADMIN, camp.id)
    assert stats["branches"]["x1"] == {"a": expected["a"], "b": expected["b"]}
    assert 10 <= expected["a"] <= 50  # about a quarter of 120


def test_removing_a_path_stops_contacts_waiting_after_it(env: Env) -> None:
    """v1: A/B split into waiting sequences. v2: path B removed (s_b now fed by a new path C)."""
    v1 = split_graph((50, 50))
    for node in v1["nodes"]:
        if node["kind"] == "sequence":
            node["steps"] = [{"id": f"{node['id']}_wait", "type": "delay", "config": {"amount": 3, "unit": "days"}}]
    camp = env.publish(v1, "AB")
    contacts = [env.contact(f"m{i}@example.com") for i in range(30)]
    for contact in contacts:
        apply_tag(env.session, ADMIN, contact.id, "ab")
    env.tick()
    on_b = [c for c in contacts if env.statuses(c) == {"s_b": "active"}]
    on_a = [c for c in contacts if env.statuses(c) == {"s_a": "active"}]
    assert on_a and on_b and len(on_a) + len(on_b) == 30

    v2 = copy.deepcopy(v1)
    x1 = next(n for n in v2["nodes"] if n["id"] == "x1")
    x1["branches"] = [{"id": "a", "label": "A", "weight": 50}, {"id": "c", "label": "C", "weight": 50}]
    v2["edges"] = [e for e in v2["edges"] if e.get("branch") != "b"] + [edge("x1", "s_b", "c")]
    campaigns.save_draft(env.session, ADMIN, camp.id, v2)
    dry = publishing.publish(env.session, ADMIN, camp.id, dry_run=True)
    assert [(e["branch_id"], e["label"], e["contacts"]) for e in dry["diff"]["branches"]["removed"]] == [
        ("b", "B", len(on_b))]
    assert [e["branch_id"] for e in dry["diff"]["branches"]["added"]] == ["c"]
    result = publishing.publish(env.session, ADMIN, camp.id)
    assert result["migration"]["stopped_by_branch"] == {"x1/b": len(on_b)}
    assert result["migration"]["stopped"] == len(on_b)
    env.tick()
    for contact in on_b:
        [run] = env.runs(contact)
        assert run.status == "stopped"
        assert run.stop_reason == "path “B” of “A/B” removed in version 2"
    for contact in on_a:
        assert env.statuses(contact) == {"s_a": "active"}


def test_removing_a_whole_decision_stops_its_paths_contacts_but_a_kept_path_keeps_them(env: Env) -> None:
    data = vip_graph()
    for node in data["nodes"]:
        if node["kind"] == "sequence":
            node["steps"] = [{"id": f"{node['id']}_wait", "type": "delay", "config": {"amount": 3, "unit": "days"}}]
    camp = env.publish(data, "VIP")
    vip, plain = env.contact("vip@example.com"), env.contact("plain@example.com")
    apply_tag(env.session, ADMIN, vip.id, "vip")
    for contact in (vip, plain):
        apply_tag(env.session, ADMIN, contact.id, "lead")
    env.tick()
    # v2: Otherwise now leads to s_vip instead of s_rest; VIP still leads to s_vip. Paths survive: runs continue.
    v2 = copy.deepcopy(data)
    v2["edges"] = [e for e in v2["edges"] if e.get("branch") != "otherwise"]
    v2["nodes"] = [n for n in v2["nodes"] if n["id"] != "s_rest"] + [tag_seq("s_rest", "went-rest")]
    v2["nodes"] = [n for n in v2["nodes"] if n["id"] != "s_rest"]
    v2["edges"].append(edge("d1", "s_big", "otherwise"))
    v2["edges"] = [e for e in v2["edges"] if e.get("branch") != "big"]
    node = next(n for n in v2["nodes"] if n["id"] == "d1")
    node["branches"] = node["branches"][:1]
    campaigns.save_draft(env.session, ADMIN, camp.id, v2)
    result = publishing.publish(env.session, ADMIN, camp.id)
    assert result["migration"]["stopped_by_node"] == {"s_rest": 1}  # plain sat in s_rest, now gone
    assert env.statuses(vip) == {"s_vip": "active"}
    # v3: the decision itself is removed; the goal leads straight to s_vip.
    v3 = {"nodes": [tag_goal("g_lead", "lead"), tag_seq("s_vip", "went-vip")], "edges": [edge("g_lead", "s_vip")]}
    v3["nodes"][1]["steps"] = [{"id": "s_vip_wait", "type": "delay", "config": {"amount": 3, "unit": "days"}}]
    campaigns.save_draft(env.session, ADMIN, camp.id, v3)
    result = publishing.publish(env.session, ADMIN, camp.id)
    assert result["migration"]["stopped_by_branch"] == {"d1/vip": 1}
    [run] = env.runs(vip)
    assert run.status == "stopped" and run.stop_reason == "path “VIP” of “VIP?” removed in version 3"


def test_a_paused_campaign_sends_nobody_through_its_decision(env: Env) -> None:
    camp = env.publish(vip_graph(), "Paused")
    publishing.set_paused(env.session, ADMIN, camp.id, True)
    ada = env.contact()
    apply_tag(env.session, ADMIN, ada.id, "lead")
    env.tick()
    assert env.runs(ada) == [] and hits(env) == []


def test_branching_on_postgresql(pg_env: Env) -> None:
    env = pg_env
    camp = env.publish(vip_graph(otherwise=False), "PG")
    vip, grace = env.contact("vip@example.com"), env.contact("grace@example.com")
    apply_tag(env.session, ADMIN, vip.id, "vip")
    for contact in (vip, grace):
        apply_tag(env.session, ADMIN, contact.id, "lead")
    env.tick()
    assert env.statuses(vip) == {"s_vip": "completed"} and env.runs(grace) == []
    stats: dict[str, t.Any] = campaigns.stats(env.session, ADMIN, camp.id)
    assert stats["branches"]["d1"] == {"vip": 1, "big": 0} and stats["nodes"]["d1"]["left"] == 1
