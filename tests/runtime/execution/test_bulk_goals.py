"""Bulk tags fire each contact's goals exactly as single tags do (SQLite and PostgreSQL).

Each scenario runs twice — tags applied one by one through `apply_tag`, and
all at once through `apply_tag_many` (one batch, set-based matching) — with
the same assertions, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import typing as t

import pytest
from sqlalchemy import func
from sqlalchemy import select

from models import Enrollment
from models import GoalHit
from models import SequenceRun
from models import events
from models import sets
from models.contacts import apply_tag
from models.contacts import apply_tag_many
from models.contacts import remove_tag
from models.contacts import remove_tag_many
from runtime import publishing
from tests.runtime.engine_fixtures import *  # noqa: F403
from tests.runtime.engine_fixtures import ADMIN
from tests.runtime.engine_fixtures import Env
from tests.runtime.engine_fixtures import goal
from tests.runtime.engine_fixtures import graph
from tests.runtime.engine_fixtures import seq
from tests.runtime.engine_fixtures import step

MODES = ("single", "bulk")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest) -> Env:
    """The engine test world on SQLite or PostgreSQL."""
    return t.cast(Env, request.getfixturevalue("env" if request.param == "sqlite" else "pg_env"))


def tag_all(env: Env, mode: str, contact_ids: list[int], name: str) -> list[int]:
    """Tag contacts one by one or in one bulk call; return who got the tag."""
    if mode == "bulk":
        return apply_tag_many(env.session, ADMIN, contact_ids, name)
    return [c for c in contact_ids if apply_tag(env.session, ADMIN, c, name)]


def untag_all(env: Env, mode: str, contact_ids: list[int], name: str) -> list[int]:
    """Remove a tag one by one or in one bulk call; return who had it."""
    if mode == "bulk":
        return remove_tag_many(env.session, ADMIN, contact_ids, name)
    return [c for c in contact_ids if remove_tag(env.session, ADMIN, c, name)]


def note(step_id: str) -> dict[str, t.Any]:
    return step(step_id, "create_note", body=step_id)


def wait(step_id: str) -> dict[str, t.Any]:
    return step(step_id, "delay", amount=1, unit="days")


def hits(env: Env, node: str) -> dict[int, int]:
    """contact id → goal hits on a node."""
    rows = env.session.execute(select(GoalHit.contact_id, func.count()).where(GoalHit.node_id == node)
                               .group_by(GoalHit.contact_id))
    return {contact_id: n for contact_id, n in rows}


def runs_of(env: Env, contact_id: int) -> list[tuple[str, str, str | None]]:
    """(node, status, started by goal) of a contact's runs, oldest first."""
    return [(r.node_id, r.status, r.started_by_goal)
            for r in env.session.scalars(select(SequenceRun).where(SequenceRun.contact_id == contact_id)
                                         .order_by(SequenceRun.id))]


@pytest.mark.parametrize("mode", MODES)
def test_bulk_tag_enrolls_each_new_contact_once(world: Env, mode: str) -> None:
    env = world
    env.publish(graph([goal("g", "tag_applied", "Go", tag="go"), seq("s", wait("w"), note("n"))], "g>s"))
    people = [env.contact(f"p{i}@example.com").id for i in range(5)]
    apply_tag(env.session, ADMIN, people[0], "go")  # already tagged: no event, nothing new
    before = runs_of(env, people[0])
    got = tag_all(env, mode, [*people, people[1]], "go")  # listed twice: told once
    assert got == people[1:]
    env.tick()
    assert hits(env, "g") == dict.fromkeys(people, 1)
    assert runs_of(env, people[0]) == before
    for contact_id in people[1:]:
        assert runs_of(env, contact_id) == [("s", "active", "g")]
    assert env.session.scalar(select(func.count()).select_from(Enrollment)) == 5
    assert env.session.scalar(select(func.count()).where(events.DomainEvent.type == "tag_applied")) == 5


@pytest.mark.parametrize("mode", MODES)
def test_contacts_already_in_the_sequence_are_hit_but_not_started_again(world: Env, mode: str) -> None:
    env = world
    env.publish(graph([goal("a", "tag_applied", tag="a"), goal("b", "tag_applied", tag="b"),
                       seq("s", wait("w"), note("n"))], "a>s", "b>s"))
    inside, outside = env.contact("in@example.com").id, env.contact("out@example.com").id
    apply_tag(env.session, ADMIN, inside, "a")
    env.tick()
    tag_all(env, mode, [inside, outside], "b")
    env.tick()
    assert runs_of(env, inside) == [("s", "active", "a")]  # already running: the goal counts, no second run
    assert runs_of(env, outside) == [("s", "active", "b")]
    assert hits(env, "b") == {inside: 1, outside: 1}


