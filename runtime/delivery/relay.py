"""The outbox relay: lease due rows, deliver each through its kind's transport, settle each.

Invariants:
    * A row is delivered OUTSIDE any database transaction: it is first leased
      in a short claim transaction (PostgreSQL: ``FOR UPDATE SKIP LOCKED``;
      SQLite: the single writer lock), then sent, then settled (sent / retry /
      failed) in its own short transaction. No lock is held while talking to
      the network.
    * Delivery is at least once, keyed: the key never changes between attempts.
    * A row is never sent by two relays at once while its lease holds; a lease
      that expired (its relay died) makes the row claimable again, so nothing
      is lost.
    * Transient failures retry with exponential backoff; permanent ones fail at
      once; after ``config.max_attempts`` attempts a row is failed.
      ``last_error`` always says why.
    * Rows of a kind whose transport is not ready are held (see
      `runtime.delivery`); rows of a kind with no transport fail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Literal

from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from models import OutboxMessage
from models import clock
from models import events
from runtime.backoff import backoff_seconds
from runtime.config import RuntimeConfig
from runtime.delivery.base import TRANSPORTS
from runtime.delivery.base import Claimed
from runtime.delivery.base import PermanentError
from runtime.delivery.base import Sender
from runtime.delivery.base import TransientError
from runtime.faults import maybe_crash
from runtime.notices import OutboxChanged

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 15.0
BACKOFF_CAP_SECONDS = 3600.0

Verdict = Literal["sent", "retry", "failed"]


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to."""

    verdict: Verdict
    error: str | None = None
    retry_after: float | None = None


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed deliveries (15 s, 30 s, 60 s, … ≤ 1 h)."""
    return backoff_seconds(attempts, BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else clock.now()


def _hold(session: Session, config: RuntimeConfig) -> list[str]:
    """Mark rows of not-ready kinds as held; return those kinds (not to be claimed)."""
    held = []
    for kind, transport in TRANSPORTS.items():
        if transport.ready(config):
            continue
        held.append(kind)
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind == kind, OutboxMessage.status == "pending", OutboxMessage.last_error.is_(None))
            .values(last_error=transport.held_note)
        )
    return held


def claim_outbox(
    session_factory: sessionmaker[Session], *, worker_id: str, config: RuntimeConfig, now: datetime | None = None
) -> list[Claimed]:
    """Lease up to ``config.batch_size`` due pending rows for `worker_id`, oldest due first."""
    moment = _now(now)
    lease_until = moment + timedelta(seconds=config.lease_seconds)
    session = session_factory()
    try:
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= moment,
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until <= moment),
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(config.batch_size)
        )
        held = _hold(session, config)
        if held:
            query = query.where(OutboxMessage.kind.not_in(held))
        if session.get_bind().dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        claimed = []
        for row in session.scalars(query):
            row.lease_owner = worker_id
            row.lease_until = lease_until
            claimed.append(Claimed(id=row.id, kind=row.kind, key=row.idempotency_key, payload=dict(row.payload or {}),
                                   attempts=row.attempts, contact_id=row.contact_id, lease_until=lease_until))
        session.commit()
        return claimed
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def settle(
    session_factory: sessionmaker[Session],
    item: Claimed,
    outcome: Outcome,
    *,
    worker_id: str,
    config: RuntimeConfig,
    now: datetime | None = None,
) -> str | None:
    """Record an attempt's outcome in a short transaction; return the new status.

    A "sent" outcome is recorded even if the lease was lost meanwhile (the
    message did go out); retry/failed only while this worker still holds the
    lease, so a slower relay never overwrites a newer attempt.

    Returns:
        "sent", "pending" (retry scheduled), "failed", or None if the row was
        no longer ours to settle.
    """
    moment = _now(now)
    session = session_factory()
    try:
        row = session.get(OutboxMessage, item.id)
        if row is None or row.status != "pending":
            session.rollback()
            return None
        if outcome.verdict != "sent" and row.lease_owner != worker_id:
            session.rollback()
            return None
        row.attempts = row.attempts + 1
        row.lease_owner = None
        row.lease_until = None
        if outcome.verdict == "sent":
            row.status, row.sent_at, row.last_error = "sent", moment, None
        elif outcome.verdict == "retry" and row.attempts < config.max_attempts:
            delay = retry_delay(row.attempts)
            if outcome.retry_after is not None:
                delay = min(max(delay, outcome.retry_after), BACKOFF_CAP_SECONDS)
            row.next_attempt_at = moment + timedelta(seconds=delay)
            row.last_error = f"attempt {row.attempts}/{config.max_attempts}: {outcome.error}"
        else:
            row.status = "failed"
            if outcome.verdict == "retry":
                row.last_error = f"gave up after {row.attempts} attempts: {outcome.error}"
            else:
                row.last_error = outcome.error
        events.notice(session, OutboxChanged(
            outbox_id=row.id, contact_id=row.contact_id, status=row.status, kind=row.kind,
            idempotency_key=row.idempotency_key, attempts=row.attempts, last_error=row.last_error,
        ))
        status = row.status
        session.commit()
        return status
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def release(session_factory: sessionmaker[Session], items: list[Claimed], *, worker_id: str) -> None:
    """Give back leases on rows this relay will not get to (no attempt counted)."""
    if not items:
        return
    session = session_factory()
    try:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([i.id for i in items]), OutboxMessage.lease_owner == worker_id)
            .values(lease_owner=None, lease_until=None)
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def attempt(deliver: Callable[[], None]) -> Outcome:
    """Run one delivery and classify how it ended."""
    try:
        deliver()
    except PermanentError as exc:
        return Outcome("failed", str(exc))
    except TransientError as exc:
        return Outcome("retry", str(exc), exc.retry_after)
    except Exception as exc:  # a bug must not leave the row leased forever: count the attempt
        log.exception("unexpected delivery error")
        return Outcome("retry", f"unexpected {type(exc).__name__}: {exc}")
    return Outcome("sent")


def relay_outbox(
    session_factory: sessionmaker[Session], *, worker_id: str, config: RuntimeConfig, now: datetime | None = None
) -> int:
    """Claim due outbox rows, deliver each outside any transaction, settle each.

    Args:
        session_factory: sessions on the runtime database.
        worker_id: this relay's lease owner name (unique per process).
        config: transports' settings, max attempts, batch size, lease length.
        now: the current time (default: the installed clock); tests pass it to
            step over backoff delays without sleeping.

    Returns:
        How many rows were attempted (sent, rescheduled or failed).
    """
    claimed = claim_outbox(session_factory, worker_id=worker_id, config=config, now=now)
    if not claimed:
        return 0
    maybe_crash("relay_after_claim")
    senders: dict[str, Sender] = {}
    # Stop early rather than send on a lease that may already have passed to another relay.
    margin = timedelta(seconds=min(config.http_timeout + 5, config.lease_seconds / 2))
    done = 0
    try:
        for index, item in enumerate(claimed):
            if _now(now) > item.lease_until - margin:
                release(session_factory, claimed[index:], worker_id=worker_id)
                break
            outcome = _deliver(item, config, senders, _now(now))
            if outcome.verdict == "sent":
                maybe_crash("after_send")
            status = settle(session_factory, item, outcome, worker_id=worker_id, config=config, now=now)
            done += 1
            if outcome.verdict == "sent":
                log.info("outbox %s %s delivered", item.kind, item.key)
            else:
                log.warning("outbox %s %s -> %s: %s", item.kind, item.key, status, outcome.error)
    finally:
        for sender in senders.values():
            sender.close()
    return done


def _deliver(item: Claimed, config: RuntimeConfig, senders: dict[str, Sender], moment: datetime) -> Outcome:
    transport = TRANSPORTS.get(item.kind)
    if transport is None:
        return Outcome("failed", f"unknown outbox kind {item.kind!r}")
    if not transport.ready(config):  # claimed under another config; keep it for later
        return Outcome("retry", transport.held_note)
    sender = senders.get(item.kind)
    if sender is None:
        sender = senders[item.kind] = transport.open(config)
    return attempt(lambda: sender.deliver(item, moment))
