"""The step runner: every step type's effect, outbox keys, retries, timers, claiming."""

from __future__ import annotations

import typing as t
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlalchemy import select

from models import Contact
from models import Note
from models import Notification
from models import Opportunity
from models import OutboxMessage
from models import SequenceRun
from models import StageMove
from models import StepLog
from models import Task
from models.contacts import apply_tag
from models.events import NotificationCreated
from models.tasks import create_task
from runtime import sequence_history
from runtime.delivery.smtp import build_email
from runtime.delivery.smtp import message_id_for
from runtime.execution.buffer import Batch
from runtime.execution.claim import reap_leases
from runtime.execution.context import RunContext
from runtime.execution.step_loop import run_due
from runtime.notices import CampaignStatsChanged
from runtime.notices import RunsDue
from tests.runtime.engine_fixtures import *  # noqa: F403
from tests.runtime.engine_fixtures import ADMIN
from tests.runtime.engine_fixtures import Env
from tests.runtime.engine_fixtures import goal
from tests.runtime.engine_fixtures import graph
from tests.runtime.engine_fixtures import seq
from tests.runtime.engine_fixtures import step


def one_sequence(env: Env, *steps: dict[str, t.Any], tag: str = "go", **kw: t.Any) -> int:
    """Publish tag `tag` → one sequence of `steps`; return the campaign id."""
    return env.publish(graph([goal("g", "tag_applied", tag=tag), seq("s", *steps)], "g>s"), **kw).id


def enroll(env: Env, contact: Contact, tag: str = "go") -> None:
    """Satisfy the entry goal for a contact."""
    apply_tag(env.session, ADMIN, contact.id, tag)


def run_of(env: Env, contact: Contact) -> SequenceRun:
    """The contact's only run."""
    [run] = env.runs(contact)
    return run


# --- tasks ---------------------------------------------------------------------------------------


def test_create_task_assigned_to_opportunity_owner_else_contact_owner(env: Env) -> None:
    one_sequence(
        env,
        step(
            "t", "create_task", title="Call {{contact.first_name}}", assignee="owner", due_in_days=2
        ),
    )
    rep1, rep2 = env.ids["rep1"], env.ids["rep2"]
    plain = env.contact("plain@example.com", owner_id=rep1)
    enroll(env, plain)
    env.tick()
    task = env.session.scalars(select(Task).where(Task.contact_id == plain.id)).one()
    assert (task.title, task.assignee_id, task.source) == ("Call Ada", rep1, "campaign")
    assert task.due_date == date(2026, 1, 7)
    # With an opportunity on the run, its owner wins over the contact's.
    env.publish(
        graph(
            [
                goal("q", "stage_moved", stage_id=env.stage("Qualified")),
                seq("s2", step("t2", "create_task", title="Qualify", assignee="owner")),
            ],
            "q>s2",
        )
    )
    dealer = env.contact("deal@example.com", owner_id=rep1)
    from models import User

    opp = env.opportunity(dealer, "Prospect", owner=env.session.get(User, rep2))
    env.move(opp, "Qualified")
    env.tick()
    task = env.session.scalars(select(Task).where(Task.contact_id == dealer.id)).one()
    assert (task.assignee_id, task.opportunity_id) == (rep2, opp.id)


def test_create_task_spills_to_next_day_with_room(env: Env) -> None:
    from models import User

    rep1 = env.session.get(User, env.ids["rep1"])
    assert rep1 is not None
    rep1.daily_task_capacity = 2
    tomorrow = date(2026, 1, 6)
    for i in range(2):
        create_task(env.session, ADMIN, title=f"busy {i}", assignee_id=rep1.id, due_date=tomorrow)
    one_sequence(env, step("t", "create_task", title="Call", assignee=rep1.id, due_in_days=1))
    contacts = [env.contact(f"c{i}@example.com") for i in range(3)]
    for contact in contacts:
        enroll(env, contact)
    env.tick()
    days = [
        env.session.scalars(select(Task.due_date).where(Task.contact_id == c.id)).one()
        for c in contacts
    ]
    # The 6th is full: two land on the 7th (capacity 2), the third on the 8th.
    assert days == [date(2026, 1, 7), date(2026, 1, 7), date(2026, 1, 8)]