@pytest.mark.parametrize("mode", MODES)
def test_paused_campaign_takes_no_bulk_entries(world: Env, mode: str) -> None:
    env = world
    campaign = env.publish(graph([goal("g", "tag_applied", tag="go"), seq("s", note("n"))], "g>s"))
    publishing.set_paused(env.session, ADMIN, campaign.id, True)
    people = [env.contact(f"p{i}@example.com").id for i in range(3)]
    assert tag_all(env, mode, people, "go") == people
    env.tick()
    assert hits(env, "g") == {}
    assert env.session.scalar(select(func.count()).select_from(SequenceRun)) == 0
    publishing.set_paused(env.session, ADMIN, campaign.id, False)
    env.tick()
    assert env.session.scalar(select(func.count()).select_from(SequenceRun)) == 0  # nothing retroactive


@pytest.mark.parametrize("allow", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_reentry_after_untag_and_retag(world: Env, mode: str, allow: bool) -> None:
    env = world
    env.publish(graph([goal("g", "tag_applied", tag="go"), seq("s", note("n"))], "g>s"), allow_reentry=allow)
    people = [env.contact(f"p{i}@example.com").id for i in range(3)]
    tag_all(env, mode, people, "go")
    env.tick()
    assert untag_all(env, mode, people, "go") == people
    assert untag_all(env, mode, people, "go") == []  # nothing left to remove: no event
    tag_all(env, mode, people, "go")
    env.tick()
    expected = [("s", "completed", "g")] * (2 if allow else 1)
    for contact_id in people:
        assert runs_of(env, contact_id) == expected
    assert hits(env, "g") == dict.fromkeys(people, 2)


def _path(env: Env) -> None:
    env.publish(graph([goal("g1", "tag_applied", "Lead", tag="lead"), seq("s1", wait("w1"), note("n1")),
                       goal("g2", "tag_applied", "Hot", tag="hot"), seq("s2", wait("w2"), note("n2"))],
                      "g1>s1", "s1>g2", "g2>s2"))


def test_one_batch_starting_and_stopping_a_contacts_sequence(world: Env) -> None:
    """Events [lead, hot] of one contact in one batch: s1 starts and stops, s2 starts — as one by one."""
    env = world
    _path(env)
    a, b = env.contact("a@example.com").id, env.contact("b@example.com").id
    apply_tag(env.session, ADMIN, b, "lead")
    env.tick()
    batch = [events.TagApplied(contact_id=a, tag="lead"), events.TagApplied(contact_id=a, tag="hot"),
             events.TagApplied(contact_id=b, tag="hot")]
    events.record_many(env.session, batch)
    env.tick()
    assert runs_of(env, a) == [("s1", "stopped", "g1"), ("s2", "active", "g2")]
    assert runs_of(env, b) == [("s1", "stopped", "g1"), ("s2", "active", "g2")]
    stopped = env.session.scalars(select(SequenceRun.stop_reason).where(SequenceRun.status == "stopped")).all()
    assert stopped == ["goal 'Hot' satisfied"] * 2
    assert hits(env, "g2") == {a: 1, b: 1}


def test_non_entry_goal_in_a_batch_needs_enrollment_first(world: Env) -> None:
    """hot before lead in one batch: hot finds the contact outside the campaign (as one by one)."""
    env = world
    _path(env)
    a = env.contact("a@example.com").id
    events.record_many(env.session, [events.TagApplied(contact_id=a, tag="hot"),
                                     events.TagApplied(contact_id=a, tag="lead")])
    env.tick()
    assert runs_of(env, a) == [("s1", "active", "g1")]
    assert hits(env, "g2") == {}


def test_chunked_in_lists(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """IN lists split into chunks give the same result."""
    monkeypatch.setattr(sets, "IN_CHUNK", 2)
    env.publish(graph([goal("g", "tag_applied", tag="go"), seq("s", note("n"))], "g>s"))
    people = [env.contact(f"p{i}@example.com").id for i in range(7)]
    apply_tag(env.session, ADMIN, people[0], "go")
    env.tick()
    assert apply_tag_many(env.session, ADMIN, people, "go") == people[1:]
    env.tick()
    assert hits(env, "g") == dict.fromkeys(people, 1)
    for contact_id in people:
        assert runs_of(env, contact_id) == [("s", "completed", "g")]


def test_runs_of_many_small_groups_are_inserted_row_by_row(world: Env) -> None:
    """Stage moves of four deals in one batch: each run carries its own opportunity."""
    env = world
    env.publish(graph([goal("g", "stage_moved", stage_id=env.stage("Qualified"), direction="into"),
                       seq("s", note("n"))], "g>s"))
    deals = [env.opportunity(env.contact(f"p{i}@example.com"), "Prospect") for i in range(4)]
    events.record_many(env.session, [
        events.StageMoved(contact_id=d.contact_id, opportunity_id=d.id, pipeline_id=d.pipeline_id,
                          from_stage_id=d.stage_id, to_stage_id=env.stage("Qualified")) for d in deals])
    env.tick()
    runs = {r.contact_id: r for r in env.session.scalars(select(SequenceRun))}
    assert {c: (r.opportunity_id, r.status) for c, r in runs.items()} == {
        d.contact_id: (d.id, "completed") for d in deals}
