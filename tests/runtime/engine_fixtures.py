"""Fixtures for the goal-matching and step-loop tests: a migrated database per test, a fake clock, a small CRM.

Import the fixtures into a test module with
``from tests.runtime.engine_fixtures import *  # noqa: F403``.
"""

from __future__ import annotations

import os
import shutil
import typing as t
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from models import Campaign
from models import ChecklistItem
from models import Contact
from models import Opportunity
from models import SequenceRun
from models import Stage
from models import User
from models import clock
from models.access import Actor
from models.clock import FakeClock
from models.contacts import create_contact
from models.contacts import ensure_tag
from models.db import make_engine
from models.db import make_session_factory
from models.db import upgrade
from models.pipelines import create_pipeline
from runtime import campaigns
from runtime import publishing
from runtime.config import RuntimeConfig
from runtime.execution import cache
from runtime.execution.step_loop import run_due

__all__ = ["Env", "clock_", "env", "goal", "graph", "pg_env", "pg_url", "seq", "step", "template_db"]

ADMIN = Actor(user_id=None, role="admin")
MONDAY_9 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


# --- graph builders (the same JSON the API takes) --------------------------------


def goal(node_id: str, type: str, name: str = "", **config: t.Any) -> dict[str, t.Any]:
    """A goal node."""
    return {"id": node_id, "kind": "goal", "type": type, "name": name or node_id, "config": config}


def step(step_id: str, type: str, **config: t.Any) -> dict[str, t.Any]:
    """A sequence step."""
    return {"id": step_id, "type": type, "config": config}


def seq(node_id: str, *steps: dict[str, t.Any], name: str = "") -> dict[str, t.Any]:
    """A sequence node."""
    return {"id": node_id, "kind": "sequence", "name": name or node_id, "steps": list(steps)}


def graph(nodes: list[dict[str, t.Any]], *edges: str) -> dict[str, t.Any]:
    """A graph; edges written "a>b"."""
    return {
        "nodes": nodes,
        "edges": [{"source": e.split(">")[0], "target": e.split(">")[1]} for e in edges],
    }


