"""Campaign engine: events satisfy goals, runs start and stop, versions migrate.

Invariants:
    * ``handle_event`` runs inside the transaction of the change that produced
      the event: the change, its event, the goal hits, the runs it stops and
      the runs it starts commit together or not at all.
    * Only campaigns whose status is "live" match events (a paused campaign
      accepts no enrollment; its runs wait, see ``runtime.executor``).
    * A goal is satisfied when its config matches and it is an entry goal or
      the contact was enrolled in the campaign *before* the event.
    * Satisfying a goal stops exactly the contact's active/paused runs on the
      goal's ancestor sequences (compiled ``stops``) and starts its
      ``after_goal`` sequences, unless the contact is running that sequence now,
      or ran it before and the campaign does not allow re-entry.
    * Compiled campaigns are immutable; they are cached per process by version
      id and never recompiled per event.
    * A run's status moves active ↔ paused, active/paused → stopped, failed →
      active (a manual retry); completed and stopped are final.
"""

from __future__ import annotations

import threading
import typing as t
import weakref
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import event as sa_event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from models import Campaign
from models import CampaignVersion
from models import DomainEvent
from models import Enrollment
from models import GoalHit
from models import Opportunity
from models import SequenceRun
from models import Stage
from models import clock
from runtime.access import Actor
from runtime.access import require_role
from runtime.access import visible_opportunities
from runtime.catalog import event_keys
from runtime.catalog import step_type
from runtime.compiler import CompiledCampaign
from runtime.compiler import StepSpec
from runtime.errors import Conflict
from runtime.errors import Invalid
from runtime.errors import NotFound
from runtime.events import event_dict
from runtime.events import record_event
from runtime.notices import announce
from runtime.notices import wake_after_commit

IndexKey = tuple[t.Any, ...]

#: Runs that still hold a place in their sequence.
OPEN_STATUSES = ("active", "paused")
#: Runs that have ended; whether they block re-entry is a campaign setting.
FINISHED_STATUSES = ("completed", "stopped", "failed")

LIVE_KEY = "stagecraft.engine.live"
HINTED_KEY = "stagecraft.engine.hinted"


# --- compiled campaigns, cached per process ------------------------------------


@dataclass
class _Caches:
    """Per-database caches: version ids are only unique within one database."""

    compiled: dict[int, CompiledCampaign] = field(default_factory=dict)
    parsed_steps: dict[tuple[int, str, str], BaseModel] = field(default_factory=dict)
    # (signature of live versions, goal-index key -> campaign ids)
    merged: tuple[tuple[tuple[int, int], ...], dict[IndexKey, tuple[int, ...]]] | None = None


_cache_lock = threading.Lock()
_caches: weakref.WeakKeyDictionary[Engine, _Caches] = weakref.WeakKeyDictionary()
_generation = 0  # bumped by clear_caches, so sessions drop the caches they remembered

CACHES_KEY = "stagecraft.engine.caches"


def _caches_for(session: Session) -> _Caches:
    """The caches of the database this session talks to.

    Remembered in the session (a session talks to one database, and the
    executor asks several times per step; `get_bind` and the weak lookup cost
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

    Args:
        session: any session (read only).
        version_id: a campaign_version id.

    Returns:
        The compiled campaign.

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


def parsed_step_config(
    session: Session, version_id: int, node_id: str, spec: StepSpec
) -> BaseModel:
    """Return a step's config parsed by its type (cached: configs are immutable)."""
    cache = _caches_for(session).parsed_steps
    key = (version_id, node_id, spec.id)
    parsed = cache.get(key)
    if parsed is None:
        parsed = cache[key] = step_type(spec.type).parse(spec.config)
    return parsed


# --- live campaigns and the merged goal index --------------------------------------


@dataclass(frozen=True)
class LiveCampaign:
    """What the engine needs to know about a live campaign."""

    id: int
    name: str
    version_id: int
    allow_reentry: bool


