"""Compiled campaigns and the live-campaign goal index, cached per process.

Invariants:
    * Compiled campaigns are immutable; they are cached per database by
      version id and never recompiled per event.
    * Only campaigns whose status is "live" match events. The live campaigns
      are cached per process and database, tagged with the ``live_campaigns``
      counter (bumped by every publish, pause, resume, archive or re-entry
      change, `models.tables.counters`): a transaction reads the counter once
      (a primary-key read) and re-reads the campaigns only when it moved, so
      every process sees a change as soon as it commits. A transaction that
      changed campaigns itself reads them directly until it commits.
    * The merged goal index (goal-index key → campaign ids) is rebuilt only
      when the set of live versions changes.
"""

from __future__ import annotations

import threading
import typing as t
import weakref
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Campaign
from models import CampaignVersion
from models.errors import NotFound
from models.tables.counters import LIVE_CAMPAIGNS
from models.tables.counters import live_campaigns_bumped
from models.tables.counters import read_counter
from runtime.graphs.catalog import event_keys
from runtime.graphs.catalog import step_type
from runtime.graphs.compiler import CompiledCampaign
from runtime.graphs.compiler import StepSpec

IndexKey = tuple[t.Any, ...]
LIVE_KEY = "stagecraft.engine.live"
CACHES_KEY = "stagecraft.engine.caches"
TXN_LIVE_KEY = "stagecraft.engine.live_in_txn"


@dataclass
class _Caches:
    """Per-database caches: version ids are only unique within one database."""

    compiled: dict[int, CompiledCampaign] = field(default_factory=dict)
    parsed_steps: dict[tuple[int, str, str], BaseModel] = field(default_factory=dict)
    # (signature of live versions, goal-index key -> campaign ids)
    merged: tuple[tuple[tuple[int, int], ...], dict[IndexKey, tuple[int, ...]]] | None = None
    # (live_campaigns counter, the live campaigns read under it)
    live: tuple[int, tuple[LiveCampaign, ...]] | None = None


_cache_lock = threading.Lock()
_caches: weakref.WeakKeyDictionary[Engine, _Caches] = weakref.WeakKeyDictionary()
_generation = 0  # bumped by clear_caches, so sessions drop the caches they remembered


def _caches_for(session: Session) -> _Caches:
    """The caches of the database this session talks to.

    Remembered in the session (a session talks to one database, and the
    step loop asks several times per step; `get_bind` and the weak lookup cost
    more than the step's other bookkeeping).
    """
    remembered = session.info.get(CACHES_KEY)
    if remembered is not None and remembered[0] == _generation:
        return t.cast(_Caches, remembered[1])
    bind = session.get_bind()
    db = t.cast(Engine, getattr(bind, "engine", bind))
    caches = _caches.get(db)
    if caches is None:
        with _cache_lock:
            caches = _caches.setdefault(db, _Caches())
    session.info[CACHES_KEY] = (_generation, caches)
    return caches


def load_compiled(session: Session, version_id: int) -> CompiledCampaign:
    """Return the compiled form of a published version (cached; versions are immutable).

    Raises:
        NotFound: no such version.
    """
    cache = _caches_for(session).compiled
    compiled = cache.get(version_id)
    if compiled is not None:
        return compiled
    data = session.scalar(select(CampaignVersion.compiled).where(CampaignVersion.id == version_id))
    if data is None:
        raise NotFound(f"no campaign version {version_id}")
    compiled = CompiledCampaign.from_json(data)
    with _cache_lock:
        return cache.setdefault(version_id, compiled)


def cache_compiled(session: Session, version_id: int, compiled: CompiledCampaign) -> None:
    """Prime the cache with a version just compiled at publish (saves one load)."""
    cache = _caches_for(session).compiled
    with _cache_lock:
        cache.setdefault(version_id, compiled)


def clear_caches() -> None:
    """Forget every cached compiled campaign and live index (tests)."""
    global _generation
    with _cache_lock:
        _caches.clear()
        _generation += 1


