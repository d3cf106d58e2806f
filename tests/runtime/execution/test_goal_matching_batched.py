"""Every scenario of test_goal_matching.py and test_campaign_lifecycle.py again, with the test's events matched in batches.

The scenarios are imported unchanged; an autouse fixture holds back the logged
events the test records through its own session and hands them to
`models.events.record_many` together — one batch, one set-based dispatch —
at the moment their effect is first needed: before the session commits
(`env.tick()`), or before it reads the event log or the runtime's tables.
So a scenario such as "tag lead, tag news, tick" goes through the batch path
as one batch of two events for one contact, and "three contacts tagged, tick"
as one batch of three. The executor's own events (a step applying a tag)
keep the single-event path, as in production.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterator

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session
from sqlalchemy.sql.util import find_tables

from models import events
from tests.runtime.execution.test_campaign_lifecycle import *  # noqa: F403  (the scenarios, collected again here)
from tests.runtime.execution.test_goal_matching import *  # noqa: F403

WATCHED = frozenset({"domain_event", "enrollment", "sequence_run", "goal_hit"})


class Batcher:
    """Holds back one session's logged events and records them as one batch when needed."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.pending: list[events.Logged] = []
        self.batches: list[int] = []
        self._flushing = False

    def flush(self) -> None:
        if self.pending and not self._flushing:
            batch, self.pending = self.pending, []
            self._flushing = True
            try:
                events.record_many(self.session, batch)
            finally:
                self._flushing = False
            self.batches.append(len(batch))

    def before_read(self, state: ORMExecuteState) -> None:
        if self.pending and not self._flushing:
            names = {table.name for table in find_tables(state.statement, include_crud=True, include_joins=True)}
            if names & WATCHED:
                self.flush()


@pytest.fixture(autouse=True)
def batched(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Batcher | None]:
    """Route the test session's logged events through `record_many` in batches."""
    if "env" not in request.fixturenames:
        yield None
        return
    env = request.getfixturevalue("env")
    batcher = Batcher(env.session)
    original = events.record

    def record(session: Session, event: events.Event) -> int | None:
        if session is batcher.session and isinstance(event, events.Logged):
            batcher.pending.append(event)
            return None
        return original(session, event)

    monkeypatch.setattr(events, "record", record)
    sa_event.listen(env.session, "before_commit", lambda _s: batcher.flush())
    sa_event.listen(env.session, "do_orm_execute", batcher.before_read)
    yield batcher
    sa_event.remove(env.session, "do_orm_execute", batcher.before_read)


def test_the_batched_scenarios_really_batch(env: t.Any, batched: Batcher) -> None:
    """Guard for this module: two contacts tagged back to back reach goal matching as one batch of two."""
    from models.contacts import apply_tag
    from tests.runtime.engine_fixtures import ADMIN
    from tests.runtime.engine_fixtures import goal
    from tests.runtime.engine_fixtures import graph
    from tests.runtime.engine_fixtures import seq
    from tests.runtime.engine_fixtures import step

    env.publish(graph([goal("g", "tag_applied", tag="t"), seq("s", step("n", "create_note", body="x"))], "g>s"))
    a, b = env.contact("a@example.com"), env.contact("b@example.com")
    apply_tag(env.session, ADMIN, a.id, "t")
    apply_tag(env.session, ADMIN, b.id, "t")
    env.tick()
    assert batched.batches == [2]
    assert env.statuses(a) == {"s": "completed"} and env.statuses(b) == {"s": "completed"}