def test_create_task_round_robin(env: Env) -> None:
    one_sequence(env, step("t", "create_task", title="Call", assignee="round_robin"))
    first = [env.contact(f"a{i}@example.com") for i in range(3)]
    for contact in first:
        enroll(env, contact)
    env.tick()
    second = env.contact("later@example.com")  # a later batch continues the rotation
    enroll(env, second)
    env.tick()
    assignees = [
        env.session.scalars(select(Task.assignee_id).where(Task.contact_id == c.id)).one()
        for c in [*first, second]
    ]
    rep1, rep2 = env.ids["rep1"], env.ids["rep2"]
    assert assignees == [rep1, rep2, rep1, rep2]


# --- notes, tags, fields, owners, notifications --------------------------------------------------


def test_create_note_on_contact(env: Env) -> None:
    one_sequence(env, step("n", "create_note", body="Spoke to {{contact.first_name}} <b>"))
    c = env.contact()
    enroll(env, c)
    env.tick()
    note = env.session.scalars(select(Note).where(Note.contact_id == c.id)).one()
    assert (note.body, note.source, note.opportunity_id) == ("Spoke to Ada <b>", "campaign", None)


def test_apply_and_remove_tag_steps(env: Env) -> None:
    one_sequence(env, step("a", "apply_tag", tag="customer"), step("r", "remove_tag", tag="go"))
    c = env.contact()
    enroll(env, c)
    env.tick()
    env.session.refresh(c)
    assert [tag.name for tag in c.tags] == ["customer"]


def test_set_field_step(env: Env) -> None:
    one_sequence(env, step("f", "set_field", field="stage", value="nurtured"))
    c = env.contact(fields={"keep": 1})
    enroll(env, c)
    env.tick()
    env.session.refresh(c)
    assert c.fields == {"keep": 1, "stage": "nurtured"}


def test_assign_owner_step(env: Env) -> None:
    one_sequence(env, step("o", "assign_owner", user_id="round_robin"))
    a, b = env.contact("a@example.com"), env.contact("b@example.com", owner_id=env.ids["rep1"])
    enroll(env, a)
    env.tick()
    env.session.refresh(a)
    assert a.owner_id == env.ids["rep2"]  # rep1 already owns a contact
    other = env.publish(
        graph(
            [
                goal("g2", "tag_applied", tag="mine"),
                seq("s2", step("o2", "assign_owner", user_id=env.ids["rep2"])),
            ],
            "g2>s2",
        ),
        "Mine",
    )
    assert other.id
    opp = env.opportunity(b, "Prospect")
    apply_tag(env.session, ADMIN, b.id, "mine")
    env.tick()
    env.session.refresh(b)
    assert b.owner_id == env.ids["rep2"]
    assert (
        env.session.get(Opportunity, opp.id).owner_id is None
    )  # only the run's opportunity follows


def test_notify_user_step(env: Env, committed: list[t.Any]) -> None:
    one_sequence(
        env, step("n", "notify_user", user="owner", message="{{contact.first_name}} needs a call")
    )
    c = env.contact(owner_id=env.ids["rep1"])
    lonely = env.contact("lonely@example.com")
    enroll(env, c)
    enroll(env, lonely)
    env.tick()
    note = env.session.scalars(select(Notification)).one()
    assert (note.user_id, note.message, note.contact_id) == (
        env.ids["rep1"],
        "Ada needs a call",
        c.id,
    )
    assert NotificationCreated(notification_id=note.id, user_id=env.ids["rep1"], contact_id=c.id) in committed
    skipped = env.session.scalars(
        select(StepLog).where(StepLog.run_id == run_of(env, lonely).id)
    ).one()
    assert skipped.status == "skipped" and "owner" in skipped.detail["reason"]
    assert run_of(env, lonely).status == "completed"