def live_campaigns(session: Session) -> tuple[LiveCampaign, ...]:
    """Return the live campaigns (pinned for a batch by `pin_live_campaigns`)."""
    pinned = session.info.get(LIVE_KEY)
    if pinned is not None:
        return t.cast(tuple[LiveCampaign, ...], pinned)
    return _query_live(session)


def _query_live(session: Session) -> tuple[LiveCampaign, ...]:
    rows = session.execute(
        select(Campaign.id, Campaign.name, Campaign.live_version_id, Campaign.allow_reentry)
        .where(Campaign.status == "live", Campaign.live_version_id.is_not(None))
        .order_by(Campaign.id)
    ).all()
    return tuple(LiveCampaign(r[0], r[1], t.cast(int, r[2]), bool(r[3])) for r in rows)


@contextmanager
def pin_live_campaigns(session: Session) -> Iterator[tuple[LiveCampaign, ...]]:
    """Read the live campaigns once for a whole batch transaction (the executor)."""
    live = _query_live(session)
    session.info[LIVE_KEY] = live
    try:
        yield live
    finally:
        session.info.pop(LIVE_KEY, None)


def _merged_index(
    session: Session, live: tuple[LiveCampaign, ...]
) -> dict[IndexKey, tuple[int, ...]]:
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


# --- a contact's place in one campaign ---------------------------------------------


@dataclass
class Presence:
    """A contact's enrollment and runs in one campaign, loaded once per use."""

    campaign_id: int
    version_id: int
    allow_reentry: bool
    contact_id: int
    enrollment_id: int | None
    # [run id (or the pending SequenceRun), node id, status]; kept current as runs start and stop.
    runs: list[list[t.Any]] = field(default_factory=list)

    @classmethod
    def load(
        cls,
        session: Session,
        campaign_id: int,
        version_id: int,
        allow_reentry: bool,
        contact_id: int,
    ) -> Presence:
        """Load the contact's enrollment and runs in the campaign."""
        enrollment_id = session.scalar(
            select(Enrollment.id).where(
                Enrollment.campaign_id == campaign_id, Enrollment.contact_id == contact_id
            )
        )
        runs: list[list[t.Any]] = []
        if enrollment_id is not None:
            runs = [
                [r[0], r[1], r[2]]
                for r in session.execute(
                    select(SequenceRun.id, SequenceRun.node_id, SequenceRun.status).where(
                        SequenceRun.campaign_id == campaign_id, SequenceRun.contact_id == contact_id
                    )
                )
            ]
        return cls(campaign_id, version_id, allow_reentry, contact_id, enrollment_id, runs)

    def enroll(self, session: Session, now: datetime) -> int:
        """Enroll the contact (insert-or-ignore: a concurrent enrollment is fine)."""
        if self.enrollment_id is None:
            self.enrollment_id = insert_ignore(
                session,
                Enrollment,
                {
                    "campaign_id": self.campaign_id,
                    "version_id": self.version_id,
                    "contact_id": self.contact_id,
                    "enrolled_at": now,
                },
                ["campaign_id", "contact_id"],
                returning=Enrollment.id,
            )
            if self.enrollment_id is None:  # someone else enrolled the contact just now
                self.enrollment_id = session.scalar(
                    select(Enrollment.id).where(
                        Enrollment.campaign_id == self.campaign_id,
                        Enrollment.contact_id == self.contact_id,
                    )
                )
        return t.cast(int, self.enrollment_id)

    def may_start(self, node_id: str) -> bool:
        """No re-entry while running; a finished sequence again only if the campaign allows it."""
        for _run_id, node, status in self.runs:
            if node != node_id:
                continue
            if status in OPEN_STATUSES or not self.allow_reentry:
                return False
        return True

    def stop(
        self, session: Session, node_ids: Iterable[str], reason: str, now: datetime
    ) -> set[str]:
        """Stop the open runs on `node_ids`; return the nodes that had one."""
        wanted = set(node_ids)
        hit = [r for r in self.runs if r[1] in wanted and r[2] in OPEN_STATUSES]
        if not hit:
            return set()
        if any(isinstance(r[0], SequenceRun) for r in hit):
            session.flush()  # runs started by this event get their ids
        stop_runs(
            session, [r[0].id if isinstance(r[0], SequenceRun) else r[0] for r in hit], reason, now
        )
        for r in hit:
            r[2] = "stopped"
        return {r[1] for r in hit}

    def start(
        self,
        session: Session,
        compiled: CompiledCampaign,
        node_id: str,
        now: datetime,
        *,
        opportunity_id: int | None,
        started_by_goal: str | None,
    ) -> SequenceRun | None:
        """Start a run of `node_id` due now, if the re-entry rule allows it."""
        spec = compiled.sequences.get(node_id)
        if spec is None or not self.may_start(node_id):
            return None
        run = SequenceRun(
            enrollment_id=self.enroll(session, now),
            campaign_id=self.campaign_id,
            version_id=self.version_id,
            contact_id=self.contact_id,
            opportunity_id=opportunity_id,
            node_id=node_id,
            name=spec.name[:200],
            status="active",
            step_index=0,
            waiting=False,
            due_at=now,
            attempts=0,
            started_at=now,
            started_by_goal=started_by_goal,
        )
        session.add(run)  # no flush: its id is needed only if the same event stops it
        self.runs.append([run, node_id, "active"])
        wake_after_commit(session)
        return run


