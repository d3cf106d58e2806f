"""Crash safety with real worker subprocesses killed by SIGKILL at named points.

Each scenario: contacts are enrolled into send_email → http_post → apply_tag;
a worker started with STAGECRAFT_FAULT=<point> kills itself there; a second
worker without the fault finishes the job.  Afterwards no step is lost, every
outbox row is sent, and the SMTP and HTTP sinks saw each idempotency key once
(after a crash between send and settle the one message in flight arrives a
second time carrying the SAME key, which is what lets a receiver drop it).

Then three kills mid-delivery in a row (``after_send@N``: the N-th accepted
message of a worker, before it is recorded), counting deliveries per
Message-ID at the SMTP server: a crash re-sends only the messages in flight
at that moment (accepted, not yet recorded: at most connections × window),
and a message recorded once never arrives again.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import typing as t
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from models import ContactTag
from models import OutboxMessage
from models import SequenceRun
from models import Tag
from models.db import make_engine
from models.db import make_session_factory
from models.db import upgrade
from runtime.delivery.smtp import message_id_for
from tests.runtime.relay_fixtures import REPO
from tests.runtime.relay_fixtures import HttpSink
from tests.runtime.relay_fixtures import SmtpSink
from tests.runtime.relay_fixtures import add_contacts
from tests.runtime.relay_fixtures import fresh_postgres_db
from tests.runtime.relay_fixtures import http_sink_fixture  # noqa: F401
from tests.runtime.relay_fixtures import postgres_reachable
from tests.runtime.relay_fixtures import publish_campaign
from tests.runtime.relay_fixtures import sequence_graph
from tests.runtime.relay_fixtures import smtp_sink_fixture  # noqa: F401
from tests.runtime.relay_fixtures import sqlite_db
from tests.runtime.relay_fixtures import subprocess_env
from tests.runtime.relay_fixtures import wait_for

CONTACTS = 12
BATCH = 5
Db = tuple[str, Engine, sessionmaker[Session]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def crash_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """A migrated database per backend (PostgreSQL skipped only if unreachable)."""
    if request.param == "sqlite":
        url, engine, factory = sqlite_db(tmp_path / "crash.db")
    else:
        if not postgres_reachable():
            pytest.skip("PostgreSQL on 127.0.0.1:5432 is unreachable")
        url = fresh_postgres_db("stagecraft_relay_crash")
        engine = make_engine(url)
        upgrade(engine)
        factory = make_session_factory(engine)
    try:
        yield url, engine, factory
    finally:
        engine.dispose()


def start_worker(
    url: str, smtp: SmtpSink, log: Path, fault: str | None = None, *, connections: int = 1, window: int = 1,
    batch: int = BATCH,
) -> subprocess.Popen[bytes]:
    """A `python -m runtime.worker` subprocess with fast loops and 1 s leases."""
    env = subprocess_env(
        STAGECRAFT_DATABASE_URL=url,
        STAGECRAFT_SMTP_URL=smtp.url,
        STAGECRAFT_HTTP_ALLOW_PRIVATE="1",
        STAGECRAFT_SECRET_KEY="crash-test-secret",
    )
    if fault:
        env["STAGECRAFT_FAULT"] = fault
    cmd = [
        sys.executable,
        "-m",
        "runtime.worker",
        "--tick-seconds",
        "0.1",
        "--relay-seconds",
        "0.1",
        "--lease-seconds",
        "1",
        "--batch-size",
        str(batch),
        "--smtp-connections",
        str(connections),
        "--http-parallel",
        str(connections),
        "--delivery-window",
        str(window),
    ]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM and wait (bounded); SIGKILL as a last resort."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait(10)


def scalar(factory: sessionmaker[Session], query: t.Any) -> int:
    """Run a count query."""
    with factory() as session:
        return int(session.scalar(query) or 0)


def completed(factory: sessionmaker[Session]) -> int:
    """Completed runs."""
    return scalar(factory, select(func.count()).where(SequenceRun.status == "completed"))


def outbox_rows(factory: sessionmaker[Session], status: str | None = None) -> int:
    """Outbox rows (of a status)."""
    query = select(func.count()).select_from(OutboxMessage)
    if status:
        query = query.where(OutboxMessage.status == status)
    return scalar(factory, query)


def all_done(factory: sessionmaker[Session]) -> bool:
    """Every run completed and every outbox row sent."""
    return completed(factory) == CONTACTS and outbox_rows(factory, "sent") == 2 * CONTACTS


def describe(factory: sessionmaker[Session]) -> str:
    """Run and outbox states, for failure messages."""
    with factory() as session:
        runs = session.execute(
            select(
                SequenceRun.id, SequenceRun.status, SequenceRun.step_index, SequenceRun.lease_owner
            )
        ).all()
        rows = session.execute(
            select(
                OutboxMessage.idempotency_key,
                OutboxMessage.status,
                OutboxMessage.attempts,
                OutboxMessage.lease_owner,
                OutboxMessage.last_error,
            )
        ).all()
    return f"runs: {runs}\noutbox: {rows}"


def deliveries(smtp: SmtpSink, http: HttpSink) -> int:
    """Messages received by both sinks, duplicates included."""
    return len(smtp.messages) + len(http.requests)


@pytest.mark.parametrize(
    "fault", ["after_claim", "after_commit", "relay_after_claim", "after_send"]
)
def test_sigkill_loses_no_step_and_delivers_each_key_once(
    crash_db: Db, smtp_sink: SmtpSink, http_sink: HttpSink, fault: str, tmp_path: Path
) -> None:
    url, _, factory = crash_db
    publish_campaign(
        factory,
        sequence_graph(
            [
                {
                    "type": "send_email",
                    "config": {"subject": "Hello {{contact.first_name}}", "body": "Welcome."},
                },
                {
                    "type": "http_post",
                    "config": {
                        "url": http_sink.url("/hook"),
                        "json": {"email": "{{contact.email}}"},
                    },
                },
                {"type": "apply_tag", "config": {"tag": "done"}},
            ]
        ),
    )
    contact_ids = add_contacts(factory, CONTACTS, tag="go")

    crashed = start_worker(url, smtp_sink, tmp_path / "worker1.log", fault=fault)
    try:
        assert crashed.wait(120) == -signal.SIGKILL, (tmp_path / "worker1.log").read_text()
    finally:
        if crashed.poll() is None:
            crashed.kill()

    # What the crash left behind, point by point.
    if fault == "after_claim":
        assert (
            completed(factory) == 0 and outbox_rows(factory) == 0
        )  # rolled back: nothing lost, all still due
    elif fault == "after_commit":
        assert completed(factory) == BATCH and outbox_rows(factory) == 2 * BATCH  # committed: kept
    elif fault == "relay_after_claim":
        assert deliveries(smtp_sink, http_sink) == 0
        leased = scalar(factory, select(func.count()).where(OutboxMessage.lease_owner.is_not(None)))
        assert leased > 0 and outbox_rows(factory, "sent") == 0  # leased by a dead relay
    else:  # after_send: one message went out, its row was never marked sent
        assert deliveries(smtp_sink, http_sink) == 1
        assert outbox_rows(factory, "sent") == 0

    survivor = start_worker(url, smtp_sink, tmp_path / "worker2.log")
    try:
        finished = wait_for(lambda: all_done(factory), timeout=120)
    finally:
        code = stop(survivor)
    log = (tmp_path / "worker2.log").read_text()
    assert finished, f"{describe(factory)}\n{log}"
    assert code == 0, log

    # No lost step: every run finished all three steps, every contact got the final tag.
    with factory() as session:
        runs = session.execute(select(SequenceRun.status, SequenceRun.step_index)).all()
        assert sorted(runs) == [("completed", 3)] * CONTACTS
        tagged = session.scalars(
            select(ContactTag.contact_id)
            .join(Tag, Tag.id == ContactTag.tag_id)
            .where(Tag.name == "done")
        ).all()
        assert sorted(tagged) == sorted(contact_ids)
        rows = session.execute(
            select(OutboxMessage.kind, OutboxMessage.idempotency_key, OutboxMessage.payload)
        ).all()
    email_ids = {message_id_for(key) for kind, key, _ in rows if kind == "email"}
    http_keys = {key for kind, key, _ in rows if kind == "http_post"}
    assert len(email_ids) == len(http_keys) == CONTACTS

    # Exactly one delivery per key (the receiver's view, deduplicated by key) ...
    assert set(smtp_sink.message_ids()) == email_ids
    assert set(http_sink.keys()) == http_keys
    # ... and on the wire at most the one message that was in flight is repeated, with its key.
    duplicates = deliveries(smtp_sink, http_sink) - 2 * CONTACTS
    assert duplicates == (1 if fault == "after_send" else 0)
    if fault != "after_send":
        assert set(smtp_sink.message_ids().values()) == {1}
        assert set(http_sink.keys().values()) == {1}


def recorded_message_ids(factory: sessionmaker[Session]) -> set[str]:
    """Message-IDs of the email rows recorded as sent."""
    with factory() as session:
        keys = session.scalars(select(OutboxMessage.idempotency_key).where(
            OutboxMessage.kind == "email", OutboxMessage.status == "sent")).all()
    return {message_id_for(key) for key in keys}


def settled_sink(smtp: SmtpSink) -> t.Counter[str]:
    """The sink's deliveries per Message-ID once nothing more arrives (data sent before a kill lands late)."""
    last = -1
    while True:
        counts = smtp.message_ids()
        if sum(counts.values()) == last:
            return counts
        last = sum(counts.values())
        wait_for(lambda: False, timeout=0.5)


