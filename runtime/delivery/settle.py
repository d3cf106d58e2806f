"""Recording delivery outcomes: sent, retry later (backoff), failed — and bounces.

Invariants:
    * One short transaction records many outcomes (the sent ones with one
      UPDATE): recording keeps up with parallel senders without holding the
      database (SQLite's one writer lock in particular) per message.
    * "sent" is recorded even if the lease was lost meanwhile (the message did
      go out); retry/failed only while this worker still holds the lease, so
      a slower relay never overwrites a newer attempt.
    * A recipient refused for good (5xx on RCPT) fails the row and marks the
      contact ``bounced`` (audited), in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Literal

from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from models import EmailActivity
from models import OutboxMessage
from models import clock
from models import events
from models.access import SYSTEM
from models.suppression import set_email_status
from models.tables.base import UTCDateTime
from runtime.backoff import backoff_seconds
from runtime.config import RuntimeConfig
from runtime.delivery.base import Claimed
from runtime.delivery.base import PermanentError
from runtime.delivery.base import RecipientRejected
from runtime.delivery.base import TransientError
from runtime.notices import OutboxChanged
from runtime.notices import stats_changed

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 15.0
BACKOFF_CAP_SECONDS = 3600.0

Verdict = Literal["sent", "retry", "failed"]


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to (``bounced``: the address is refused for good)."""

    verdict: Verdict
    error: str | None = None
    retry_after: float | None = None
    bounced: bool = False


SENT = Outcome("sent")

# Built once: composing this UPDATE with the ORM each time cost more than running it.
_MARK_SENT = text(
    "UPDATE outbox SET status = 'sent', sent_at = :at, last_error = NULL, lease_owner = NULL, "
    "lease_until = NULL, attempts = attempts + 1 WHERE status = 'pending' AND id IN :ids RETURNING id"
).bindparams(bindparam("ids", expanding=True), bindparam("at", type_=UTCDateTime()))


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed deliveries (15 s, 30 s, 60 s, … ≤ 1 h)."""
    return backoff_seconds(attempts, BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS)


def classify(error: BaseException | None) -> Outcome:
    """How a delivery that ended with `error` (None: accepted) counts."""
    if error is None:
        return SENT
    if isinstance(error, RecipientRejected):
        return Outcome("failed", str(error), bounced=True)
    if isinstance(error, PermanentError):
        return Outcome("failed", str(error))
    if isinstance(error, TransientError):
        return Outcome("retry", str(error), error.retry_after)
    # A bug must not leave the row leased forever: count the attempt.
    log.error("unexpected delivery error", exc_info=error)
    return Outcome("retry", f"unexpected {type(error).__name__}: {error}")


def settle_many(
    session_factory: sessionmaker[Session],
    results: Sequence[tuple[Claimed, Outcome]],
    *,
    worker_id: str,
    config: RuntimeConfig,
    now: datetime | None = None,
) -> dict[int, str | None]:
    """Record many outcomes in one transaction; return each row's new status.

    Returns:
        row id → "sent", "pending" (retry scheduled), "failed", or None if the
        row was no longer ours to settle.
    """
    moment = now if now is not None else clock.now()
    statuses: dict[int, str | None] = {item.id: None for item, _ in results}
    session = session_factory()
    try:
        sent = [item for item, outcome in results if outcome.verdict == "sent"]
        if sent:
            done = set(session.scalars(_MARK_SENT, {"ids": [i.id for i in sent], "at": moment}))
            for item in sent:
                if item.id in done:
                    statuses[item.id] = "sent"
                    events.notice(session, OutboxChanged(
                        outbox_id=item.id, contact_id=item.contact_id, status="sent", kind=item.kind,
                        idempotency_key=item.key, attempts=item.attempts + 1, last_error=None))
        for item, outcome in results:
            if outcome.verdict != "sent":
                statuses[item.id] = _settle_failure(session, item, outcome, worker_id, config, moment)
        for campaign_id in {item.campaign_id for item, _ in results if item.campaign_id is not None}:
            stats_changed(session, campaign_id)  # per-step sent/bounced counts on the canvas
        session.commit()
        return statuses
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _settle_failure(session: Session, item: Claimed, outcome: Outcome, worker_id: str, config: RuntimeConfig,
                    moment: datetime) -> str | None:
    row = session.get(OutboxMessage, item.id)
    if row is None or row.status != "pending" or row.lease_owner != worker_id:
        return None
    row.attempts = row.attempts + 1
    row.lease_owner = None
    row.lease_until = None
    if outcome.verdict == "retry" and row.attempts < config.max_attempts:
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
    if outcome.bounced and row.contact_id is not None:
        _bounce(session, row, outcome.error or "recipient refused", moment)
    events.notice(session, OutboxChanged(
        outbox_id=row.id, contact_id=row.contact_id, status=row.status, kind=row.kind,
        idempotency_key=row.idempotency_key, attempts=row.attempts, last_error=row.last_error,
    ))
    return row.status


def _bounce(session: Session, row: OutboxMessage, reason: str, moment: datetime) -> None:
    """Mark the contact bounced and count the bounce for the email's step."""
    set_email_status(session, SYSTEM, row.contact_id or 0, "bounced", reason=reason, source="email")
    already = session.scalar(select(EmailActivity.id).where(
        EmailActivity.outbox_id == row.id, EmailActivity.kind == "bounced"))
    if already is None:
        session.add(EmailActivity(outbox_id=row.id, contact_id=row.contact_id, campaign_id=row.campaign_id,
                                  node_id=row.node_id, step_id=row.step_id, kind="bounced", link=None, at=moment))


def settle(
    session_factory: sessionmaker[Session],
    item: Claimed,
    outcome: Outcome,
    *,
    worker_id: str,
    config: RuntimeConfig,
    now: datetime | None = None,
) -> str | None:
    """Record one attempt's outcome in a short transaction; return the new status (see `settle_many`)."""
    return settle_many(session_factory, [(item, outcome)], worker_id=worker_id, config=config, now=now)[item.id]