def insert_ignore(
    session: Session,
    model: type[t.Any],
    values: dict[str, t.Any],
    conflict: list[str],
    *,
    returning: t.Any = None,
) -> t.Any:
    """INSERT … ON CONFLICT DO NOTHING (SQLite and PostgreSQL).

    Returns:
        The `returning` column of the new row (None when it already existed),
        or the number of rows inserted when no `returning` column is given.
    """
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: t.Any = (
            pg_insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict)
        )
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict)
    if returning is not None:
        return session.execute(stmt.returning(returning)).scalar()
    result = session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


def stop_runs(session: Session, run_ids: list[int], reason: str, now: datetime) -> None:
    """Stop runs that are still open (a conditional UPDATE, so a finished run stays finished)."""
    # ORM-enabled UPDATE: objects already in this session (the executor's own
    # run) see the new status at once, and the WHERE on status re-checks the
    # row after any lock wait on PostgreSQL.
    session.execute(
        update(SequenceRun)
        .where(SequenceRun.id.in_(run_ids), SequenceRun.status.in_(OPEN_STATUSES))
        .values(
            status="stopped", ended_at=now, stop_reason=reason[:200], due_at=None, waiting=False
        )
    )


def hint_stats(session: Session, campaign_id: int) -> None:
    """Tell the campaign's canvas (after commit) that its counts changed; once per transaction."""
    hinted = session.info.setdefault(HINTED_KEY, set())
    if campaign_id in hinted:
        return
    hinted.add(campaign_id)
    announce(session, f"campaign:{campaign_id}", "stats", {"campaign_id": campaign_id})


@sa_event.listens_for(Session, "after_commit")
@sa_event.listens_for(Session, "after_rollback")
def _forget_hints(session: Session) -> None:
    session.info.pop(HINTED_KEY, None)


# --- events → goals ---------------------------------------------------------------


def _campaigns_hit(
    session: Session, data: Mapping[str, t.Any]
) -> tuple[tuple[LiveCampaign, ...], set[int]]:
    """The live campaigns, and the ids of those whose goal index an event's keys hit."""
    live = live_campaigns(session)
    if not live:
        return live, set()
    keys = event_keys(data)
    if not keys:
        return live, set()
    index = _merged_index(session, live)
    return live, {cid for key in keys for cid in index.get(key, ())}


def may_satisfy_goals(session: Session, data: Mapping[str, t.Any]) -> bool:
    """False when `handle_event` would certainly do nothing for an event (`event_dict` form).

    In memory (live campaigns pinned per batch, merged goal index cached): the
    executor records such events without the flush and goal matching that
    `record_event` costs. A contact-less event never satisfies a goal.
    """
    return data.get("contact_id") is not None and bool(_campaigns_hit(session, data)[1])


