"""Overdue opportunities: past their stage's target days (seed 000's "ideal number of days")."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import DomainEvent
from models import Opportunity
from models import Stage
from models import clock
from models import events


def record_overdue(session: Session) -> int:
    """Record `stage_overdue` for opportunities past their stage's target days.

    Each opportunity gets one event per stage entry: an event already recorded
    for the same stage since the opportunity entered it suppresses another.
    A stage with 0 target days or 100 % probability is never overdue, nor is a
    won or lost deal.

    Returns:
        How many events were recorded.
    """
    now = clock.now()
    stages = session.execute(
        select(Stage.id, Stage.target_days).where(Stage.target_days > 0, Stage.probability < 100)
    ).all()
    recorded = 0
    for stage_id, target_days in stages:
        cutoff = now - timedelta(days=target_days)
        opps = session.execute(
            select(Opportunity.id, Opportunity.contact_id, Opportunity.pipeline_id, Opportunity.stage_entered_at)
            .where(Opportunity.stage_id == stage_id, Opportunity.stage_entered_at < cutoff,
                   Opportunity.outcome == "open")
            .order_by(Opportunity.id)
        ).all()
        if not opps:
            continue
        since = min(o[3] for o in opps)
        opp_key = DomainEvent.payload["opportunity_id"].as_integer()
        seen: dict[int, datetime] = {}
        for opp_id, at in session.execute(
            select(opp_key, DomainEvent.occurred_at).where(
                DomainEvent.type == "stage_overdue",
                DomainEvent.occurred_at >= since,
                DomainEvent.payload["stage_id"].as_integer() == stage_id,
                opp_key.in_([o[0] for o in opps]),
            )
        ):
            if opp_id is not None and (opp_id not in seen or at > seen[opp_id]):
                seen[int(opp_id)] = at
        for opp_id, contact_id, pipeline_id, entered in opps:
            if opp_id in seen and seen[opp_id] > entered:  # an event at entry time was the previous entry's
                continue
            events.record(session, events.StageOverdue(
                contact_id=contact_id, opportunity_id=opp_id, pipeline_id=pipeline_id, stage_id=stage_id,
                days_in_stage=round((now - entered).total_seconds() / 86400, 2), source="system",
            ))
            recorded += 1
    return recorded
