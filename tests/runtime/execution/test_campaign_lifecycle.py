"""Campaigns over time: publish migration of runs in flight, stats, history, manual run control, overdue deals."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select

from models import Note
from models import SequenceRun
from models import User
from models import events
from models.access import SYSTEM
from models.access import Actor
from models.contacts import apply_tag
from models.contacts import create_contact
from models.contacts import ensure_tag
from models.db import make_engine
from models.db import make_session_factory
from models.errors import Conflict
from models.errors import Forbidden
from models.errors import NotFound
from models.opportunities import create_opportunity
from models.outcomes import close_opportunity
from models.overdue import record_overdue
from runtime import campaigns
from runtime import publishing
from runtime import sequence_history
from runtime import stats as stats_service
from runtime.execution import migration
from runtime.execution.runs import transition
from tests.runtime.engine_fixtures import *  # noqa: F403
from tests.runtime.engine_fixtures import ADMIN
from tests.runtime.engine_fixtures import Env
from tests.runtime.engine_fixtures import goal
from tests.runtime.engine_fixtures import graph
from tests.runtime.engine_fixtures import seq
from tests.runtime.engine_fixtures import step
from tests.runtime.execution.goal_steps import note
from tests.runtime.execution.goal_steps import tag
from tests.runtime.execution.goal_steps import wait

# --- publishing with runs in flight --------------------------------------------------------------


def test_migrate_runs_on_republish(env: Env) -> None:
    v1 = graph(
        [
            goal("g", "tag_applied", tag="t"),
            seq(
                "s1",
                note("n1", "one"),
                step("d1", "delay", amount=1, unit="days"),
                note("n2", "two"),
            ),
            seq("s3", wait("w8"), note("n3")),
        ],
        "g>s1",
        "g>s3",
    )
    camp = env.publish(v1)
    c = env.contact()
    tag(env, c.id, "t")
    env.tick()
    assert migration.contacts_on_nodes(env.session, camp.id, ["s1", "s3", "nope"]) == {
        "s1": 1,
        "s3": 1,
        "nope": 0,
    }
    v2 = graph(
        [
            goal("g", "tag_applied", tag="t"),
            seq(
                "s1",
                note("n0", "inserted"),
                note("n1", "one"),
                step("d1", "delay", amount=1, unit="days"),
                note("n2", "two"),
            ),
        ],
        "g>s1",
    )
    env.publish(v2, campaign_id=camp.id)
    runs = {r.node_id: r for r in env.runs(c)}
    assert runs["s3"].status == "stopped" and runs["s3"].stop_reason == "removed in version 2"
    assert runs["s1"].status == "active" and runs["s1"].step_index == 3  # still right after d1
    env.clock.advance(days=1)
    env.tick()
    bodies = list(
        env.session.scalars(select(Note.body).where(Note.contact_id == c.id).order_by(Note.id))
    )
    assert bodies == ["one", "two"]  # the inserted step before the run's position is not run


def test_migrate_runs_reports_counts(env: Env) -> None:
    camp = env.publish(
        graph(
            [
                goal("g", "tag_applied", tag="t"),
                seq("s1", wait("w9"), note("a")),
                seq("s2", wait("w10"), note("b")),
            ],
            "g>s1",
            "g>s2",
        )
    )
    for i in range(3):
        tag(env, env.contact(f"c{i}@example.com").id, "t")
    env.tick()
    env.session.commit()
    campaigns.save_draft(
        env.session,
        ADMIN,
        camp.id,
        graph([goal("g", "tag_applied", tag="t"), seq("s1", wait("w11"), note("a"))], "g>s1"),
    )
    result = publishing.publish(env.session, ADMIN, camp.id)
    assert result["migration"]["moved"] == 3
    assert result["migration"]["stopped"] == 3
    assert result["migration"]["stopped_by_node"] == {"s2": 3}


@pytest.mark.parametrize(
    ("old", "new", "index", "expected"),
    [
        ("abc", "abc", 1, 1),  # unchanged
        ("abc", "xabc", 1, 2),  # inserted before: same step
        ("abc", "ac", 1, 1),  # current removed: the next survivor
        ("abc", "axc", 1, 1),  # current replaced: the replacement (right after the last survivor)
        ("abc", "bc", 0, 0),  # not started: from the top
        ("ab", "abc", 2, 2),  # at the end (after a final timer): steps appended later run
        ("abc", "xyz", 2, 3),  # nothing survives: the run completes
        ("abc", "xyz", 0, 0),
    ],
)
def test_new_step_index(old: str, new: str, index: int, expected: int) -> None:
    from runtime.graphs.compiler import StepSpec

    def steps(ids: str) -> tuple[StepSpec, ...]:
        return tuple(StepSpec(i, "create_note", {"body": i}) for i in ids)

    assert migration.new_step_index(steps(old), steps(new), index) == expected


# --- stats, history, manual control --------------------------------------------------------------


def test_campaign_stats(env: Env) -> None:
    camp = env.publish(
        graph(
            [
                goal("g", "tag_applied", tag="t"),
                seq("s", step("w", "delay", amount=1, unit="hours"), note("n")),
            ],
            "g>s",
        )
    )
    a, b, c = (env.contact(f"{x}@example.com") for x in "abc")
    for contact in (a, b, c):
        tag(env, contact.id, "t")
    env.tick()  # all three now wait on the timer
    stats = stats_service.campaign_stats(env.session, camp.id)
    assert stats["g"]["satisfied"] == 3
    assert stats["s"]["waiting"] == 3 and stats["s"]["active"] == 0
    run_b, run_c = env.runs(b)[0], env.runs(c)[0]
    sequence_history.set_run_status(env.session, ADMIN, run_b.id, "stopped")
    sequence_history.set_run_status(env.session, ADMIN, run_c.id, "paused")
    env.clock.advance(hours=2)
    stats = stats_service.campaign_stats(env.session, camp.id)
    assert (
        stats["s"]["active"],
        stats["s"]["waiting"],
        stats["s"]["paused"],
        stats["s"]["stopped"],
    ) == (1, 0, 1, 1)
    env.tick()
    stats = stats_service.campaign_stats(env.session, camp.id)
    assert stats["s"]["completed"] == 1 and stats["s"]["active"] == 0


def test_run_pause_resume_stop(env: Env) -> None:
    env.publish(
        graph(
            [
                goal("g", "tag_applied", tag="t"),
                seq("s", step("w", "delay", amount=1, unit="hours"), note("n")),
            ],
            "g>s",
        )
    )
    c = env.contact()
    tag(env, c.id, "t")
    env.tick()
    run = env.runs(c)[0]
    rep = Actor(user_id=env.ids["rep1"], role="rep")
    marketer = Actor(user_id=env.ids["marketer"], role="marketer")
    with pytest.raises(Forbidden):
        sequence_history.set_run_status(env.session, marketer, run.id, "paused")
    with pytest.raises(NotFound):  # the rep sees none of this contact's opportunities yet
        sequence_history.set_run_status(env.session, rep, run.id, "paused")
    env.opportunity(c, "Prospect", owner=env.session.get(User, env.ids["rep1"]))
    sequence_history.set_run_status(env.session, rep, run.id, "paused")
    env.clock.advance(hours=2)
    assert env.tick() == 0  # a paused run is not claimed when due
    sequence_history.set_run_status(env.session, rep, run.id, "active")
    assert env.tick() == 1
    assert env.runs(c)[0].status == "completed"
    with pytest.raises(Conflict) as info:
        sequence_history.set_run_status(env.session, rep, run.id, "stopped")
    assert info.value.code == "run_finished"


def test_stopped_run_is_final(env: Env) -> None:
    env.publish(graph([goal("g", "tag_applied", tag="t"), seq("s", wait("w12"), note("n"))], "g>s"))
    c = env.contact()
    tag(env, c.id, "t")
    env.tick()
    run = env.runs(c)[0]
    sequence_history.set_run_status(env.session, ADMIN, run.id, "stopped")
    assert run.status == "stopped" and run.stop_reason == "stopped by hand"
    for target in ("active", "paused"):
        with pytest.raises(Conflict):
            sequence_history.set_run_status(env.session, ADMIN, run.id, target)


def test_contact_sequences_history(env: Env) -> None:
    camp = env.publish(
        graph(
            [goal("g", "tag_applied", tag="t"), seq("s", wait("w13"), note("n"), name="Nurture")],
            "g>s",
        ),
        "Welcome",
    )
    c = env.contact()
    tag(env, c.id, "t")
    env.tick()
    [row] = sequence_history.contact_sequences(env.session, c.id)
    assert row["campaign_id"] == camp.id and row["campaign_name"] == "Welcome"
    assert (row["node_id"], row["name"], row["status"]) == ("s", "Nurture", "active")
    assert row["current_step"] == "n"
    assert row["next_due_at"] == (env.clock.now() + timedelta(days=1)).isoformat()
    assert row["ended_at"] is None and row["last_error"] is None and row["stop_reason"] is None


# --- overdue opportunities -----------------------------------------------------------------------


def test_check_overdue_once_per_stage_entry(env: Env) -> None:
    env.publish(
        graph(
            [
                goal("g", "stage_overdue", "Stuck in Prospect", stage_id=env.stage("Prospect")),
                seq("s", note("n", "nudge")),
            ],
            "g>s",
        ),
        allow_reentry=True,
    )
    c = env.contact()
    opp = env.opportunity(c, "Prospect")  # target 7 days
    env.clock.advance(days=6)
    assert record_overdue(env.session) == 0
    env.clock.advance(days=2)
    assert record_overdue(env.session) == 1
    assert record_overdue(env.session) == 0  # once per stage entry
    env.tick()
    assert env.statuses(c) == {"s": "completed"}
    env.move(opp, "Qualified")
    env.move(opp, "Prospect")
    assert record_overdue(env.session) == 0
    env.clock.advance(days=8)
    assert record_overdue(env.session) == 1  # a new entry into the stage


def test_a_lost_deal_is_never_overdue_and_a_move_step_leaves_closed_deals_alone(env: Env) -> None:
    """Lost in Prospect and left there: no stage_overdue; a campaign's move step skips it, saying why."""
    env.publish(graph([goal("g", "tag_applied", tag="go"),
                       seq("s", step("m", "move_opportunity", stage_id=env.stage("Qualified")))], "g>s"))
    c = env.contact()
    opp = env.opportunity(c, "Prospect")  # target 7 days; a required checklist item unticked
    close_opportunity(env.session, SYSTEM, opp.id, "lost", reason="No budget")
    env.clock.advance(days=30)
    assert record_overdue(env.session) == 0
    ensure_tag(env.session, "go")
    apply_tag(env.session, SYSTEM, c.id, "go")
    env.tick()
    assert env.statuses(c) == {"s": "completed"}
    assert (opp.stage_id, opp.outcome) == (env.stage("Prospect"), "lost")


