"""The PostgreSQL claim path: SKIP LOCKED + leases, two workers, each run executed once."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func
from sqlalchemy import select

from models import Note
from models import OutboxMessage
from models import SequenceRun
from models.contacts import apply_tag
from models.overdue import record_overdue
from runtime.config import RuntimeConfig
from runtime.execution import claim
from runtime.execution import step_loop
from runtime.execution.context import RunContext
from runtime.execution.step_loop import run_due
from tests.runtime.engine_fixtures import *  # noqa: F403
from tests.runtime.engine_fixtures import ADMIN
from tests.runtime.engine_fixtures import Env
from tests.runtime.engine_fixtures import goal
from tests.runtime.engine_fixtures import graph
from tests.runtime.engine_fixtures import seq
from tests.runtime.engine_fixtures import step

pytestmark = pytest.mark.postgres


def _publish(env: Env) -> None:
    env.publish(
        graph(
            [
                goal("g", "tag_applied", tag="go"),
                seq(
                    "s",
                    step("n", "create_note", body="hello {{contact.first_name}}"),
                    step(
                        "h",
                        "http_post",
                        url="https://hooks.example.com/x",
                        json={"c": "{{contact.email}}"},
                    ),
                ),
            ],
            "g>s",
        )
    )


def test_postgres_two_workers_execute_each_run_once(pg_env: Env) -> None:
    env = pg_env
    _publish(env)
    for i in range(60):
        apply_tag(env.session, ADMIN, env.contact(f"c{i}@example.com").id, "go")
    env.session.commit()
    config = RuntimeConfig(database_url=env.config.database_url, batch_size=7)
    processed: Counter[str] = Counter()
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(worker: str) -> None:
        try:
            start.wait()
            while True:
                done = run_due(env.factory, worker_id=worker, config=config)
                if not done:
                    return
                processed[worker] += done
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sum(processed.values()) == 60
    env.session.expire_all()
    assert env.session.scalar(select(func.count()).select_from(Note)) == 60
    notes_per_contact = env.session.execute(
        select(Note.contact_id, func.count()).group_by(Note.contact_id)
    ).all()
    assert {n for _, n in notes_per_contact} == {1}
    keys = list(env.session.scalars(select(OutboxMessage.idempotency_key)))
    assert len(keys) == 60 == len(set(keys))
    runs = env.session.scalars(select(SequenceRun)).all()
    assert {(r.status, r.lease_owner) for r in runs} == {("completed", None)}


def test_postgres_lease_recheck_skips_runs_taken_over(pg_env: Env) -> None:
    env = pg_env
    _publish(env)
    for i in range(3):
        apply_tag(env.session, ADMIN, env.contact(f"c{i}@example.com").id, "go")
    env.session.commit()
    ids = claim.claim_leased(env.factory, "a", env.config, env.clock.now())
    assert len(ids) == 3
    # While "a" was stalled its lease on one run expired and "b" took it over.
    with env.factory() as other:
        run = other.get(SequenceRun, ids[0])
        assert run is not None and run.lease_owner == "a"
        run.lease_owner = "b"
        other.commit()
    with env.factory() as session:
        runs = claim.lock_leased(session, ids, "a")
        assert len(runs) == 2
        step_loop.execute_batch(session, runs, env.config, env.clock.now(), careful=True)
        claim.release_leases(session, ids, "a")
        session.commit()
    env.session.expire_all()
    taken = env.session.get(SequenceRun, ids[0])
    assert taken is not None and (taken.status, taken.lease_owner) == ("active", "b")
    assert env.session.scalar(select(func.count()).select_from(Note)) == 2


def test_postgres_failing_step_is_retried_alone(
    pg_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = pg_env
    _publish(env)
    good, bad = env.contact("good@example.com"), env.contact("bad@example.com")
    original = RunContext.create_note

    def picky(ctx: RunContext, body: str) -> None:
        if ctx.contact_id == bad.id:
            raise RuntimeError("no")
        original(ctx, body)

    monkeypatch.setattr(RunContext, "create_note", picky)
    apply_tag(env.session, ADMIN, good.id, "go")
    apply_tag(env.session, ADMIN, bad.id, "go")
    assert env.tick() == 2
    statuses = {r.contact_id: (r.status, r.attempts) for r in env.runs()}
    assert statuses == {good.id: ("completed", 0), bad.id: ("active", 1)}
    assert env.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_postgres_goal_semantics_and_overdue(pg_env: Env) -> None:
    env = pg_env
    env.publish(
        graph(
            [
                goal("g1", "stage_moved", "Qualified", stage_id=env.stage("Qualified")),
                seq(
                    "s1",
                    step("w", "delay", amount=1, unit="days"),
                    step("n1", "create_note", body="a"),
                ),
                goal("g2", "stage_overdue", "Stuck", stage_id=env.stage("Qualified")),
                seq("s2", step("n2", "create_note", body="nudge")),
            ],
            "g1>s1",
            "s1>g2",
            "g2>s2",
        )
    )
    c = env.contact()
    opp = env.opportunity(c, "Prospect")
    env.move(opp, "Qualified")
    env.tick()
    env.clock.advance(days=15)  # Qualified's target is 14 days; s1's timer is also due

    assert record_overdue(env.session) == 1
    assert record_overdue(env.session) == 0
    env.tick()
    runs = {r.node_id: r for r in env.runs(c)}
    assert runs["s1"].status == "stopped" and runs["s1"].stop_reason == "goal 'Stuck' satisfied"
    assert runs["s2"].status == "completed"
