"""The step runner over time: timers, windows, DST, claiming, leases, wake-ups, isolation of failures."""

from __future__ import annotations

import typing as t
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlalchemy import select

from models import Note
from models import OutboxMessage
from runtime.execution.claim import reap_leases
from runtime.execution.context import RunContext
from runtime.execution.step_loop import run_due
from runtime.notices import CampaignStatsChanged
from runtime.notices import RunsDue
from tests.runtime.engine_fixtures import *  # noqa: F403
from tests.runtime.engine_fixtures import Env
from tests.runtime.engine_fixtures import step
from tests.runtime.execution.step_runs import enroll
from tests.runtime.execution.step_runs import one_sequence
from tests.runtime.execution.step_runs import run_of

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
