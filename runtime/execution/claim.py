"""Claiming due sequence runs: one writer on SQLite, leases with SKIP LOCKED on PostgreSQL.

Invariants:
    * SQLite: one writer (``BEGIN IMMEDIATE``) claims, executes and commits in
      one transaction, so no lease is needed.
    * PostgreSQL: a short transaction takes due rows nobody else holds
      (``FOR UPDATE SKIP LOCKED``) and writes a lease; the execute transaction
      re-locks only the rows whose lease is still ours, so two workers never
      run the same run. While it holds those row locks the lease cannot be
      taken over, so it needs no renewal; the lease only guards the gap between
      claim and execute, and `reap_leases` frees it after a crash.
    * Paused campaigns' runs are never claimed; their due runs wait.
"""

from __future__ import annotations

import typing as t
from datetime import datetime
from datetime import timedelta

from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker
from sqlalchemy.sql import Select

from models import Campaign
from models import OutboxMessage
from models import SequenceRun
from models import clock
from runtime.config import RuntimeConfig


def due_query(now: datetime) -> Select[t.Any]:
    """Due, active runs of live campaigns whose lease is free or expired, oldest first."""
    return (
        select(SequenceRun)
        .join(Campaign, Campaign.id == SequenceRun.campaign_id)
        .where(
            SequenceRun.status == "active",
            SequenceRun.due_at <= now,
            Campaign.status == "live",
            or_(SequenceRun.lease_until.is_(None), SequenceRun.lease_until < now),
        )
        .order_by(SequenceRun.due_at, SequenceRun.id)
    )


def due_runs(session: Session, now: datetime, limit: int) -> list[SequenceRun]:
    """SQLite: the due runs, read in the single writer's transaction."""
    return list(session.scalars(due_query(now).limit(limit)))


def claim_leased(
    session_factory: sessionmaker[Session], worker_id: str, config: RuntimeConfig, now: datetime
) -> list[int]:
    """PostgreSQL: take due rows nobody else holds (SKIP LOCKED) and lease them, then commit."""
    with session_factory() as session:
        ids = list(
            session.scalars(
                due_query(now)
                .with_only_columns(SequenceRun.id)
                .limit(config.batch_size)
                .with_for_update(skip_locked=True, of=SequenceRun)
            )
        )
        if ids:
            session.execute(
                update(SequenceRun)
                .where(SequenceRun.id.in_(ids))
                .values(lease_owner=worker_id, lease_until=now + timedelta(seconds=config.lease_seconds)),
                execution_options={"synchronize_session": False},
            )
        session.commit()
    return ids


def lock_leased(session: Session, ids: list[int], worker_id: str) -> list[SequenceRun]:
    """PostgreSQL: lock the claimed rows whose lease is still ours (and still runnable)."""
    return list(
        session.scalars(
            select(SequenceRun)
            .join(Campaign, Campaign.id == SequenceRun.campaign_id)
            .where(
                SequenceRun.id.in_(ids),
                SequenceRun.lease_owner == worker_id,
                SequenceRun.status == "active",
                Campaign.status == "live",
            )
            .order_by(SequenceRun.due_at, SequenceRun.id)
            .with_for_update(of=SequenceRun)
        )
    )


def release_leases(session: Session, ids: list[int], worker_id: str) -> None:
    """Release every lease we still hold on `ids`, including rows dropped by the re-check."""
    session.execute(
        update(SequenceRun)
        .where(SequenceRun.id.in_(ids), SequenceRun.lease_owner == worker_id)
        .values(lease_owner=None, lease_until=None),
    )


def reap_leases(session_factory: sessionmaker[Session], now: datetime | None = None) -> int:
    """Free expired leases of sequence runs and outbox rows; return how many."""
    now = now or clock.now()
    freed = 0
    with session_factory() as session:
        for model in (SequenceRun, OutboxMessage):
            result = session.execute(
                update(model)
                .where(model.lease_until.is_not(None), model.lease_until < now)
                .values(lease_owner=None, lease_until=None),
                execution_options={"synchronize_session": False},
            )
            freed += int(getattr(result, "rowcount", 0) or 0)
        session.commit()
    return freed
