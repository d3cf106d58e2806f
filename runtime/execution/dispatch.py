"""The dispatcher: domain events the CRM records → goal matching, in the same transaction.

A stage save reads top to bottom: handler → `models.opportunities.move_stage`
→ `models.events.record(StageMoved)` → `dispatch` → `decide` → `apply`.

Invariants:
    * `install` registers `dispatch` with `models.events` once per process;
      the runtime calls it at start-up (web app, worker, CLI, tests).
    * For each event, only live campaigns whose goal index the event's keys
      hit are looked at; a contact-less event matches nothing.
    * Everything is written in the caller's transaction: the change, its
      event, the enrollments, goal hits, stops and starts commit together.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from models import clock
from models import events
from models.events import Logged
from runtime.execution.apply import Place
from runtime.execution.apply import apply
from runtime.execution.cache import campaigns_hit
from runtime.execution.cache import load_compiled
from runtime.execution.decide import decide
from runtime.execution.facts import facts_loader


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def match_event(session: Session, data: Mapping[str, t.Any], event_id: int | None, now: datetime) -> None:
    """Satisfy the goals of live campaigns that an event (flat dict form) matches."""
    contact_id = data.get("contact_id")
    if contact_id is None:
        return
    for campaign in campaigns_hit(session, data):
        compiled = load_compiled(session, campaign.version_id)
        if not compiled.goals_for_event(data):
            continue
        place = Place.load(session, campaign, contact_id)
        opportunity_id = _int_or_none(data.get("opportunity_id"))
        facts = facts_loader(session, contact_id, campaign.id, opportunity_id)
        actions = decide(compiled, place.presence(), data, facts)
        if actions:
            apply(session, place, compiled, actions, now, event_id=event_id, opportunity_id=opportunity_id)


def dispatch(session: Session, batch: Sequence[tuple[Logged, int]]) -> None:
    """The `models.events` dispatcher: match each recorded event against live goals."""
    now = clock.now()
    for event, event_id in batch:
        match_event(session, event.data(), event_id, now)


def install() -> None:
    """Register the dispatcher with `models.events` (idempotent)."""
    events.set_dispatcher(dispatch)