# --- opportunities -------------------------------------------------------------------------------


def test_create_and_move_opportunity_steps_record_campaign_source(env: Env) -> None:
    campaign_id = one_sequence(
        env,
        step(
            "c",
            "create_opportunity",
            pipeline_id=env.ids["sales"],
            stage_id=env.stage("Prospect"),
            title="{{contact.first_name}} deal",
            value=1000,
        ),
        step("m", "move_opportunity", stage_id=env.stage("Qualified")),
    )
    c = env.contact(owner_id=env.ids["rep1"])
    enroll(env, c)
    env.tick()
    opp = env.session.scalars(select(Opportunity).where(Opportunity.contact_id == c.id)).one()
    assert (opp.title, opp.value, opp.owner_id, opp.stage_id) == (
        "Ada deal",
        1000,
        env.ids["rep1"],
        env.stage("Qualified"),
    )
    moves = env.session.scalars(
        select(StageMove).where(StageMove.opportunity_id == opp.id).order_by(StageMove.id)
    ).all()
    assert [(m.from_stage_id, m.to_stage_id, m.source, m.campaign_id) for m in moves] == [
        (None, env.stage("Prospect"), "campaign", campaign_id),
        (env.stage("Prospect"), env.stage("Qualified"), "campaign", campaign_id),
    ]
    assert run_of(env, c).opportunity_id == opp.id


def test_move_opportunity_without_opportunity_is_skipped(env: Env) -> None:
    one_sequence(env, step("m", "move_opportunity", stage_id=env.stage("Qualified")))
    c = env.contact()
    enroll(env, c)
    env.tick()
    assert run_of(env, c).status == "completed"
    log = env.session.scalars(select(StepLog)).one()
    assert log.status == "skipped"


def test_move_opportunity_falls_back_to_contacts_latest_opportunity(env: Env) -> None:
    one_sequence(env, step("m", "move_opportunity", stage_id=env.stage("Qualified")))
    c = env.contact()
    opp = env.opportunity(c, "Prospect")
    enroll(env, c)
    env.tick()
    env.session.refresh(opp)
    assert opp.stage_id == env.stage("Qualified")
    assert run_of(env, c).opportunity_id == opp.id


# --- outbox --------------------------------------------------------------------------------------


def test_send_email_writes_outbox_row_with_key(env: Env) -> None:
    campaign_id = one_sequence(
        env,
        step(
            "e",
            "send_email",
            subject="Hi {{contact.first_name}}",
            body="Dear {{contact.first_name}},\nsee <this>",
        ),
    )
    c = env.contact(first_name="<Ada>")
    enroll(env, c)
    env.tick()
    run = run_of(env, c)
    row = env.session.scalars(select(OutboxMessage)).one()
    key = f"run:{run.id}:step:e"
    assert (
        row.idempotency_key,
        row.kind,
        row.status,
        row.contact_id,
        row.run_id,
        row.campaign_id,
    ) == (key, "email", "pending", c.id, run.id, campaign_id)
    assert row.payload["to"] == "ada@example.com"
    assert row.payload["subject"] == "Hi <Ada>"
    assert row.payload["text"] == "Dear <Ada>,\nsee <this>"
    # The transport renders the HTML part from the text (escaped) and derives the Message-ID from the key.
    message = build_email(key, row.payload, "from@example.com", env.clock.now())
    assert message["Message-ID"] == message_id_for(key) and message["X-Stagecraft-Key"] == key
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    assert "Dear &lt;Ada&gt;,<br>\nsee &lt;this&gt;</div>" in html_part.get_content().replace("\r\n", "\n")