@pytest.mark.parametrize(("connections", "window", "kill_at"), [(1, 1, 8), (4, 4, 30)])
def test_three_kills_mid_delivery_resend_only_what_was_in_flight(
    crash_db: Db, smtp_sink: SmtpSink, tmp_path: Path, connections: int, window: int, kill_at: int
) -> None:
    url, _, factory = crash_db
    contacts = 120
    publish_campaign(factory, sequence_graph([
        {"type": "send_email", "config": {"subject": "Hello {{contact.first_name}}", "body": "See https://example.com/a"}},
    ]))
    add_contacts(factory, contacts, tag="go")
    in_flight: list[set[str]] = []
    for crash in range(3):
        log = tmp_path / f"crash{crash}.log"
        worker = start_worker(url, smtp_sink, log, fault=f"after_send@{kill_at}", connections=connections,
                              window=window, batch=50)
        try:
            assert worker.wait(120) == -signal.SIGKILL, log.read_text()
        finally:
            if worker.poll() is None:
                worker.kill()
        received = settled_sink(smtp_sink)
        unrecorded = set(received) - recorded_message_ids(factory)
        # In flight at the kill: accepted by the server, not yet recorded — never more than the window allows.
        assert 1 <= len(unrecorded) <= connections * window, (crash, sorted(unrecorded))
        in_flight.append(unrecorded)

    survivor = start_worker(url, smtp_sink, tmp_path / "last.log", connections=connections, window=window, batch=50)
    try:
        finished = wait_for(lambda: outbox_rows(factory, "sent") == contacts, timeout=120)
    finally:
        stop(survivor)
    assert finished, describe(factory)

    counts = settled_sink(smtp_sink)
    assert set(counts) == recorded_message_ids(factory) and len(counts) == contacts  # nothing lost
    for message_id, count in counts.items():
        crashes_in_flight = sum(message_id in flight for flight in in_flight)
        if crashes_in_flight == 0:
            assert count == 1, message_id  # recorded before any kill: never sent again
        else:
            assert 2 <= count <= 1 + crashes_in_flight, (message_id, count, crashes_in_flight)
    duplicates = sum(counts.values()) - contacts
    assert duplicates <= sum(len(flight) for flight in in_flight)
    if connections == window == 1:
        # One connection, one message ahead of its record: at most one duplicate per crash, and a
        # message re-sent after a crash is recorded before the next one can happen.
        assert duplicates <= 3 and max(counts.values()) <= 2