# --- database -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database file, copied for every test (Alembic runs once)."""
    path = tmp_path_factory.mktemp("engine_template") / "template.db"
    db = make_engine(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    return path


@pytest.fixture
def clock_() -> Iterator[FakeClock]:
    """A fake clock at Monday 2026-01-05 09:00 UTC, installed for the test."""
    fake = FakeClock(MONDAY_9)
    previous = clock.set_clock(fake)
    yield fake
    clock.set_clock(previous)


@dataclass
class Env:
    """A test's database, session, clock, config and CRM fixtures, with helpers."""

    factory: sessionmaker[Session]
    session: Session
    clock: FakeClock
    config: RuntimeConfig
    ids: dict[str, int] = field(default_factory=dict)

    # -- CRM -------------------------------------------------------------------------

    def user(
        self, username: str, role: str = "rep", capacity: int = 10, active: bool = True
    ) -> User:
        """A user (no scrypt: tests don't log in)."""
        user = User(
            username=username,
            name=username.title(),
            email=f"{username}@example.com",
            role=role,
            password_hash="x",
            daily_task_capacity=capacity,
            active=active,
        )
        self.session.add(user)
        self.session.flush()
        return user

    def contact(self, email: str = "ada@example.com", **kw: t.Any) -> Contact:
        """A contact."""
        return create_contact(
            self.session, ADMIN, email, first_name=kw.pop("first_name", "Ada"), **kw
        )

    def stage(self, name: str, pipeline: str = "sales") -> int:
        """A stage id by name in the "sales" or "fulfillment" pipeline."""
        pipeline_id = self.ids[pipeline]
        stage_id = self.session.scalar(
            select(Stage.id).where(Stage.pipeline_id == pipeline_id, Stage.name == name)
        )
        assert stage_id is not None, name
        return stage_id

    def opportunity(
        self, contact: Contact, stage: str, *, owner: User | None = None, pipeline: str = "sales"
    ) -> Opportunity:
        """An opportunity created by hand (source=user)."""
        from models.opportunities import create_opportunity

        return create_opportunity(
            self.session,
            ADMIN,
            title=f"Deal {contact.first_name}",
            contact_id=contact.id,
            pipeline_id=self.ids[pipeline],
            stage_id=self.stage(stage, pipeline),
            owner_id=owner.id if owner else None,
        )

    def move(self, opp: Opportunity, stage: str, pipeline: str = "sales") -> None:
        """A rep saving the opportunity into another stage (checklists ignored)."""
        from models.opportunities import move_stage

        move_stage(self.session, ADMIN, opp, self.stage(stage, pipeline))

    # -- campaigns ------------------------------------------------------------------------

    def publish(
        self,
        data: dict[str, t.Any],
        name: str = "Campaign",
        *,
        allow_reentry: bool = False,
        campaign_id: int | None = None,
    ) -> Campaign:
        """Create (or update) a campaign's draft and publish it through runtime.campaigns."""
        for node in data["nodes"]:
            for tag in _tags_in(node):
                ensure_tag(self.session, tag)
        if campaign_id is None:
            campaign = campaigns.create_campaign(self.session, ADMIN, name, data)
            campaign.allow_reentry = allow_reentry
        else:
            campaigns.save_draft(self.session, ADMIN, campaign_id, data)
            campaign = t.cast(Campaign, self.session.get(Campaign, campaign_id))
        publishing.publish(self.session, ADMIN, campaign.id)
        self.session.flush()
        return campaign

    # -- running -------------------------------------------------------------------------

    def tick(self, *, max_rounds: int = 50) -> int:
        """Commit the test's work, run due runs until none is due, return runs processed."""
        self.session.commit()
        total = 0
        for _ in range(max_rounds):
            done = run_due(self.factory, worker_id="test", config=self.config)
            total += done
            if not done:
                break
        self.session.expire_all()
        return total

    def runs(self, contact: Contact | None = None, node: str | None = None) -> list[SequenceRun]:
        """Runs (of a contact, on a node), oldest first."""
        query = select(SequenceRun).order_by(SequenceRun.id)
        if contact is not None:
            query = query.where(SequenceRun.contact_id == contact.id)
        if node is not None:
            query = query.where(SequenceRun.node_id == node)
        return list(self.session.scalars(query))

    def statuses(self, contact: Contact) -> dict[str, str]:
        """{node id: status of the latest run on it} for a contact."""
        return {run.node_id: run.status for run in self.runs(contact)}


def _tags_in(node: dict[str, t.Any]) -> list[str]:
    found = []
    if node.get("type") == "tag_applied":
        found.append(node["config"]["tag"])
    for s in node.get("steps", []):
        if s["type"] in ("apply_tag", "remove_tag"):
            found.append(s["config"]["tag"])
    return found


def _build_env(url: str, clock_: FakeClock) -> Iterator[Env]:
    db = make_engine(url)
    factory = make_session_factory(db)
    cache.clear_caches()
    session = factory()
    e = Env(
        factory,
        session,
        clock_,
        RuntimeConfig(database_url=url, batch_size=50, account_timezone="UTC", max_attempts=3),
    )
    e.ids["admin"] = e.user("admin", "admin").id
    e.ids["rep1"] = e.user("rep1").id
    e.ids["rep2"] = e.user("rep2").id
    e.ids["marketer"] = e.user("marketer", "marketer").id
    e.ids["sales"] = create_pipeline(session, ADMIN, "Sales", "sales", template="sales_workflow").id
    e.ids["fulfillment"] = create_pipeline(
        session, ADMIN, "Fulfillment", "fulfillment", template="fulfillment"
    ).id
    # Checklists are the CRM's business, not the runtime's: let every move through.
    for item in session.scalars(select(ChecklistItem)):
        item.required = False
    session.commit()
    try:
        yield e
    finally:
        session.close()
        db.dispose()
        cache.clear_caches()


@pytest.fixture
def env(template_db: Path, tmp_path: Path, clock_: FakeClock) -> Iterator[Env]:
    """A fresh SQLite file: admin, two reps, a marketer, a sales and a fulfillment pipeline."""
    path = tmp_path / "stagecraft.db"
    shutil.copy(template_db, path)
    yield from _build_env(f"sqlite:///{path}", clock_)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """This run's own PostgreSQL database (created once; dropped when the run ends)."""
    from tests.pg_support import fresh_database
    from tests.pg_support import postgres_reachable

    if not postgres_reachable():  # pragma: no cover - no server on this machine
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is unreachable")
    return os.environ.get("STAGECRAFT_ENGINE_TEST_PG") or fresh_database("stagecraft_engine_test")


@pytest.fixture
def pg_env(pg_url: str, clock_: FakeClock) -> Iterator[Env]:
    """The same world on PostgreSQL (schema rebuilt per test)."""
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(admin)
    admin.dispose()
    yield from _build_env(pg_url, clock_)
