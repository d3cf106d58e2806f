"""The outbox relay: lease due rows, deliver them through their kind's transport, record each outcome.

Invariants:
    * A row is delivered OUTSIDE any database transaction: it is first leased
      in a short claim transaction (PostgreSQL: ``FOR UPDATE SKIP LOCKED``;
      SQLite: the single writer lock), then sent, then settled (sent / retry /
      failed). No lock is held while talking to the network.
    * Outcomes are recorded as they happen, not per batch: the `Recorder`
      commits whatever was reported since its last commit, continuously, and a
      sending thread with ``config.delivery_window`` accepted messages not yet
      recorded waits. So a crash re-sends at most the messages in flight then
      (sent, not yet recorded: ≤ connections × window), and a message recorded
      once is never sent again.
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
from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta

from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from models import OutboxMessage
from models import clock
from runtime.config import RuntimeConfig
from runtime.delivery.base import TRANSPORTS
from runtime.delivery.base import Claimed
from runtime.delivery.base import PermanentError
from runtime.delivery.base import Sender
from runtime.delivery.base import StreamingSender
from runtime.delivery.base import TransientError
from runtime.delivery.recorder import Recorder
from runtime.delivery.settle import Outcome as Outcome
from runtime.delivery.settle import retry_delay as retry_delay
from runtime.delivery.settle import settle as settle
from runtime.faults import maybe_crash

log = logging.getLogger(__name__)


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
        o = OutboxMessage
        query = (
            select(o.id, o.kind, o.idempotency_key, o.payload, o.attempts, o.contact_id, o.public_id, o.campaign_id)
            .where(
                o.status == "pending",
                o.next_attempt_at <= moment,
                or_(o.lease_until.is_(None), o.lease_until <= moment),
            )
            .order_by(o.next_attempt_at, o.id)
            .limit(config.batch_size)
        )
        held = _hold(session, config)
        if held:
            query = query.where(o.kind.not_in(held))
        if session.get_bind().dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        # Plain rows and one UPDATE: loading and flushing ORM objects cost more than sending.
        claimed = [
            Claimed(id=row.id, kind=row.kind, key=row.idempotency_key, payload=dict(row.payload or {}),
                    attempts=row.attempts, contact_id=row.contact_id, lease_until=lease_until,
                    public_id=row.public_id, campaign_id=row.campaign_id)
            for row in session.execute(query)
        ]
        if claimed:
            session.execute(
                update(o).where(o.id.in_([c.id for c in claimed]))
                .values(lease_owner=worker_id, lease_until=lease_until)
                .execution_options(synchronize_session=False)
            )
        session.commit()
        return claimed
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


def relay_outbox(
    session_factory: sessionmaker[Session],
    *,
    worker_id: str,
    config: RuntimeConfig,
    now: datetime | None = None,
    senders: dict[str, Sender] | None = None,
) -> int:
    """Claim due outbox rows, deliver them outside any transaction, record each outcome as it comes.

    Args:
        session_factory: sessions on the runtime database.
        worker_id: this relay's lease owner name (unique per process).
        config: transports' settings, max attempts, batch size, lease length, window.
        now: the current time (default: the installed clock); tests pass it to
            step over backoff delays without sleeping.
        senders: open senders by kind to reuse (the delivery loop keeps its
            connections between passes); None opens and closes them here.

    Returns:
        How many rows were attempted (sent, rescheduled or failed).
    """
    claimed = claim_outbox(session_factory, worker_id=worker_id, config=config, now=now)
    if not claimed:
        return 0
    maybe_crash("relay_after_claim")
    own = senders is None
    open_senders: dict[str, Sender] = {} if senders is None else senders
    # Stop early rather than send on a lease that may already have passed to another relay.
    margin = timedelta(seconds=min(config.http_timeout + 5, config.lease_seconds / 2))
    recorder = Recorder(session_factory, worker_id=worker_id, config=config, now=now)
    try:
        by_kind: dict[str, list[Claimed]] = {}
        for item in claimed:
            by_kind.setdefault(item.kind, []).append(item)
        for kind, items in by_kind.items():
            _deliver_kind(kind, items, config, open_senders, recorder, now, margin)
    finally:
        recorder.close()
        if own:
            for sender in open_senders.values():
                sender.close()
    unreported = [item for item in claimed if item.id not in recorder.reported]
    release(session_factory, unreported, worker_id=worker_id)
    return len(recorder.reported)


def _deliver_kind(kind: str, items: list[Claimed], config: RuntimeConfig, senders: dict[str, Sender],
                  recorder: Recorder, now: datetime | None, margin: timedelta) -> None:
    transport = TRANSPORTS.get(kind)
    if transport is None:
        for item in items:
            recorder.report(item, PermanentError(f"unknown outbox kind {kind!r}"))
        return
    if not transport.ready(config):  # claimed under another config; keep it for later
        for item in items:
            recorder.report(item, TransientError(transport.held_note))
        return
    sender = senders.get(kind)
    if sender is None:
        sender = senders[kind] = transport.open(config)

    def in_time() -> Iterator[Claimed]:
        for item in items:
            if _now(now) > item.lease_until - margin:
                return
            yield item

    moment = _now(now)
    if isinstance(sender, StreamingSender):
        sender.deliver_all(in_time(), moment, recorder.report)
        return
    for item in in_time():
        try:
            sender.deliver(item, moment)
        except Exception as exc:
            recorder.report(item, exc)
        else:
            recorder.report(item, None)