def handle_event(session: Session, event: DomainEvent) -> None:
    """Satisfy the goals of live campaigns that `event` matches, in this transaction.

    Args:
        session: the transaction that recorded the event.
        event: the stored domain event.
    """
    contact_id = event.contact_id
    if contact_id is None:
        return
    data = event_dict(event)
    live, hit_ids = _campaigns_hit(session, data)
    if not hit_ids:
        return
    for campaign in live:
        if campaign.id in hit_ids:
            compiled = load_compiled(session, campaign.version_id)
            goal_ids = compiled.goals_for_event(data)
            if goal_ids:
                _satisfy(session, campaign, compiled, contact_id, goal_ids, event, data)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _satisfy(
    session: Session,
    campaign: LiveCampaign,
    compiled: CompiledCampaign,
    contact_id: int,
    goal_ids: tuple[str, ...],
    event: DomainEvent,
    data: Mapping[str, t.Any],
) -> None:
    presence = Presence.load(
        session, campaign.id, campaign.version_id, campaign.allow_reentry, contact_id
    )
    enrolled_before = presence.enrollment_id is not None
    now = clock.now()
    opportunity_id = _int_or_none(data.get("opportunity_id"))
    changed = False
    # Upstream goals first (fewer ancestors): when one event satisfies a goal and
    # a goal further down the same path, the contact ends up at the furthest one.
    for goal_id in sorted(goal_ids, key=lambda g: (len(compiled.stops.get(g, ())), g)):
        if goal_id not in compiled.entry_goals and not enrolled_before:
            continue
        spec = compiled.goals[goal_id]
        presence.enroll(session, now)
        session.add(
            GoalHit(
                campaign_id=campaign.id,
                version_id=campaign.version_id,
                node_id=goal_id,
                contact_id=contact_id,
                event_id=event.id,
                at=now,
            )
        )
        changed = True
        presence.stop(
            session,
            compiled.stops.get(goal_id, ()),
            f"goal '{spec.name or goal_id}' satisfied",
            now,
        )
        for node_id in compiled.after_goal.get(goal_id, ()):
            presence.start(
                session,
                compiled,
                node_id,
                now,
                opportunity_id=opportunity_id,
                started_by_goal=goal_id,
            )
    if changed:
        hint_stats(session, campaign.id)


def start_next_sequences(
    session: Session,
    run: SequenceRun,
    compiled: CompiledCampaign,
    allow_reentry: bool,
    now: datetime,
) -> list[SequenceRun]:
    """Start the sequences a completed run leads to (sequence → sequence edges)."""
    following = compiled.next_sequences.get(run.node_id, ())
    if not following:
        return []
    presence = Presence.load(
        session, run.campaign_id, run.version_id, allow_reentry, run.contact_id
    )
    presence.enrollment_id = presence.enrollment_id or run.enrollment_id
    started = []
    for node_id in following:
        new = presence.start(
            session, compiled, node_id, now, opportunity_id=run.opportunity_id, started_by_goal=None
        )
        if new is not None:
            started.append(new)
    return started


# --- publishing a new version with runs in flight --------------------------------


def _new_step_index(
    old_steps: tuple[StepSpec, ...], new_steps: tuple[StepSpec, ...], index: int
) -> int:
    """Where a run at `index` of the old steps continues in the new ones.

    The current (next to run) step when it survives; else just after the
    nearest earlier step that survives (so a replacement inserted there runs);
    else at the nearest later step that survives; a run that had not started
    starts at 0, and one whose every step is gone goes to the end (completes).
    """
    new_pos = {s.id: i for i, s in enumerate(new_steps)}
    if index < len(old_steps) and old_steps[index].id in new_pos:
        return new_pos[old_steps[index].id]
    for back in range(min(index, len(old_steps)) - 1, -1, -1):
        if old_steps[back].id in new_pos:
            return new_pos[old_steps[back].id] + 1
    for ahead in range(index + 1, len(old_steps)):
        if old_steps[ahead].id in new_pos:
            return new_pos[old_steps[ahead].id]
    return 0 if index == 0 else len(new_steps)


