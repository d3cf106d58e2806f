"""Per email step of a campaign: sent, opened, clicked (unique), unsubscribed, bounced.

Invariant: every figure counts messages (outbox rows), not events: a message
opened five times is one open, clicked twice on two links is one click.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import EmailActivity
from models import OutboxMessage

EMAIL_KEYS = ("sent", "opened", "clicked", "unsubscribed", "bounced")


def email_step_stats(session: Session, campaign_id: int) -> dict[str, dict[str, object]]:
    """Step id → ``{node_id, sent, opened, clicked, unsubscribed, bounced}`` for every email step that sent."""
    out: dict[str, dict[str, object]] = {}

    def entry(node_id: str | None, step_id: str) -> dict[str, object]:
        return out.setdefault(step_id, {"node_id": node_id, **dict.fromkeys(EMAIL_KEYS, 0)})

    sent = session.execute(
        select(OutboxMessage.node_id, OutboxMessage.step_id, func.count())
        .where(OutboxMessage.campaign_id == campaign_id, OutboxMessage.kind == "email",
               OutboxMessage.status == "sent", OutboxMessage.step_id.is_not(None))
        .group_by(OutboxMessage.node_id, OutboxMessage.step_id)
    )
    for node_id, step_id, count in sent:
        entry(node_id, str(step_id))["sent"] = int(count)
    activity = session.execute(
        select(EmailActivity.node_id, EmailActivity.step_id, EmailActivity.kind,
               func.count(func.distinct(EmailActivity.outbox_id)))
        .where(EmailActivity.campaign_id == campaign_id, EmailActivity.step_id.is_not(None))
        .group_by(EmailActivity.node_id, EmailActivity.step_id, EmailActivity.kind)
    )
    for node_id, step_id, kind, count in activity:
        if kind in EMAIL_KEYS:
            entry(node_id, str(step_id))[str(kind)] = int(count)
    return out
