"""The live-campaign cache: read once per transaction, and every process sees a publish, pause or resume.

Two engines on one database file stand for two processes (the caches are per
engine): what one commits, the other sees at its next transaction, without
any cache clearing; and a transaction matching a thousand events reads the
counter once and the campaign table not at all when nothing changed.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select

from models import Campaign
from models import SequenceRun
from models.contacts import apply_tag
from models.db import make_engine
from models.db import make_session_factory
from models.tables.counters import LIVE_CAMPAIGNS
from models.tables.counters import read_counter
from runtime import publishing
from runtime.execution.cache import live_campaigns
from tests.runtime.engine_fixtures import *  # noqa: F403
from tests.runtime.engine_fixtures import ADMIN
from tests.runtime.engine_fixtures import Env
from tests.runtime.engine_fixtures import goal
from tests.runtime.engine_fixtures import graph
from tests.runtime.engine_fixtures import seq
from tests.runtime.engine_fixtures import step


@pytest.fixture
def other(env: Env) -> Iterator[Engine]:
    """A second engine on the same database: another process, as far as caches go."""
    engine = make_engine(str(env.factory.kw["bind"].url))
    yield engine
    engine.dispose()


def statements(engine: Engine) -> tuple[list[str], t.Callable[[], None]]:
    seen: list[str] = []

    def listen(_conn: t.Any, _cursor: t.Any, statement: str, *_args: t.Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    return seen, lambda: event.remove(engine, "before_cursor_execute", listen)


def names(engine: Engine) -> list[str]:
    with make_session_factory(engine)() as session:
        return [c.name for c in live_campaigns(session)]


def test_another_process_sees_publish_pause_and_resume_at_its_next_transaction(env: Env, other: Engine) -> None:
    assert names(other) == []  # cached empty, under counter value N
    before = read_counter(env.session, LIVE_CAMPAIGNS)
    env.session.commit()  # SQLite: let go of the write lock the other engine needs
    campaign = env.publish(graph([goal("g", "tag_applied", tag="t"), seq("s", step("n", "create_note", body="x"))],
                                 "g>s"), "Welcome")
    env.session.commit()
    assert read_counter(env.session, LIVE_CAMPAIGNS) > before
    env.session.commit()
    assert names(other) == ["Welcome"]
    publishing.set_paused(env.session, ADMIN, campaign.id, True)
    env.session.commit()
    assert names(other) == []
    publishing.set_paused(env.session, ADMIN, campaign.id, False)
    env.session.commit()
    assert names(other) == ["Welcome"]
    env.session.get(Campaign, campaign.id).allow_reentry = True  # type: ignore[union-attr]
    env.session.commit()
    with make_session_factory(other)() as session:
        assert [c.allow_reentry for c in live_campaigns(session)] == [True]


def test_an_uncommitted_change_is_seen_by_its_own_transaction_only(env: Env, other: Engine) -> None:
    campaign = env.publish(graph([goal("g", "tag_applied", tag="t"), seq("s", step("n", "create_note", body="x"))],
                                 "g>s"), "Welcome")
    env.session.commit()
    assert names(other) == ["Welcome"]
    publishing.set_paused(env.session, ADMIN, campaign.id, True)
    assert [c.name for c in live_campaigns(env.session)] == []  # our own pause, not committed yet
    env.session.rollback()
    assert names(other) == ["Welcome"]
    assert [c.name for c in live_campaigns(env.session)] == ["Welcome"]  # the rolled-back read was not cached
    env.session.rollback()


def test_a_transaction_of_many_events_reads_the_counter_once(env: Env) -> None:
    env.publish(graph([goal("g", "tag_applied", tag="t"), seq("s", step("n", "create_note", body="x"))], "g>s"))
    people = [env.contact(f"p{i}@example.com").id for i in range(20)]
    env.session.commit()
    live_campaigns(env.session)  # the first transaction after the publish reads the campaigns into the cache
    env.session.commit()
    engine = env.factory.kw["bind"]
    seen, stop = statements(engine)
    try:
        for contact_id in people:
            apply_tag(env.session, ADMIN, contact_id, "t")
        env.session.commit()
    finally:
        stop()
    assert sum("FROM counter" in s for s in seen) == 1
    assert sum("FROM campaign " in s or "FROM campaign\n" in s for s in seen) == 0  # the cache still holds
    assert env.session.scalar(select(func.count()).select_from(SequenceRun)) == 20
    # One tag event: a handful of statements, none of them an ORM load of the contact.
    seen, stop = statements(engine)
    try:
        apply_tag(env.session, ADMIN, env.contact("one@example.com").id, "t")
    finally:
        stop()
    assert not any(s.startswith("SELECT contact.id, contact.email") for s in seen)