def migrate_runs(
    session: Session, campaign: Campaign, new_version: CampaignVersion
) -> dict[str, t.Any]:
    """Move a campaign's open runs to a newly published version.

    Runs whose sequence still exists continue at the same step (mapped by
    step id, see `_new_step_index`); pending timers keep their due time. Runs
    whose sequence was removed are stopped with reason "removed in version N".

    Args:
        session: the publish transaction.
        campaign: the campaign being published.
        new_version: the version just inserted (flushed, with its compiled JSON).

    Returns:
        ``{"moved", "stopped", "remapped", "stopped_by_node"}`` counts.
    """
    new = CompiledCampaign.from_json(new_version.compiled)
    cache_compiled(session, new_version.id, new)
    now = clock.now()
    runs = session.scalars(
        select(SequenceRun)
        .where(
            SequenceRun.campaign_id == campaign.id,
            # Failed runs move too: a retry must run the live version, or nothing
            # when their sequence was removed.
            SequenceRun.status.in_((*OPEN_STATUSES, "failed")),
            SequenceRun.version_id != new_version.id,
        )
        .order_by(SequenceRun.id)
        .with_for_update()
    ).all()
    moved = remapped = 0
    stopped: dict[str, int] = {}
    reason = f"removed in version {new_version.number}"
    for run in runs:
        spec = new.sequences.get(run.node_id)
        if spec is None:
            run.status, run.ended_at, run.stop_reason = "stopped", now, reason
            run.due_at, run.waiting = None, False
            stopped[run.node_id] = stopped.get(run.node_id, 0) + 1
            continue
        old = load_compiled(session, run.version_id).sequences.get(run.node_id)
        index = _new_step_index(old.steps, spec.steps, run.step_index) if old else run.step_index
        if index != run.step_index:
            remapped += 1
            run.step_index = index
        run.version_id = new_version.id
        moved += 1
    session.execute(
        update(Enrollment)
        .where(Enrollment.campaign_id == campaign.id)
        .values(version_id=new_version.id),
        execution_options={"synchronize_session": False},
    )
    session.flush()
    hint_stats(session, campaign.id)
    if moved:
        wake_after_commit(session)
    return {
        "moved": moved,
        "stopped": sum(stopped.values()),
        "remapped": remapped,
        "stopped_by_node": stopped,
    }


def contacts_on_nodes(
    session: Session, campaign_id: int, node_ids: Iterable[str]
) -> dict[str, int]:
    """Active/paused runs per sequence node (for the publish diff), 0 for empty nodes."""
    wanted = list(dict.fromkeys(node_ids))
    counts = {node: 0 for node in wanted}
    if not wanted:
        return counts
    rows = session.execute(
        select(SequenceRun.node_id, func.count())
        .where(
            SequenceRun.campaign_id == campaign_id,
            SequenceRun.status.in_(OPEN_STATUSES),
            SequenceRun.node_id.in_(wanted),
        )
        .group_by(SequenceRun.node_id)
    )
    for node_id, count in rows:
        counts[node_id] = int(count)
    return counts


# --- stats and history --------------------------------------------------------------

STAT_KEYS = ("active", "waiting", "paused", "completed", "stopped", "failed", "satisfied")