def test_http_post_writes_outbox_row_with_key(env: Env) -> None:
    one_sequence(
        env,
        step(
            "h",
            "http_post",
            url="https://hooks.example.com/x",
            json={"email": "{{contact.email}}", "n": 1},
        ),
    )
    c = env.contact()
    enroll(env, c)
    env.tick()
    row = env.session.scalars(select(OutboxMessage)).one()
    assert row.idempotency_key == f"run:{run_of(env, c).id}:step:h"
    assert row.kind == "http_post"
    assert row.payload == {
        "url": "https://hooks.example.com/x",
        "json": {"email": "ada@example.com", "n": 1},
    }


def test_outbox_insert_is_idempotent_per_run_and_step(env: Env) -> None:
    one_sequence(env, step("w", "delay", amount=1, unit="days"))
    c = env.contact()
    enroll(env, c)
    env.tick()
    run = run_of(env, c)
    batch = Batch(env.session, env.config, env.clock.now(), {})
    ctx = RunContext(env.session, run, batch)
    ctx.step_id = "e"
    ctx.enqueue("email", {"subject": "one", "text": "first"})
    ctx.enqueue("email", {"subject": "two", "text": "second attempt"})  # a retried step: same key, no second row
    env.session.flush()
    rows = env.session.scalars(select(OutboxMessage)).all()
    assert len(rows) == 1 and rows[0].payload["subject"] == "one"


# --- failures ------------------------------------------------------------------------------------


def _explode_after_note(ctx: RunContext, body: str) -> None:
    ctx.session.add(Note(body="partial", contact_id=ctx.contact_id, source="campaign"))
    ctx.session.flush()
    raise RuntimeError("mail server on fire")