def parsed_step_config(session: Session, version_id: int, node_id: str, spec: StepSpec) -> BaseModel:
    """Return a step's config parsed by its type (cached: configs are immutable)."""
    cache = _caches_for(session).parsed_steps
    key = (version_id, node_id, spec.id)
    parsed = cache.get(key)
    if parsed is None:
        parsed = cache[key] = step_type(spec.type).parse(spec.config)
    return parsed


@dataclass(frozen=True)
class LiveCampaign:
    """What goal matching needs to know about a live campaign."""

    id: int
    name: str
    version_id: int
    allow_reentry: bool


def live_campaigns(session: Session) -> tuple[LiveCampaign, ...]:
    """Return the live campaigns: pinned for a batch, else read once per transaction (see the module doc)."""
    pinned = session.info.get(LIVE_KEY)
    if pinned is not None:
        return t.cast(tuple[LiveCampaign, ...], pinned)
    remembered = session.info.get(TXN_LIVE_KEY)
    if remembered is not None and remembered[0] is session.get_transaction() and not live_campaigns_bumped(session):
        return t.cast(tuple[LiveCampaign, ...], remembered[1])
    live = _cached_live(session)
    session.info[TXN_LIVE_KEY] = (session.get_transaction(), live)
    return live


def _cached_live(session: Session) -> tuple[LiveCampaign, ...]:
    """The live campaigns from the process cache when the counter has not moved, else from the table."""
    if live_campaigns_bumped(session):  # our own uncommitted change: never cache what may roll back
        return _query_live(session)
    generation = read_counter(session, LIVE_CAMPAIGNS)
    caches = _caches_for(session)
    cached = caches.live
    if cached is not None and cached[0] == generation:
        return cached[1]
    live = _query_live(session)
    caches.live = (generation, live)
    return live


def _query_live(session: Session) -> tuple[LiveCampaign, ...]:
    rows = session.execute(
        select(Campaign.id, Campaign.name, Campaign.live_version_id, Campaign.allow_reentry)
        .where(Campaign.status == "live", Campaign.live_version_id.is_not(None))
        .order_by(Campaign.id)
    ).all()
    return tuple(LiveCampaign(r[0], r[1], t.cast(int, r[2]), bool(r[3])) for r in rows)


@contextmanager
def pin_live_campaigns(session: Session) -> Iterator[tuple[LiveCampaign, ...]]:
    """Read the live campaigns once for a whole batch transaction (the step loop)."""
    live = _cached_live(session)
    session.info[LIVE_KEY] = live
    try:
        yield live
    finally:
        session.info.pop(LIVE_KEY, None)


def _merged_index(session: Session, live: tuple[LiveCampaign, ...]) -> dict[IndexKey, tuple[int, ...]]:
    """Goal-index keys of every live version → the campaigns that index them (rebuilt on change)."""
    caches = _caches_for(session)
    signature = tuple((c.id, c.version_id) for c in live)
    current = caches.merged
    if current is not None and current[0] == signature:
        return current[1]
    merged: dict[IndexKey, list[int]] = {}
    for campaign in live:
        for key in load_compiled(session, campaign.version_id).goal_index:
            merged.setdefault(key, []).append(campaign.id)
    index = {key: tuple(ids) for key, ids in merged.items()}
    caches.merged = (signature, index)
    return index


def campaigns_hit(session: Session, data: Mapping[str, t.Any]) -> list[LiveCampaign]:
    """The live campaigns whose goal index an event's keys hit, by id."""
    live = live_campaigns(session)
    if not live:
        return []
    keys = event_keys(data)
    if not keys:
        return []
    index = _merged_index(session, live)
    hit = {cid for key in keys for cid in index.get(key, ())}
    return [c for c in live if c.id in hit]


def may_satisfy_goals(session: Session, data: Mapping[str, t.Any]) -> bool:
    """False when goal matching would certainly do nothing for an event (flat dict form).

    In memory (live campaigns pinned per batch, merged goal index cached): the
    step loop records such events without the flush and goal matching that
    `models.events.record` costs. A contact-less event never satisfies a goal.
    """
    return data.get("contact_id") is not None and bool(campaigns_hit(session, data))