def campaign_stats(session: Session, campaign_id: int) -> dict[str, dict[str, int]]:
    """Per node: run counts by state and goal hits (the canvas's live numbers).

    ``active`` = running or due now, ``waiting`` = parked on a future timer,
    then ``paused``, ``completed``, ``stopped``, ``failed``; ``satisfied`` =
    goal hits.

    Every node of the live (else latest) version is listed, with zeros when empty.
    """
    now = clock.now()
    nodes: dict[str, dict[str, int]] = {}
    version_id = session.scalar(select(Campaign.live_version_id).where(Campaign.id == campaign_id))
    if version_id is None:
        version_id = session.scalar(
            select(CampaignVersion.id)
            .where(CampaignVersion.campaign_id == campaign_id)
            .order_by(CampaignVersion.number.desc())
            .limit(1)
        )
    if version_id is not None:
        compiled = load_compiled(session, version_id)
        for node_id in [*compiled.goals, *compiled.sequences]:
            nodes[node_id] = dict.fromkeys(STAT_KEYS, 0)
    bucket = case(
        (
            and_(
                SequenceRun.status == "active",
                SequenceRun.waiting.is_(True),
                SequenceRun.due_at > now,
            ),
            "waiting",
        ),
        else_=SequenceRun.status,
    )
    rows = session.execute(
        select(SequenceRun.node_id, bucket, func.count())
        .where(SequenceRun.campaign_id == campaign_id)
        .group_by(SequenceRun.node_id, bucket)
    )
    for node_id, status, count in rows:
        nodes.setdefault(node_id, dict.fromkeys(STAT_KEYS, 0))[str(status)] += int(count)
    hits = session.execute(
        select(GoalHit.node_id, func.count())
        .where(GoalHit.campaign_id == campaign_id)
        .group_by(GoalHit.node_id)
    )
    for node_id, count in hits:
        nodes.setdefault(node_id, dict.fromkeys(STAT_KEYS, 0))["satisfied"] = int(count)
    return nodes


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def run_dict(session: Session, run: SequenceRun, campaign_name: str) -> dict[str, t.Any]:
    """The API form of a run: follow-up sequence history row."""
    current_step: str | None = None
    current_type: str | None = None
    if run.status in OPEN_STATUSES or run.status == "failed":
        try:
            spec = load_compiled(session, run.version_id).sequences.get(run.node_id)
        except NotFound:
            spec = None
        if spec is not None and run.step_index < len(spec.steps):
            current_step, current_type = (
                spec.steps[run.step_index].id,
                spec.steps[run.step_index].type,
            )
    return {
        "id": run.id,
        "campaign_id": run.campaign_id,
        "campaign_name": campaign_name,
        "node_id": run.node_id,
        "name": run.name,
        "status": run.status,
        "waiting": bool(run.waiting and run.status == "active"),
        "started_at": _iso(run.started_at),
        "ended_at": _iso(run.ended_at),
        "current_step": current_step,
        "current_step_type": current_type,
        "step_index": run.step_index,
        "next_due_at": _iso(run.due_at) if run.status in OPEN_STATUSES else None,
        "attempts": run.attempts,
        "last_error": run.last_error,
        "stop_reason": run.stop_reason,
        "opportunity_id": run.opportunity_id,
    }


def contact_sequences(session: Session, contact_id: int) -> list[dict[str, t.Any]]:
    """The contact's follow-up sequence history, oldest first.

    Returns:
        ``[{id, campaign_id, campaign_name, node_id, name, status, started_at,
        ended_at, current_step, next_due_at, last_error, stop_reason, ...}]``.
    """
    rows = session.execute(
        select(SequenceRun, Campaign.name)
        .join(Campaign, Campaign.id == SequenceRun.campaign_id)
        .where(SequenceRun.contact_id == contact_id)
        .order_by(SequenceRun.started_at, SequenceRun.id)
    ).all()
    return [run_dict(session, run, name) for run, name in rows]


def opportunity_sequences(session: Session, opportunity_id: int) -> list[dict[str, t.Any]]:
    """The follow-up sequences that act on one opportunity, oldest first."""
    rows = session.execute(
        select(SequenceRun, Campaign.name)
        .join(Campaign, Campaign.id == SequenceRun.campaign_id)
        .where(SequenceRun.opportunity_id == opportunity_id)
        .order_by(SequenceRun.started_at, SequenceRun.id)
    ).all()
    return [run_dict(session, run, name) for run, name in rows]