def test_failing_step_retries_with_backoff_then_fails(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_sequence(env, step("a", "apply_tag", tag="first"), step("n", "create_note", body="x"))
    monkeypatch.setattr(RunContext, "create_note", _explode_after_note)
    c = env.contact()
    enroll(env, c)
    start = env.clock.now()
    env.tick()
    run = run_of(env, c)
    assert (run.status, run.attempts, run.step_index) == ("active", 1, 1)
    assert run.due_at == start + timedelta(seconds=30)
    assert "mail server on fire" in (run.last_error or "")
    assert (
        env.session.scalar(select(func.count()).select_from(Note)) == 0
    )  # partial effect rolled back
    env.clock.advance(seconds=29)
    assert env.tick() == 0
    env.clock.advance(seconds=1)
    assert env.tick() == 1
    run = run_of(env, c)
    assert (run.attempts, run.due_at) == (2, env.clock.now() + timedelta(seconds=60))
    env.clock.advance(seconds=60)
    env.tick()
    run = run_of(env, c)
    assert (run.status, run.attempts) == ("failed", 3)
    logs = env.session.scalars(
        select(StepLog).where(StepLog.run_id == run.id).order_by(StepLog.id)
    ).all()
    assert [(log.status, log.attempt, log.step_id) for log in logs] == [
        ("retry", 1, "n"),
        ("retry", 2, "n"),
        ("failed", 3, "n"),
    ]
    [row] = sequence_history.contact_sequences(env.session, c.id)
    assert row["status"] == "failed" and "mail server on fire" in row["last_error"]
    assert row["current_step"] == "n"
    env.session.refresh(c)
    assert [tag.name for tag in c.tags] == ["first", "go"]  # the step before it stays done, once


def test_retry_that_succeeds_clears_the_error(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    one_sequence(env, step("n", "create_note", body="x"))
    original = RunContext.create_note
    calls = {"n": 0}

    def flaky(ctx: RunContext, body: str) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("blip")
        original(ctx, body)

    monkeypatch.setattr(RunContext, "create_note", flaky)
    c = env.contact()
    enroll(env, c)
    env.tick()
    env.clock.advance(seconds=30)
    env.tick()
    run = run_of(env, c)
    assert (run.status, run.attempts, run.last_error) == ("completed", 0, None)


def test_failed_run_can_be_retried_by_hand(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    one_sequence(env, step("n", "create_note", body="x"))
    monkeypatch.setattr(RunContext, "create_note", _explode_after_note)
    c = env.contact()
    enroll(env, c)
    for _ in range(3):
        env.tick()
        env.clock.advance(minutes=5)
    assert run_of(env, c).status == "failed"
    monkeypatch.undo()
    sequence_history.set_run_status(env.session, ADMIN, run_of(env, c).id, "active")
    env.tick()
    assert run_of(env, c).status == "completed"


# --- timers --------------------------------------------------------------------------------------


def test_delay_parks_run_until_due(env: Env) -> None:
    one_sequence(
        env, step("w", "delay", amount=3, unit="hours"), step("n", "create_note", body="x")
    )
    c = env.contact()
    enroll(env, c)
    env.tick()
    run = run_of(env, c)
    assert (run.status, run.waiting, run.step_index) == ("active", True, 1)
    assert run.due_at == env.clock.now() + timedelta(hours=3)
    env.clock.advance(hours=2, minutes=59)
    assert env.tick() == 0
    env.clock.advance(minutes=1)
    assert env.tick() == 1
    assert run_of(env, c).status == "completed"


def test_run_due_while_down_runs_at_next_tick(env: Env) -> None:
    one_sequence(
        env, step("w", "delay", amount=5, unit="minutes"), step("n", "create_note", body="x")
    )
    c = env.contact()
    enroll(env, c)
    env.tick()
    env.clock.advance(days=3)  # the runtime was down for days: nothing is skipped
    assert env.tick() == 1
    assert run_of(env, c).status == "completed"
    assert env.session.scalar(select(func.count()).select_from(Note)) == 1


def test_delay_window_waits_for_next_opening(env: Env) -> None:
    window = {
        "weekdays": [0, 1, 2, 3, 4],
        "start_hour": 9,
        "end_hour": 17,
        "timezone": "America/New_York",
    }
    one_sequence(
        env,
        step("w", "delay", amount=1, unit="hours", window=window),
        step("n", "create_note", body="x"),
    )
    # Friday 2026-01-09 16:30 in New York (21:30 UTC): +1 h is after hours → Monday 09:00 New York.
    env.clock.set(datetime(2026, 1, 9, 21, 30, tzinfo=UTC))
    c = env.contact()
    enroll(env, c)
    env.tick()
    due = run_of(env, c).due_at
    assert due == datetime(2026, 1, 12, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    assert due.astimezone(UTC) == datetime(2026, 1, 12, 14, 0, tzinfo=UTC)


def test_delay_days_keeps_wall_clock_across_dst(env: Env) -> None:
    one_sequence(env, step("w", "delay", amount=1, unit="days"), step("n", "create_note", body="x"))
    berlin = ZoneInfo("Europe/Berlin")
    # Saturday 2026-03-28 10:00 in Berlin (CET, UTC+1); clocks go forward that night.
    env.clock.set(datetime(2026, 3, 28, 10, 0, tzinfo=berlin))
    c = env.contact(timezone="Europe/Berlin")
    enroll(env, c)
    env.tick()
    due = run_of(env, c).due_at
    assert due.astimezone(berlin).replace(tzinfo=None) == datetime(2026, 3, 29, 10, 0)
    assert due - env.clock.now() == timedelta(hours=23)  # one calendar day, 23 elapsed hours


def test_contact_without_timezone_uses_account_timezone(env: Env) -> None:
    one_sequence(env, step("w", "delay", amount=1, unit="days"), step("n", "create_note", body="x"))
    env.config = type(env.config)(
        database_url=env.config.database_url,
        account_timezone="Europe/Berlin",
        batch_size=50,
        max_attempts=3,
    )
    env.clock.set(datetime(2026, 3, 28, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")))
    c = env.contact()
    enroll(env, c)
    env.tick()
    assert run_of(env, c).due_at - env.clock.now() == timedelta(hours=23)


def test_wait_until_contact_field(env: Env) -> None:
    one_sequence(
        env,
        step(
            "w",
            "wait_until",
            field="renewal",
            offset_days=2,
            direction="before",
            hour=9,
            timezone="account",
        ),
        step("n", "create_note", body="renew"),
    )
    c = env.contact(fields={"renewal": "2026-02-10"})
    past = env.contact("past@example.com", fields={"renewal": "2025-01-01"})
    enroll(env, c)
    enroll(env, past)
    env.tick()
    assert run_of(env, c).due_at == datetime(2026, 2, 8, 9, 0, tzinfo=UTC)
    assert run_of(env, past).status == "completed"  # a past date continues at once


# --- claiming ------------------------------------------------------------------------------------


def test_batch_size_limits_a_claim(env: Env) -> None:
    one_sequence(env, step("n", "create_note", body="x"))
    for i in range(5):
        enroll(env, env.contact(f"c{i}@example.com"))
    env.session.commit()
    small = type(env.config)(database_url=env.config.database_url, batch_size=2)
    assert run_due(env.factory, worker_id="w", config=small) == 2
    assert run_due(env.factory, worker_id="w", config=small) == 2
    assert run_due(env.factory, worker_id="w", config=small) == 1
    assert run_due(env.factory, worker_id="w", config=small) == 0


def test_leased_runs_are_not_claimed_until_reaped(env: Env) -> None:
    one_sequence(
        env,
        step("e", "send_email", subject="s", body="b"),
        step("w", "delay", amount=1, unit="days"),
    )
    c = env.contact()
    enroll(env, c)
    env.tick()
    outbox = env.session.scalars(select(OutboxMessage)).one()
    run = run_of(env, c)
    env.clock.advance(days=1)
    # A worker that died after claiming: its lease is still there.
    run.lease_owner, run.lease_until = "dead", env.clock.now() + timedelta(seconds=30)
    outbox.lease_owner, outbox.lease_until = "dead", env.clock.now() + timedelta(seconds=30)
    assert env.tick() == 0
    assert reap_leases(env.factory) == 0
    env.clock.advance(seconds=31)
    assert reap_leases(env.factory) == 2
    env.session.expire_all()
    assert run_of(env, c).lease_owner is None
    assert env.tick() == 1


def test_campaign_steps_emit_live_stats_hints(env: Env, committed: list[t.Any]) -> None:
    campaign_id = one_sequence(env, step("n", "create_note", body="x"))
    enroll(env, env.contact())
    env.tick()
    assert CampaignStatsChanged(campaign_id=campaign_id) in committed


def test_wake_after_enrollment(env: Env, committed: list[t.Any]) -> None:
    one_sequence(env, step("n", "create_note", body="x"))
    enroll(env, env.contact())
    env.session.commit()
    assert RunsDue() in committed


def test_trailing_timer_completes_the_run_only_when_due(env: Env) -> None:
    one_sequence(env, step("n", "create_note", body="x"), step("w", "delay", amount=1, unit="days"))
    c = env.contact()
    enroll(env, c)
    env.tick()
    assert (run_of(env, c).status, run_of(env, c).waiting) == ("active", True)
    env.clock.advance(days=1)
    env.tick()
    assert run_of(env, c).status == "completed"


def test_one_failing_run_does_not_undo_or_repeat_the_others(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_sequence(
        env,
        step("a", "apply_tag", tag="seen"),
        step("e", "send_email", subject="s", body="b"),
        step("n", "create_note", body="x"),
    )
    good, bad = env.contact("good@example.com"), env.contact("bad@example.com")
    original = RunContext.create_note

    def picky(ctx: RunContext, body: str) -> None:
        if ctx.contact_id == bad.id:
            raise RuntimeError("no")
        original(ctx, body)

    monkeypatch.setattr(RunContext, "create_note", picky)
    enroll(env, good)
    enroll(env, bad)
    assert env.tick() == 2
    assert (run_of(env, good).status, run_of(env, bad).status) == ("completed", "active")
    assert run_of(env, bad).step_index == 2  # tag and email done once; the note will be retried
    assert env.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
    assert env.session.scalar(select(func.count()).select_from(Note)) == 1
