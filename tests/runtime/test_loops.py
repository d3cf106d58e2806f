"""RuntimeLoops: the APScheduler loops, wake(), and that no contact state lives in the scheduler."""

from __future__ import annotations

import re
import threading
import typing as t
from collections.abc import Iterator

import pytest
from apscheduler.jobstores.memory import MemoryJobStore
from sqlalchemy import func
from sqlalchemy import select

from models import Note
from models import OutboxMessage
from models import SequenceRun
from models import clock
from models import contacts
from models import events
from models.db import transaction
from runtime.config import RuntimeConfig
from runtime.execution import step_loop
from runtime.loops import LOOPS
from runtime.loops import RuntimeLoops
from runtime.loops import make_worker_id
from tests.runtime.relay_fixtures import ADMIN
from tests.runtime.relay_fixtures import SmtpSink
from tests.runtime.relay_fixtures import add_contacts
from tests.runtime.relay_fixtures import db_fixture  # noqa: F401
from tests.runtime.relay_fixtures import publish_campaign
from tests.runtime.relay_fixtures import sequence_graph
from tests.runtime.relay_fixtures import smtp_sink_fixture  # noqa: F401
from tests.runtime.relay_fixtures import wait_for

NOTE = [{"type": "create_note", "config": {"body": "Hello {{contact.first_name}}"}}]
SLOW = 3600.0  # intervals no test waits for: anything that happens came from wake() or start()


@pytest.fixture
def loops_factory(db: t.Any) -> Iterator[t.Callable[..., RuntimeLoops]]:
    """Build RuntimeLoops on the test database; every one is shut down afterwards."""
    url, _, factory = db
    made: list[RuntimeLoops] = []

    def make(**kw: t.Any) -> RuntimeLoops:
        settings: dict[str, t.Any] = {"smtp_url": None, "redis_url": None, **kw}
        config = RuntimeConfig(database_url=url, **settings)
        loops = RuntimeLoops(factory, config, overdue_seconds=SLOW)
        made.append(loops)
        return loops

    yield make
    for loops in made:
        loops.shutdown(wait=True)


def statuses(factory: t.Any) -> dict[str, int]:
    """Run counts by status."""
    with factory() as session:
        return dict(
            session.execute(
                select(SequenceRun.status, func.count()).group_by(SequenceRun.status)
            ).all()
        )


def notes(factory: t.Any) -> int:
    """How many notes exist."""
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(Note)) or 0)


def test_wake_runs_a_zero_delay_step_long_before_the_next_interval(
    db: t.Any, loops_factory: t.Any
) -> None:
    _, _, factory = db
    publish_campaign(factory, sequence_graph(NOTE))
    loops = loops_factory(tick_seconds=SLOW, relay_seconds=SLOW)
    loops.start()
    assert wait_for(lambda: loops.counts["tick"] >= 1, timeout=10), "the start-up tick never ran"
    # Enrolling commits a due-now run; the commit calls wake(); the tick runs at once.
    add_contacts(factory, 3, tag="go")
    assert wait_for(lambda: statuses(factory) == {"completed": 3}, timeout=10)
    assert notes(factory) == 3
    assert loops.counts["tick"] >= 2


def test_a_wake_during_a_running_tick_is_not_lost(
    db: t.Any, loops_factory: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, factory = db
    inside, release = threading.Event(), threading.Event()
    calls: list[int] = []
    real = step_loop.run_due

    def slow_run_due(*args: t.Any, **kw: t.Any) -> int:
        calls.append(1)
        if len(calls) == 2:  # the first woken pass: hold it until a second wake arrives
            inside.set()
            release.wait(10)
        return real(*args, **kw)

    monkeypatch.setattr(step_loop, "run_due", slow_run_due)
    loops = loops_factory(tick_seconds=SLOW, relay_seconds=SLOW)
    loops.start()
    assert wait_for(lambda: len(calls) >= 1 and loops.counts["tick"] >= 1, timeout=10)
    loops.wake()
    assert inside.wait(10)
    publish_campaign(factory, sequence_graph(NOTE))
    add_contacts(
        factory, 2, tag="go"
    )  # commits while the tick is mid-pass: wake() only sets a flag
    release.set()
    assert wait_for(lambda: statuses(factory) == {"completed": 2}, timeout=10)
    assert len(calls) >= 3


def test_runs_due_while_down_run_at_start(db: t.Any, loops_factory: t.Any) -> None:
    _, _, factory = db
    publish_campaign(factory, sequence_graph(NOTE))
    add_contacts(factory, 4, tag="go")  # no runtime running: the runs wait as rows
    assert statuses(factory) == {"active": 4}
    loops = loops_factory(tick_seconds=SLOW, relay_seconds=SLOW)
    loops.start()
    assert wait_for(lambda: statuses(factory) == {"completed": 4}, timeout=10)


def test_the_tick_drains_batch_after_batch(db: t.Any, loops_factory: t.Any) -> None:
    _, _, factory = db
    publish_campaign(factory, sequence_graph(NOTE))
    add_contacts(factory, 25, tag="go")
    loops = loops_factory(tick_seconds=SLOW, relay_seconds=SLOW, batch_size=4)
    loops.run_once()
    assert statuses(factory) == {"completed": 25}
    assert loops.processed["tick"] == 25


def test_the_scheduler_holds_only_the_loop_jobs(db: t.Any, loops_factory: t.Any) -> None:
    _, _, factory = db
    publish_campaign(
        factory, sequence_graph([{"type": "delay", "config": {"amount": 3, "unit": "days"}}, *NOTE])
    )
    loops = loops_factory(tick_seconds=SLOW, relay_seconds=SLOW)
    loops.start()
    add_contacts(factory, 20, tag="go")

    def waiting() -> int:
        with factory() as session:
            return int(
                session.scalar(
                    select(func.count()).where(
                        SequenceRun.waiting.is_(True), SequenceRun.status == "active"
                    )
                )
                or 0
            )

    assert wait_for(lambda: waiting() == 20, timeout=10)  # pending timers are rows ...
    scheduler = loops._scheduler
    jobs = scheduler.get_jobs()
    assert sorted(j.id for j in jobs) == sorted(LOOPS)  # ... not scheduler jobs
    assert isinstance(scheduler._lookup_jobstore("default"), MemoryJobStore)
    for job in jobs:
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, None)


