"""The step runner: every step type's effect, outbox keys, retries."""

from __future__ import annotations

import typing as t
from datetime import date
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from models import Note
from models import Notification
from models import Opportunity
from models import OutboxMessage
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
from runtime.execution.context import RunContext
from tests.runtime.engine_fixtures import *  # noqa: F403
from tests.runtime.engine_fixtures import ADMIN
from tests.runtime.engine_fixtures import Env
from tests.runtime.engine_fixtures import goal
from tests.runtime.engine_fixtures import graph
from tests.runtime.engine_fixtures import seq
from tests.runtime.engine_fixtures import step
from tests.runtime.execution.step_runs import enroll
from tests.runtime.execution.step_runs import one_sequence
from tests.runtime.execution.step_runs import run_of

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
