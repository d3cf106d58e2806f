"""Named counters that processes compare to know when their caches went stale.

Invariant: any change to a campaign's status, live version, re-entry setting
or name bumps the ``live_campaigns`` counter in the transaction that makes it
(a flush hook, so no code path can forget it). A process caching the live
campaigns re-reads them only when the counter moved: one primary-key read per
transaction instead of a scan per event, and every process (web nodes,
workers) sees a publish, pause, resume or archive as soon as it commits.
"""

from __future__ import annotations

import typing as t

from sqlalchemy import String
from sqlalchemy import event
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import object_session

from models.tables.base import Base
from models.tables.campaigns import Campaign

LIVE_CAMPAIGNS = "live_campaigns"
_DIRTY = "stagecraft.counters.live_dirty"
_BUMPED = "stagecraft.counters.live_bumped"


class Counter(Base):
    """A number bumped in the transaction that changes what it guards (e.g. the set of live campaigns)."""

    __tablename__ = "counter"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


def read_counter(session: Session, name: str) -> int:
    """The counter's value (0 before its first bump)."""
    return int(session.scalar(select(Counter.value).where(Counter.name == name)) or 0)


def bump_counter(session: Session, name: str) -> None:
    """Add one to the counter in this transaction (its row lock serialises concurrent bumps)."""
    bumped = session.execute(update(Counter).where(Counter.name == name).values(value=Counter.value + 1)
                             .returning(Counter.value)).first()
    if bumped is None:
        session.execute(insert(Counter).values(name=name, value=1))
    session.info[_BUMPED] = session.get_transaction()


def live_campaigns_bumped(session: Session) -> bool:
    """True when this session's current transaction changed the live campaigns (not committed yet)."""
    bumped = session.info.get(_BUMPED)
    return bumped is not None and bumped is session.get_transaction()


def _mark(target: Campaign, value: t.Any, oldvalue: t.Any, _initiator: t.Any) -> None:
    if value == oldvalue:
        return
    session = object_session(target)
    if session is not None:
        session.info[_DIRTY] = True


for _attribute in (Campaign.status, Campaign.live_version_id, Campaign.allow_reentry, Campaign.name):
    event.listen(_attribute, "set", _mark)


@event.listens_for(Session, "before_flush")
def _bump_live_campaigns(session: Session, _context: t.Any, _instances: t.Any) -> None:
    if session.info.pop(_DIRTY, False) or any(isinstance(obj, Campaign) for obj in session.new):
        bump_counter(session, LIVE_CAMPAIGNS)