RUN_TARGETS = ("active", "paused", "stopped")


def may_manage_run(session: Session, actor: Actor, run: SequenceRun) -> bool:
    """Admins manage any run; a rep only runs of contacts whose opportunities they can see."""
    if actor.is_admin:
        return True
    query = visible_opportunities(actor, select(Opportunity.id).where(Opportunity.contact_id == run.contact_id))
    return session.scalar(query.limit(1)) is not None


def set_run_status(session: Session, actor: Actor, run_id: int, status: str) -> SequenceRun:
    """Pause, resume or stop one sequence run by hand.

    Args:
        session: the request's transaction.
        actor: admins and reps may; marketers may not.
        run_id: the run.
        status: "paused", "active" or "stopped".

    Returns:
        The run.

    Raises:
        Forbidden: a marketer.
        NotFound: no such run.
        Invalid: an unknown target status.
        Conflict: ``run_finished`` when the run is completed or stopped.
    """
    require_role(actor, "admin", "rep")
    if status not in RUN_TARGETS:
        raise Invalid(
            f"status must be one of {', '.join(RUN_TARGETS)}",
            code="invalid_status",
            details={"field": "status"},
        )
    # FOR UPDATE: wait for a worker executing this run, then act on its result.
    run = session.scalar(select(SequenceRun).where(SequenceRun.id == run_id).with_for_update())
    if run is None or not may_manage_run(session, actor, run):
        raise NotFound("no such sequence run")
    if run.status in ("completed", "stopped"):
        raise Conflict(
            f"the run is already {run.status}", code="run_finished", details={"status": run.status}
        )
    now = clock.now()
    if status == run.status:
        return run
    if status == "stopped":
        reason = "stopped by hand" + (
            f" (user {actor.user_id})" if actor.user_id is not None else ""
        )
        stop_runs(session, [run.id], reason, now)
        if run.status == "failed":  # failed is not open; stop it explicitly
            run.status, run.ended_at, run.stop_reason = "stopped", now, reason
    elif status == "paused":
        if run.status != "active":
            raise Conflict(
                f"only an active run can be paused (it is {run.status})", code="invalid_transition"
            )
        run.status = "paused"
    else:  # resume a paused run, or retry a failed one
        if run.status == "failed":
            run.attempts, run.ended_at, run.due_at, run.waiting = 0, None, now, False
        elif run.due_at is None or run.due_at <= now:
            run.due_at, run.waiting = now, False
        run.status = "active"
        wake_after_commit(session)
    session.flush()
    hint_stats(session, run.campaign_id)
    return run


# --- overdue opportunities ------------------------------------------------------------


def check_overdue(session: Session) -> int:
    """Emit `stage_overdue` for opportunities past their stage's target days.

    Each opportunity gets one event per stage entry: an event already recorded
    for the same stage since the opportunity entered it suppresses another.

    Returns:
        How many events were emitted.
    """
    now = clock.now()
    stages = session.execute(
        select(Stage.id, Stage.target_days).where(Stage.target_days > 0, Stage.probability < 100)
    ).all()
    emitted = 0
    for stage_id, target_days in stages:
        cutoff = now - timedelta(days=target_days)
        opps = session.execute(
            select(
                Opportunity.id,
                Opportunity.contact_id,
                Opportunity.pipeline_id,
                Opportunity.stage_entered_at,
            )
            .where(Opportunity.stage_id == stage_id, Opportunity.stage_entered_at < cutoff)
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
            if (
                opp_id in seen and seen[opp_id] > entered
            ):  # an event at entry time was the previous entry's
                continue
            record_event(
                session,
                "stage_overdue",
                contact_id,
                {
                    "opportunity_id": opp_id,
                    "pipeline_id": pipeline_id,
                    "stage_id": stage_id,
                    "days_in_stage": round((now - entered).total_seconds() / 86400, 2),
                },
                source="system",
            )
            emitted += 1
    return emitted
