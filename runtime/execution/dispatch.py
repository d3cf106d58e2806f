"""The dispatcher: domain events the CRM records → goal matching, in the same transaction, set-based.

A stage save reads top to bottom: handler → `models.opportunities.move_stage`
→ `models.events.record(StageMoved)` → `dispatch` → `decide` → `Writes`.
A bulk tag of 10,000 contacts takes the same path with one batch
(`models.events.record_many`): one query loads every contact's place in every
campaign the batch hits, `decide` runs per contact in memory, and `Writes`
writes the result with a few multi-row statements.

Invariants:
    * `install` registers `dispatch` with `models.events` once per process;
      the runtime calls it at start-up (web app, worker, CLI, tests).
    * For each event, only live campaigns whose goal index the event's keys
      hit are looked at; a contact-less event matches nothing.
    * Events of one batch are decided in their order: a later event of the
      same contact sees what an earlier one did (the places are updated in
      memory as actions are recorded), exactly as if they came one by one.
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
from runtime.execution.apply import Writes
from runtime.execution.apply import load_places
from runtime.execution.cache import LiveCampaign
from runtime.execution.cache import campaigns_hit
from runtime.execution.cache import live_campaigns
from runtime.execution.cache import load_compiled
from runtime.execution.decide import Action
from runtime.execution.decide import Branch
from runtime.execution.decide import Leave
from runtime.execution.decide import decide
from runtime.execution.facts import facts_loader
from runtime.graphs.compiler import CompiledCampaign

Hits = list[tuple[LiveCampaign, CompiledCampaign]]


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _memo_key(data: Mapping[str, t.Any]) -> t.Hashable | None:
    """What decides which goals an event matches: everything but its contact (None if unhashable)."""
    rest = dict(data)
    rest.pop("contact_id", None)
    key = tuple(sorted(rest.items()))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _campaigns_matching(session: Session, data: Mapping[str, t.Any]) -> Hits:
    """The live campaigns with at least one goal the event matches, with their compiled versions."""
    hits: Hits = []
    for campaign in campaigns_hit(session, data):
        compiled = load_compiled(session, campaign.version_id)
        if compiled.goals_for_event(data):
            hits.append((campaign, compiled))
    return hits


def match_events(session: Session, items: Sequence[tuple[Mapping[str, t.Any], int | None]], now: datetime) -> int:
    """Satisfy the goals of live campaigns that a batch of events (flat dict form) matches.

    Args:
        items: (event data, event log row id) in the order the events happened.
        now: the time written on enrollments, goal hits and runs.

    Returns:
        How many runs started.
    """
    if not live_campaigns(session):
        return 0
    plan: list[tuple[Mapping[str, t.Any], int | None, int, Hits, t.Hashable | None]] = []
    # Which campaigns an event concerns depends on everything but its contact: asked once per kind of event.
    wanted: dict[int, set[int]] = {}
    campaigns: dict[int, LiveCampaign] = {}
    memo: dict[t.Hashable, Hits] = {}
    for data, event_id in items:
        contact_id = data.get("contact_id")
        if contact_id is None:
            continue
        key = _memo_key(data)
        hits = memo.get(key) if key is not None else None
        if hits is None:
            hits = _campaigns_matching(session, data)
            if key is not None:
                memo[key] = hits
        if not hits:
            continue
        plan.append((data, event_id, contact_id, hits, key))
        for campaign, _compiled in hits:
            campaigns[campaign.id] = campaign
            wanted.setdefault(campaign.id, set()).add(contact_id)
    if not plan:
        return 0
    places = load_places(session, campaigns, wanted)
    writes = Writes(session, now)
    # decide() is pure: contacts in the same place hit by alike events (a bulk tag) share one
    # decision — unless it reached a decision or split, whose outcome is the contact's own.
    decided: dict[t.Hashable, list[Action]] = {}
    for data, event_id, contact_id, hits, key in plan:
        opportunity_id = _int_or_none(data.get("opportunity_id"))
        for campaign, compiled in hits:
            place = places[(campaign.id, contact_id)]
            presence = place.presence()
            decision_key = (campaign.version_id, presence, key) if key is not None else None
            actions = decided.get(decision_key) if decision_key is not None else None
            if actions is None:
                facts = facts_loader(session, contact_id, campaign.id, opportunity_id)
                actions = decide(compiled, presence, data, facts)
                if decision_key is not None and not any(isinstance(a, (Branch, Leave)) for a in actions):
                    decided[decision_key] = actions
            if actions:
                writes.apply(place, compiled, actions, event_id=event_id, opportunity_id=opportunity_id)
    return writes.flush()


def match_event(session: Session, data: Mapping[str, t.Any], event_id: int | None, now: datetime) -> None:
    """Satisfy the goals of live campaigns that one event (flat dict form) matches."""
    match_events(session, [(data, event_id)], now)


def dispatch(session: Session, batch: Sequence[tuple[Logged, int]]) -> None:
    """The `models.events` dispatcher: match a batch of recorded events against live goals."""
    match_events(session, [(event.data(), event_id) for event, event_id in batch], clock.now())


def install() -> None:
    """Register the dispatcher with `models.events` (idempotent)."""
    events.set_dispatcher(dispatch)
