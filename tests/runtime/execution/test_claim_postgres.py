"""The PostgreSQL claim path: concurrent runtimes execute each run and send each message once."""

from __future__ import annotations

import subprocess
import sys
import threading
import typing as t
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from models import Note
from models import OutboxMessage
from models import SequenceRun
from models import Task
from models.db import make_engine
from models.db import make_session_factory
from models.db import transaction
from models.db import upgrade
from runtime.config import RuntimeConfig
from runtime.delivery import relay as delivery
from runtime.execution import step_loop
from tests.runtime.relay_fixtures import REPO
from tests.runtime.relay_fixtures import HttpSink
from tests.runtime.relay_fixtures import add_contacts
from tests.runtime.relay_fixtures import fresh_postgres_db
from tests.runtime.relay_fixtures import http_sink_fixture  # noqa: F401
from tests.runtime.relay_fixtures import postgres_reachable
from tests.runtime.relay_fixtures import publish_campaign
from tests.runtime.relay_fixtures import sequence_graph
from tests.runtime.relay_fixtures import subprocess_env
from tests.runtime.relay_fixtures import wait_for

pytestmark = pytest.mark.postgres

STEPS = [
    {"type": "create_note", "config": {"body": "Hello {{contact.first_name}}"}},
    {
        "type": "create_task",
        "config": {"title": "Call {{contact.first_name}}", "assignee": "owner"},
    },
]


@pytest.fixture
def pg() -> Iterator[tuple[str, Engine, sessionmaker[Session]]]:
    """A fresh migrated PostgreSQL database of our own."""
    if not postgres_reachable():
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is unreachable")
    url = fresh_postgres_db("stagecraft_relay_test")
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield url, engine, make_session_factory(engine)
    finally:
        engine.dispose()


def per_contact(factory: sessionmaker[Session], model: t.Any) -> dict[int, int]:
    """How many rows of `model` each contact has."""
    with factory() as session:
        return dict(
            session.execute(select(model.contact_id, func.count()).group_by(model.contact_id)).all()
        )


def hammer(
    url: str, runtimes: int, body: t.Callable[[sessionmaker[Session], str], int]
) -> list[int]:
    """Run `body` in `runtimes` threads (own engines) until it returns 0; return their totals."""
    barrier = threading.Barrier(runtimes)
    totals = [0] * runtimes
    errors: list[BaseException] = []

    def work(i: int) -> None:
        engine = make_engine(url)
        factory = make_session_factory(engine)
        try:
            barrier.wait(10)
            while (n := body(factory, f"runtime-{i}")) > 0:
                totals[i] += n
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(runtimes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a runtime hung"
    assert not errors, errors
    return totals


def test_two_runtimes_claiming_concurrently_execute_each_run_once(pg: t.Any) -> None:
    url, _, factory = pg
    publish_campaign(factory, sequence_graph(STEPS))
    ids = add_contacts(factory, 400, tag="go")
    config = RuntimeConfig(database_url=url, smtp_url=None, redis_url=None, batch_size=10)

    totals = hammer(url, 2, lambda f, wid: step_loop.run_due(f, worker_id=wid, config=config))

    assert sum(totals) == 400  # every run claimed exactly once across both runtimes
    assert per_contact(factory, Note) == dict.fromkeys(ids, 1)
    assert per_contact(factory, Task) == dict.fromkeys(ids, 1)
    with factory() as session:
        assert session.execute(
            select(SequenceRun.status, func.count()).group_by(SequenceRun.status)
        ).all() == [("completed", 400)]
        assert session.scalar(select(func.count()).where(SequenceRun.lease_owner.is_not(None))) == 0


def test_two_relays_claiming_concurrently_send_each_message_once(
    pg: t.Any, http_sink: HttpSink
) -> None:
    url, _, factory = pg
    with transaction(factory) as session:
        for i in range(150):
            session.add(
                OutboxMessage(
                    idempotency_key=f"run:{i}:step:t1",
                    kind="http_post",
                    payload={"url": http_sink.url(), "json": {"i": i}},
                    status="pending",
                )
            )
    config = RuntimeConfig(
        database_url=url, smtp_url=None, redis_url=None, batch_size=7, allow_private_http=True
    )

    totals = hammer(url, 3, lambda f, wid: delivery.relay_outbox(f, worker_id=wid, config=config))

    assert sum(totals) == 150
    keys = http_sink.keys()
    assert len(keys) == 150 and set(keys.values()) == {1}
    with factory() as session:
        assert session.scalar(select(func.count()).where(OutboxMessage.status == "sent")) == 150


def test_two_worker_processes_share_the_work(pg: t.Any, tmp_path: Path) -> None:
    url, _, factory = pg
    publish_campaign(factory, sequence_graph(STEPS))
    ids = add_contacts(factory, 300, tag="go")
    env = subprocess_env(STAGECRAFT_DATABASE_URL=url)
    cmd = [sys.executable, "-m", "runtime.worker", "--tick-seconds", "0.05", "--batch-size", "10"]
    procs = []
    for i in range(2):
        with (tmp_path / f"w{i}.log").open("wb") as out:
            procs.append(
                subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
            )
    try:

        def finished() -> bool:
            with factory() as session:
                return (
                    session.scalar(select(func.count()).where(SequenceRun.status == "completed"))
                    == 300
                )

        assert wait_for(finished, timeout=120)
    finally:
        for proc in procs:
            proc.terminate()
        codes = [proc.wait(30) for proc in procs]
    assert codes == [0, 0], [(tmp_path / f"w{i}.log").read_text() for i in range(2)]
    assert per_contact(factory, Note) == dict.fromkeys(ids, 1)
    assert per_contact(factory, Task) == dict.fromkeys(ids, 1)