def test_handle_event_ignores_events_without_contact_or_match(env: Env) -> None:
    env.publish(graph([goal("g", "tag_applied", tag="t"), seq("s", note("n"))], "g>s"))
    events.record(env.session, events.Reported(kind="api_event", fields={"name": "x"}, contact_id=None))
    events.record(env.session, events.Reported(kind="api_event", fields={"name": "nothing listens"},
                                               contact_id=env.contact().id))
    assert env.session.scalar(select(func.count()).select_from(SequenceRun)) == 0


def test_hand_made_opportunity_event_keeps_source_user(env: Env) -> None:
    c = env.contact()
    opp = create_opportunity(
        env.session,
        ADMIN,
        title="x",
        contact_id=c.id,
        pipeline_id=env.ids["sales"],
        stage_id=env.stage("Qualified"),
    )
    assert opp.created_source == "user"


def test_compiled_cache_is_per_database(env: Env, template_db: Path, tmp_path: Path) -> None:
    env.publish(graph([goal("g", "tag_applied", tag="t"), seq("s", note("n", "first db"))], "g>s"))
    tag(env, env.contact().id, "t")
    env.tick()
    # A second database in the same process, whose version 1 is another graph.
    other_path = tmp_path / "other.db"
    shutil.copy(template_db, other_path)
    other_db = make_engine(f"sqlite:///{other_path}")
    with make_session_factory(other_db)() as other:
        ensure_tag(other, "t")
        draft = graph([goal("g", "tag_applied", tag="t"), seq("x", note("m", "second db"))], "g>x")
        campaign = campaigns.create_campaign(other, ADMIN, "Other", draft)
        publishing.publish(other, ADMIN, campaign.id)
        contact = create_contact(other, ADMIN, "b@example.com")
        apply_tag(other, ADMIN, contact.id, "t")
        assert [r.node_id for r in other.scalars(select(SequenceRun))] == ["x"]
        other.commit()
    other_db.dispose()


def test_failed_run_on_removed_sequence_is_stopped_by_republish(env: Env) -> None:
    """A failed run whose sequence a new version removes is stopped, so a retry cannot run old steps."""
    camp = env.publish(graph([goal("g", "tag_applied", tag="t"), seq("s1", wait("w9"), note("a")),
                              seq("s2", wait("w10"), note("b"))], "g>s1", "g>s2"))
    c = env.contact()
    tag(env, c.id, "t")
    env.tick()
    failed = next(r for r in env.runs(c) if r.node_id == "s2")
    kept = next(r for r in env.runs(c) if r.node_id == "s1")
    for run in (failed, kept):
        transition(run, "failed", env.clock.now())
    env.session.commit()
    campaigns.save_draft(env.session, ADMIN, camp.id,
                         graph([goal("g", "tag_applied", tag="t"), seq("s1", wait("w11"), note("a"))], "g>s1"))
    result = publishing.publish(env.session, ADMIN, camp.id)
    assert result["migration"]["stopped_by_node"] == {"s2": 1}
    assert failed.status == "stopped" and "removed in version 2" in (failed.stop_reason or "")
    assert kept.status == "failed" and kept.version_id == camp.live_version_id
