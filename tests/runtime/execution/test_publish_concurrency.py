"""Two publishers of one campaign at once on PostgreSQL: both succeed with consecutive versions."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from models import CampaignVersion
from runtime import publishing
from tests.runtime.engine_fixtures import *  # noqa: F403
from tests.runtime.engine_fixtures import ADMIN
from tests.runtime.engine_fixtures import Env
from tests.runtime.engine_fixtures import goal
from tests.runtime.engine_fixtures import graph
from tests.runtime.engine_fixtures import seq
from tests.runtime.engine_fixtures import step

pytestmark = pytest.mark.postgres


def test_concurrent_publishes_take_distinct_version_numbers(pg_env: Env) -> None:
    """The campaign row lock serialises publishers, so neither hits the (campaign, number) constraint."""
    camp = pg_env.publish(graph([goal("g", "tag_applied", tag="t"), seq("s", step("n", "create_note", body="x"))],
                                "g>s"))
    pg_env.session.commit()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def publish() -> None:
        with pg_env.factory() as session:
            try:
                barrier.wait(timeout=10)
                publishing.publish(session, ADMIN, camp.id)
                session.commit()
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with pg_env.factory() as session:
        numbers = sorted(session.scalars(select(CampaignVersion.number).where(CampaignVersion.campaign_id == camp.id)))
    assert numbers == [1, 2, 3]