def test_start_and_shutdown_register_and_remove_the_waker(db: t.Any, loops_factory: t.Any) -> None:
    loops = loops_factory(tick_seconds=SLOW, relay_seconds=SLOW)
    loops.start()
    assert loops.on_commit in events._subscribers
    assert loops.running
    loops.shutdown(wait=True)
    assert loops.on_commit not in events._subscribers
    assert not loops.running
    loops.wake()  # after shutdown: harmless


def test_a_failing_loop_is_logged_and_the_scheduler_survives(
    db: t.Any,
    loops_factory: t.Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, _, factory = db
    failures: list[int] = []
    real = step_loop.run_due

    def flaky(*args: t.Any, **kw: t.Any) -> int:
        if not failures:
            failures.append(1)
            raise RuntimeError("database went away")
        return real(*args, **kw)

    monkeypatch.setattr(step_loop, "run_due", flaky)
    loops = loops_factory(tick_seconds=SLOW, relay_seconds=SLOW)
    with caplog.at_level("ERROR", logger="runtime.loops"):
        loops.start()
        assert wait_for(lambda: bool(failures), timeout=10)
        publish_campaign(factory, sequence_graph(NOTE))
        add_contacts(factory, 1, tag="go")
        assert wait_for(lambda: statuses(factory) == {"completed": 1}, timeout=10)
    assert any("tick loop failed" in r.getMessage() for r in caplog.records)
    assert loops.running


def test_overdue_and_reaper_loops_run(db: t.Any, loops_factory: t.Any) -> None:
    loops = loops_factory()
    counts = loops.run_once()
    assert set(counts) == set(LOOPS)
    assert all(loops.counts[name] == 1 for name in LOOPS)


def test_worker_ids_are_unique_per_instance() -> None:
    a, b = make_worker_id(), make_worker_id()
    assert a != b
    assert re.fullmatch(r"[^:]+:\d+:[0-9a-f]{8}", a)
    assert len(a) <= 64


def test_the_relay_loop_delivers(db: t.Any, loops_factory: t.Any) -> None:
    _, _, factory = db
    with transaction(factory) as session:
        contacts.create_contact(session, ADMIN, "x@example.com")
    publish_campaign(
        factory, sequence_graph([{"type": "send_email", "config": {"subject": "s", "body": "b"}}])
    )
    add_contacts(factory, 1, tag="go", prefix="r")
    loops = loops_factory()
    counts = loops.run_once()
    assert counts["tick"] == 1
    assert counts["relay"] == 0  # no SMTP configured: the email is held, not attempted


def test_an_email_step_is_delivered_right_after_the_wake(
    db: t.Any, loops_factory: t.Any, smtp_sink: SmtpSink
) -> None:
    _, _, factory = db
    publish_campaign(
        factory,
        sequence_graph([{"type": "send_email", "config": {"subject": "Hi", "body": "Welcome"}}]),
    )
    loops = loops_factory(tick_seconds=SLOW, relay_seconds=SLOW, smtp_url=smtp_sink.url)
    loops.start()
    assert wait_for(lambda: loops.counts["tick"] >= 1 and loops.counts["relay"] >= 1, timeout=10)
    add_contacts(factory, 2, tag="go")  # wake → tick → relay kicked: no interval involved
    assert wait_for(lambda: len(smtp_sink.messages) == 2, timeout=10)
    assert sorted(str(m["To"]) for m in smtp_sink.messages) == ["N0 <c0@example.com>", "N1 <c1@example.com>"]


def test_a_busy_tick_does_not_hold_up_delivery(
    db: t.Any, loops_factory: t.Any, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Delivery has a thread of its own: queued emails go out while the tick is stuck in a long batch."""
    _, _, factory = db
    now = clock.now()
    with transaction(factory) as session:
        for i in range(3):
            session.add(OutboxMessage(idempotency_key=f"queued:{i}", kind="email", status="pending",
                                      payload={"to": f"q{i}@example.com", "subject": "Hi", "text": "Hello"},
                                      next_attempt_at=now, created_at=now))
    release = threading.Event()

    def stuck(*args: t.Any, **kw: t.Any) -> int:
        release.wait(30)  # a tick busy for as long as the test lasts
        return 0

    monkeypatch.setattr(step_loop, "run_due", stuck)
    loops = loops_factory(tick_seconds=SLOW, relay_seconds=SLOW, smtp_url=smtp_sink.url)
    loops.start()
    try:
        assert wait_for(lambda: loops._ticking, timeout=10)
        assert wait_for(lambda: len(smtp_sink.messages) == 3, timeout=10), "delivery waited for the tick"
        assert loops._ticking  # still stuck: the emails did not need it
    finally:
        release.set()
