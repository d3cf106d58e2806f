"""A small CRM for segment tests: contacts written straight from plain data, and their `Facts` read back.

`insert_people` writes contacts (tags, custom fields, opportunities, email
events) with Core inserts; `facts_of` builds each contact's `rules.Facts` from
the ORM objects read back — the rule language's own view of the row, computed
without the SQL under test.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session

from models import Contact
from models import ContactTag
from models import DomainEvent
from models import Opportunity
from models import Pipeline
from models import Stage
from models import Tag
from models import User
from models.db import make_engine
from models.db import make_session_factory
from models.db import upgrade
from runtime.graphs.rule_eval import Facts

TAGS = ("vip", "lead", "Vip", "news")
USERS = (1, 2)
STAGES = (1, 2, 3)
PIPELINE = 1


@dataclass
class Deal:
    """An opportunity of a generated contact."""

    title: str = "Deal"
    value: float = 0.0
    stage_id: int = 1
    owner_id: int | None = None
    next_action_date: date | None = None
    created_source: str = "user"


@dataclass
class Person:
    """A generated contact."""

    email: str
    first_name: str = ""
    last_name: str = ""
    timezone: str | None = None
    owner_id: int | None = None
    created_at: datetime = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    fields: dict[str, t.Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    deals: tuple[Deal, ...] = ()
    opened: bool = False
    clicked: bool = False


def make_world(url: str) -> Engine:
    """A migrated database with two users, one pipeline of three stages and the tags."""
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        for user_id in USERS:
            conn.execute(insert(User).values(id=user_id, username=f"u{user_id}", role="rep", password_hash="x"))
        conn.execute(insert(Pipeline).values(id=PIPELINE, name="Sales", kind="sales"))
        for stage_id in STAGES:
            conn.execute(insert(Stage).values(id=stage_id, pipeline_id=PIPELINE, number=stage_id * 10,
                                              name=f"S{stage_id}"))
        for index, name in enumerate(TAGS, start=1):
            conn.execute(insert(Tag).values(id=index, name=name))
    return engine


def reset_postgres(url: str) -> None:
    """An empty public schema."""
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    admin.dispose()


def sqlite_url(folder: Path) -> str:
    """A SQLite file URL in a folder."""
    return f"sqlite:///{folder / 'segments.db'}"


def insert_people(session: Session, people: t.Sequence[Person]) -> list[int]:
    """Write the people (replacing any earlier ones); return their contact ids."""
    for model in (DomainEvent, ContactTag, Opportunity, Contact):
        session.execute(delete(model))
    tag_ids = {name: index for index, name in enumerate(TAGS, start=1)}
    ids = []
    for person in people:
        contact_id = session.execute(insert(Contact).values(
            email=person.email, first_name=person.first_name, last_name=person.last_name,
            timezone=person.timezone, owner_id=person.owner_id, created_at=person.created_at,
            fields=person.fields).returning(Contact.id)).scalar_one()
        ids.append(contact_id)
        for name in set(person.tags):
            session.execute(insert(ContactTag).values(contact_id=contact_id, tag_id=tag_ids[name]))
        for deal in person.deals:
            session.execute(insert(Opportunity).values(
                title=deal.title, contact_id=contact_id, owner_id=deal.owner_id, pipeline_id=PIPELINE,
                stage_id=deal.stage_id, value=deal.value, next_action_date=deal.next_action_date,
                created_source=deal.created_source))
        for happened, kind in ((person.opened, "email_opened"), (person.clicked, "link_clicked")):
            if happened:
                session.execute(insert(DomainEvent).values(type=kind, contact_id=contact_id, payload={}))
        session.execute(insert(DomainEvent).values(type="tag_applied", contact_id=contact_id, payload={}))
    return ids


def _row(obj: t.Any) -> dict[str, t.Any]:
    return {column.key: getattr(obj, column.key) for column in obj.__mapper__.column_attrs}


def facts_of(session: Session, contact_id: int) -> Facts:
    """The rule language's facts about a contact, read through the ORM."""
    contact = session.get(Contact, contact_id)
    assert contact is not None
    deals = session.scalars(select(Opportunity).where(Opportunity.contact_id == contact_id)
                            .order_by(Opportunity.id.desc())).all()
    open_deals = [d for d in deals if getattr(d, "outcome", "open") == "open"]
    kinds = set(session.scalars(select(DomainEvent.type).where(DomainEvent.contact_id == contact_id)))
    return Facts(tags=frozenset(tag.name for tag in contact.tags), contact=_row(contact),
                 fields=dict(contact.fields or {}), opportunity=_row(open_deals[0]) if open_deals else None,
                 email_opened="email_opened" in kinds, email_clicked="link_clicked" in kinds)


def sessions(engine: Engine) -> Iterator[Session]:
    """One session per use, rolled back afterwards (the examples never commit)."""
    factory = make_session_factory(engine)
    while True:
        session = factory()
        try:
            yield session
        finally:
            session.rollback()
            session.close()
