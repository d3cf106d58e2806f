"""Goal semantics (DESIGN.md §2, seeds 001/004): ancestors stop, stage directions, re-entry, entry goals, pause."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from models import GoalHit
from models import Note
from models import Opportunity
from models import StageMove
from models import events
from runtime import publishing
from runtime import sequence_history
from tests.runtime.engine_fixtures import *  # noqa: F403
from tests.runtime.engine_fixtures import ADMIN
from tests.runtime.engine_fixtures import Env
from tests.runtime.engine_fixtures import goal
from tests.runtime.engine_fixtures import graph
from tests.runtime.engine_fixtures import seq
from tests.runtime.engine_fixtures import step
from tests.runtime.execution.goal_steps import into
from tests.runtime.execution.goal_steps import note
from tests.runtime.execution.goal_steps import tag
from tests.runtime.execution.goal_steps import wait

# --- rule: a satisfied goal stops exactly its ancestor sequences ---------------------------------


def _path_graph() -> dict[str, object]:
    # g1 → s1 → g2 → s2, g1 → s4 (a sibling after g1, not before g2), g3 → s3 (another path)
    return graph(
        [
            goal("g1", "tag_applied", "Lead", tag="lead"),
            seq("s1", wait("w1"), note("n1")),
            goal("g2", "tag_applied", "Hot", tag="hot"),
            seq("s2", note("n2")),
            seq("s4", wait("w2"), note("n4")),
            goal("g3", "tag_applied", "Newsletter", tag="news"),
            seq("s3", wait("w3"), note("n3")),
        ],
        "g1>s1",
        "s1>g2",
        "g2>s2",
        "g1>s4",
        "g3>s3",
    )


def test_goal_stops_ancestor_sequences_only(env: Env) -> None:
    c = env.contact()
    env.publish(_path_graph())
    tag(env, c.id, "lead")
    env.tick()
    assert env.statuses(c) == {"s1": "active", "s4": "active"}
    tag(env, c.id, "hot")
    env.tick()
    runs = {r.node_id: r for r in env.runs(c)}
    assert runs["s1"].status == "stopped"
    assert runs["s1"].stop_reason == "goal 'Hot' satisfied"
    assert runs["s1"].ended_at == env.clock.now()
    assert runs["s4"].status == "active"  # after g1, but not before g2
    assert runs["s2"].status == "completed"


def test_other_paths_keep_running(env: Env) -> None:
    c = env.contact()
    env.publish(_path_graph())
    tag(env, c.id, "lead")
    tag(env, c.id, "news")
    env.tick()
    tag(env, c.id, "hot")
    env.tick()
    statuses = env.statuses(c)
    assert statuses["s3"] == "active" and statuses["s1"] == "stopped"
    env.clock.advance(days=1, minutes=1)
    env.tick()
    assert env.statuses(c)["s3"] == "completed"


def test_goal_also_stops_paused_ancestor_runs(env: Env) -> None:
    c = env.contact()
    env.publish(_path_graph())
    tag(env, c.id, "lead")
    env.tick()
    s1 = env.runs(c, "s1")[0]
    sequence_history.set_run_status(env.session, ADMIN, s1.id, "paused")
    tag(env, c.id, "hot")
    env.tick()
    assert env.runs(c, "s1")[0].status == "stopped"


# --- rule: stage moved into / out of, pipeline scope, hand-made vs campaign-made -----------------


def test_stage_moved_into_any_prior_stage(env: Env) -> None:
    env.publish(graph([into(env, "g", "Qualified"), seq("s", note("n"))], "g>s"))
    a, b = env.contact("a@example.com"), env.contact("b@example.com")
    opp_a = env.opportunity(a, "Prospect")
    opp_b = env.opportunity(b, "Developed")
    env.move(opp_a, "Qualified")
    env.move(opp_b, "Qualified")  # backwards: still "into Qualified"
    env.tick()
    assert env.statuses(a) == {"s": "completed"}
    assert env.statuses(b) == {"s": "completed"}
    assert env.runs(a)[0].opportunity_id == opp_a.id


def test_stage_moved_out_of_any_new_stage(env: Env) -> None:
    env.publish(
        graph([into(env, "g", "Qualified", direction="out_of"), seq("s", note("n"))], "g>s")
    )
    a, b, c = (env.contact(f"{x}@example.com") for x in "abc")
    opp_a, opp_b, opp_c = (
        env.opportunity(a, "Qualified"),
        env.opportunity(b, "Qualified"),
        env.opportunity(c, "Prospect"),
    )
    env.move(opp_a, "Discovery")
    env.move(opp_b, "Prospect")
    env.move(opp_c, "Discovery")  # never was in Qualified
    env.tick()
    assert env.statuses(a) == {"s": "completed"}
    assert env.statuses(b) == {"s": "completed"}
    assert env.statuses(c) == {}


def test_pipeline_scope(env: Env) -> None:
    env.publish(
        graph(
            [
                into(env, "gs", "Qualified", pipeline="sales"),
                seq("ss", note("n1")),
                into(env, "gf", "Kick-off held", pipeline="fulfillment"),
                seq("sf", note("n2")),
            ],
            "gs>ss",
            "gf>sf",
        )
    )
    c = env.contact()
    opp = env.opportunity(c, "Kick-off scheduled", pipeline="fulfillment")
    env.move(opp, "Kick-off held", pipeline="fulfillment")
    env.tick()
    assert env.statuses(c) == {"sf": "completed"}
    # An event claiming another pipeline does not satisfy a pipeline-scoped goal.
    d = env.contact("d@example.com")
    events.record(env.session, events.StageMoved(
        contact_id=d.id,
        opportunity_id=0,
        pipeline_id=env.ids["sales"],
        from_stage_id=env.stage("Kick-off scheduled", "fulfillment"),
        to_stage_id=env.stage("Kick-off held", "fulfillment"),
    ))
    env.tick()
    assert env.statuses(d) == {}


def test_hand_created_opportunity_does_not_satisfy_moved_into(env: Env) -> None:
    env.publish(graph([into(env, "g", "Qualified"), seq("s", note("n"))], "g>s"))
    c = env.contact()
    opp = env.opportunity(c, "Qualified")
    env.tick()
    assert env.statuses(c) == {}
    env.move(opp, "Prospect")
    env.move(opp, "Qualified")  # moved INTO it from another stage: now it counts
    env.tick()
    assert env.statuses(c) == {"s": "completed"}


def test_campaign_created_opportunity_satisfies_moved_into_and_enrolls_in_other_campaign(
    env: Env,
) -> None:
    prospect = env.stage("Prospect")
    maker = env.publish(
        graph(
            [
                goal("g", "tag_applied", tag="inquiry"),
                seq(
                    "make",
                    step(
                        "o",
                        "create_opportunity",
                        pipeline_id=env.ids["sales"],
                        stage_id=prospect,
                        title="Deal for {{contact.first_name}}",
                        value=500,
                    ),
                ),
            ],
            "g>make",
        ),
        "Maker",
    )
    follower = env.publish(
        graph(
            [
                into(env, "p", "Prospect", "Became a prospect"),
                seq("welcome", note("w", "Welcome {{contact.first_name}} ({{opportunity.title}})")),
            ],
            "p>welcome",
        ),
        "Follower",
    )
    c = env.contact()
    tag(env, c.id, "inquiry")
    env.tick()
    opp = env.session.scalars(select(Opportunity).where(Opportunity.contact_id == c.id)).one()
    assert opp.created_source == "campaign" and opp.title == "Deal for Ada" and opp.value == 500
    history = env.session.scalars(select(StageMove).where(StageMove.opportunity_id == opp.id)).all()
    assert [(h.source, h.campaign_id, h.to_stage_id) for h in history] == [
        ("campaign", maker.id, prospect)
    ]
    runs = {r.campaign_id: r for r in env.runs(c)}
    assert runs[maker.id].status == "completed" and runs[maker.id].opportunity_id == opp.id
    assert runs[follower.id].status == "completed" and runs[follower.id].opportunity_id == opp.id
    body = env.session.scalars(select(Note.body).where(Note.contact_id == c.id)).one()
    assert body == "Welcome Ada (Deal for Ada)"


# --- rule: campaigns run side by side ------------------------------------------------------------


def test_campaigns_run_side_by_side(env: Env) -> None:
    first = env.publish(
        graph([into(env, "g", "Qualified"), seq("s", note("n", "first"))], "g>s"), "First"
    )
    second = env.publish(
        graph([into(env, "g", "Qualified"), seq("s", note("n", "second"))], "g>s"), "Second"
    )
    c = env.contact()
    env.move(env.opportunity(c, "Prospect"), "Qualified")
    env.tick()
    assert {(r.campaign_id, r.status) for r in env.runs(c)} == {
        (first.id, "completed"),
        (second.id, "completed"),
    }
    assert sorted(env.session.scalars(select(Note.body).where(Note.contact_id == c.id))) == [
        "first",
        "second",
    ]


# --- rule: re-entry ------------------------------------------------------------------------------


def test_no_reentry_while_running(env: Env) -> None:
    env.publish(
        graph(
            [
                goal("a", "tag_applied", tag="a"),
                goal("b", "tag_applied", tag="b"),
                seq("s", wait("w4"), note("n")),
            ],
            "a>s",
            "b>s",
        ),
        allow_reentry=True,
    )
    c = env.contact()
    tag(env, c.id, "a")
    env.tick()
    tag(env, c.id, "b")  # a second entry into the running sequence
    env.tick()
    assert [r.status for r in env.runs(c)] == ["active"]
    assert env.session.scalar(select(func.count()).select_from(GoalHit)) == 2


def _reentry_campaign(env: Env, allow: bool) -> None:
    env.publish(
        graph([into(env, "g", "Qualified"), seq("s", note("n"))], "g>s"), allow_reentry=allow
    )


def test_finished_sequence_not_rerun_by_default(env: Env) -> None:
    _reentry_campaign(env, allow=False)
    c = env.contact()
    opp = env.opportunity(c, "Prospect")
    env.move(opp, "Qualified")
    env.tick()
    env.move(opp, "Prospect")
    env.move(opp, "Qualified")
    env.tick()
    assert [r.status for r in env.runs(c)] == ["completed"]
    assert (
        env.session.scalar(select(func.count()).select_from(GoalHit)) == 2
    )  # satisfied, no second run


def test_finished_sequence_rerun_when_allowed(env: Env) -> None:
    _reentry_campaign(env, allow=True)
    c = env.contact()
    opp = env.opportunity(c, "Prospect")
    env.move(opp, "Qualified")
    env.tick()
    env.move(opp, "Prospect")
    env.move(opp, "Qualified")
    env.tick()
    assert [r.status for r in env.runs(c)] == ["completed", "completed"]


# --- rule: sequence → sequence edge; entry vs non-entry goals ------------------------------------


def test_sequence_to_sequence_edge(env: Env) -> None:
    env.publish(
        graph(
            [into(env, "g", "Qualified"), seq("s1", note("n1")), seq("s2", wait("w5"), note("n2"))],
            "g>s1",
            "s1>s2",
        )
    )
    c = env.contact()
    opp = env.opportunity(c, "Prospect")
    env.move(opp, "Qualified")
    env.tick()
    runs = {r.node_id: r for r in env.runs(c)}
    assert runs["s1"].status == "completed"
    assert runs["s2"].status == "active" and runs["s2"].waiting
    assert runs["s2"].opportunity_id == opp.id  # the opportunity carries over
    env.clock.advance(days=1)
    env.tick()
    assert env.statuses(c) == {"s1": "completed", "s2": "completed"}


def test_non_entry_goal_needs_enrollment(env: Env) -> None:
    env.publish(_path_graph())
    stranger, member = env.contact("x@example.com"), env.contact("y@example.com")
    tag(env, stranger.id, "hot")  # g2 is not an entry goal and x is not in the campaign
    tag(env, member.id, "lead")
    env.tick()
    tag(env, member.id, "hot")
    env.tick()
    assert env.statuses(stranger) == {}
    assert env.statuses(member)["s2"] == "completed"
    assert (
        env.session.scalar(
            select(func.count()).select_from(GoalHit).where(GoalHit.contact_id == stranger.id)
        )
        == 0
    )


def test_upstream_and_downstream_goal_in_one_event_ends_at_the_furthest(env: Env) -> None:
    env.publish(
        graph(
            [
                goal("g1", "tag_applied", tag="t"),
                seq("s1", wait("w6"), note("n1")),
                goal("g2", "tag_applied", "Again", tag="t2"),
                seq("s2", wait("w7"), note("n2")),
            ],
            "g1>s1",
            "s1>g2",
            "g2>s2",
        )
    )
    c = env.contact()
    tag(env, c.id, "t")
    env.tick()
    assert env.statuses(c) == {"s1": "active"}


# --- paused campaigns ----------------------------------------------------------------------------


def test_paused_campaign_accepts_no_enrollment_and_runs_wait(env: Env) -> None:
    camp = env.publish(
        graph(
            [
                goal("g", "tag_applied", tag="t"),
                seq("s", step("w", "delay", amount=1, unit="hours"), note("n")),
            ],
            "g>s",
        )
    )
    early, late = env.contact("early@example.com"), env.contact("late@example.com")
    tag(env, early.id, "t")
    env.tick()
    publishing.set_paused(env.session, ADMIN, camp.id, True)
    tag(env, late.id, "t")
    env.clock.advance(hours=2)
    assert env.tick() == 0
    assert env.statuses(late) == {}
    assert env.statuses(early) == {"s": "active"}
    publishing.set_paused(env.session, ADMIN, camp.id, False)
    assert env.tick() == 1
    assert env.statuses(early) == {"s": "completed"}


# --- steps satisfy goals too ---------------------------------------------------------------------


def test_step_can_stop_its_own_run(env: Env) -> None:
    env.publish(
        graph(
            [
                goal("g1", "tag_applied", tag="start"),
                seq("s1", step("t", "apply_tag", tag="done"), note("nn", "never")),
                goal("g2", "tag_applied", "Done", tag="done"),
                seq("s2", note("na", "after")),
            ],
            "g1>s1",
            "s1>g2",
            "g2>s2",
        )
    )
    c = env.contact()
    tag(env, c.id, "start")
    env.tick()
    runs = {r.node_id: r for r in env.runs(c)}
    assert runs["s1"].status == "stopped" and runs["s1"].stop_reason == "goal 'Done' satisfied"
    assert runs["s2"].status == "completed"
    assert list(env.session.scalars(select(Note.body).where(Note.contact_id == c.id))) == ["after"]
