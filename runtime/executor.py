"""The step runner: claims due sequence runs and executes their steps.

Invariants:
    * A batch of claimed runs is executed and committed in ONE transaction;
      a crash before the commit loses nothing (the runs are still due) and a
      crash after it repeats nothing.
    * SQLite: one writer (``BEGIN IMMEDIATE``) claims, executes and commits.
      PostgreSQL: a short transaction claims rows with ``FOR UPDATE SKIP
      LOCKED`` and writes a lease; the execute transaction re-locks only the
      rows whose lease is still ours, so two workers never run the same run.
      While the execute transaction holds the row locks the lease cannot be
      taken over, so it needs no renewal; the lease only guards the gap
      between claim and execute, and `reap_leases` frees it after a crash.
    * A failing step leaves no partial effect and does not undo or repeat
      other steps: a batch first runs without savepoints (fast path); if any
      step raises, the batch is rolled back and run again with each action
      step in its own SAVEPOINT. The failing run is retried with exponential
      backoff and fails after ``max_attempts`` with the error kept on the run.
    * Nothing is autoflushed during a batch (flushes cost more than steps);
      services flush where they need ids, and ``record_event`` flushes before
      goals are matched.
    * The common effects (a tag no live goal can match and its event, a task,
      a note) are rows in the batch's `WriteBuffer`, inserted one executemany
      per table when the batch ends, before any step that goes through a
      service, and (careful pass) inside each step's SAVEPOINT. Their rules
      are the services' own (`tag_name`, `check_new_task`, `first_day_in`);
      a tag that MAY satisfy a goal takes the service path (`record_event` →
      `handle_event`) at once, so goal semantics do not change.
    * A step's effects go through the CRM services with ``source="campaign"``
      and the SYSTEM actor, so the events they emit satisfy goals exactly as a
      user's change would (a step can stop its own run or enroll the contact
      in another campaign).
    * Outside effects (email, HTTP) are outbox rows keyed
      ``run:{run_id}:step:{step_id}`` (attempt-independent, insert-or-ignore).
    * Paused campaigns' runs are never claimed; their due runs wait. A run
      that fell due while no worker ran is simply claimed at the next tick.
"""

from __future__ import annotations

import hashlib
import html
import logging
import typing as t
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker
from sqlalchemy.sql import Select

from models import Campaign
from models import Contact
from models import ContactTag
from models import DomainEvent
from models import Note
from models import Notification
from models import Opportunity
from models import OutboxMessage
from models import SequenceRun
from models import Stage
from models import StepLog
from models import Tag
from models import Task
from models import User
from models import clock
from runtime import contacts as contact_service
from runtime import engine
from runtime import merge
from runtime import opportunities as opportunity_service
from runtime import tasks as task_service
from runtime.access import SYSTEM
from runtime.catalog import step_type
from runtime.catalog.base import ActionStep
from runtime.catalog.base import TimerStep
from runtime.compiler import StepSpec
from runtime.config import RuntimeConfig
from runtime.events import event_data
from runtime.events import event_values
from runtime.faults import maybe_crash
from runtime.notices import announce

log = logging.getLogger(__name__)

BACKOFF_SECONDS = 30.0
MAX_ERROR_CHARS = 2000


def backoff(attempts: int) -> timedelta:
    """Delay before retry number `attempts` (1-based): 30 s, 60 s, 120 s, …"""
    return timedelta(seconds=BACKOFF_SECONDS * 2 ** max(attempts - 1, 0))


def message_id(key: str) -> str:
    """A stable RFC 5322 Message-ID derived from an outbox idempotency key."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@stagecraft>"


def outbox_key(run_id: int, step_id: str) -> str:
    """The attempt-independent idempotency key of a step's outside effect."""
    return f"run:{run_id}:step:{step_id}"


# --- the batch ----------------------------------------------------------------------


@dataclass
class Batch:
    """State shared by the runs of one batch: time, config and per-batch caches.

    The session's identity map holds objects weakly; the batch keeps strong
    references to the contacts and users it loaded so steps find them there.
    """

    session: Session
    config: RuntimeConfig
    now: datetime
    live: dict[int, engine.LiveCampaign]
    careful: bool = True
    contacts: dict[int, Contact] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    steps: int = 0
    # Round-robin tallies, loaded once per batch and kept current as we assign.
    task_tally: dict[int, int] | None = None
    owner_tally: dict[int, int] | None = None
    # Open tasks per user and due day (seed 002 capacity), loaded once per user per batch.
    day_load: dict[int, dict[date, int]] = field(default_factory=dict)
    zones: dict[str, ZoneInfo] = field(default_factory=dict)
    buffer: WriteBuffer = field(init=False)
    # Tag name -> id, and per tag id the batch's contacts that have it (loaded on first use).
    tag_ids: dict[str, int] = field(default_factory=dict)
    tagged: dict[int, set[int]] = field(default_factory=dict)
    # The contacts `tagged` knows about: the batch's, as loaded when it started.
    tag_scope: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        self.buffer = WriteBuffer(self.session)

    def sync(self) -> None:
        """Insert the buffered rows now: the next effect reads or orders after them."""
        self.buffer.flush()

    def tag_id(self, name: str) -> int | None:
        """The id of an existing tag (cached for the batch), None when there is no such tag."""
        tag_id = self.tag_ids.get(name)
        if tag_id is None:
            tag_id = self.session.scalar(select(Tag.id).where(Tag.name == name))
            if tag_id is not None:
                self.tag_ids[name] = tag_id
        return tag_id

    def contacts_tagged(self, tag_id: int) -> set[int]:
        """Which of the batch's contacts have the tag (one query per tag per batch)."""
        having = self.tagged.get(tag_id)
        if having is None:
            # No sync needed: a tag's rows are buffered only once its set exists.
            having = self.tagged[tag_id] = set(
                self.session.scalars(
                    select(ContactTag.contact_id).where(
                        ContactTag.tag_id == tag_id, ContactTag.contact_id.in_(self.tag_scope)
                    )
                )
            )
        return having

    def zone(self, name: str) -> ZoneInfo:
        """A ZoneInfo by name, the account zone for a bad or empty name."""
        zone = self.zones.get(name)
        if zone is None:
            try:
                zone = ZoneInfo(name)
            except (KeyError, ValueError):
                zone = ZoneInfo(self.config.account_timezone)
            self.zones[name] = zone
        return zone

    def load_users(self) -> None:
        """Load every user once (there are few; steps look them up by id)."""
        if not self.users:
            self.users = {u.id: u for u in self.session.scalars(select(User))}

    def first_day_with_room(self, user: User, wanted: date) -> date:
        """`runtime.tasks.first_day_with_room`, from counts loaded once per batch."""
        load = self.day_load.get(user.id)
        if load is None:
            load = self.day_load[user.id] = {
                day: int(n)
                for day, n in self.session.execute(
                    select(Task.due_date, func.count())
                    .where(
                        Task.assignee_id == user.id,
                        Task.completed_at.is_(None),
                        Task.due_date >= self.now.date() - timedelta(days=1),
                    )
                    .group_by(Task.due_date)
                )
                if day is not None
            }
        # Every buffered task of this user was counted here (the load exists
        # from before the first), so the query above needs no sync.
        return task_service.first_day_in(load, user.daily_task_capacity, wanted)


class WriteBuffer:
    """Rows of the common effects, inserted one executemany per table (see module doc).

    A flushed ORM insert costs ~300 µs; a row of an executemany a few µs. The
    rows are plain INSERTs that nothing in the batch reads back except through
    the batch's own caches, which are kept current (`Batch.tagged`,
    `Batch.day_load`, tallies); steps that go through services call
    `Batch.sync` first, so event ids stay in the order things happened.
    Live-update hints go out once per room and flush, not once per row.
    """

    #: Insert order (foreign keys: none of these refer to each other).
    MODELS: tuple[type[t.Any], ...] = (ContactTag, DomainEvent, Task, Note)

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rows: dict[type[t.Any], list[dict[str, t.Any]]] = {m: [] for m in self.MODELS}
        self.tagged_contacts: list[int] = []
        self.note_opportunities: set[int] = set()

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def add(self, model: type[t.Any], values: dict[str, t.Any]) -> None:
        """Queue one row (every row of a model has the same keys: one statement)."""
        self.rows[model].append(values)
        if model is ContactTag:
            self.tagged_contacts.append(values["contact_id"])
        elif model is Note and values["opportunity_id"] is not None:
            self.note_opportunities.add(values["opportunity_id"])

    def discard(self) -> None:
        """Forget the queued rows (their step failed)."""
        for rows in self.rows.values():
            rows.clear()
        self.tagged_contacts.clear()
        self.note_opportunities.clear()

    def flush(self) -> None:
        """Insert every queued row in the caller's transaction, then queue the hints."""
        if not len(self):
            return
        session = self.session
        for model in self.MODELS:
            rows = self.rows[model]
            if not rows:
                continue
            table = model.__table__
            if model is Task:
                # Ids only for the task_changed hints: one per assignee/opportunity.
                result = session.execute(
                    insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
                )
                latest = {
                    (row["assignee_id"], row["opportunity_id"]): task_id
                    for row, task_id in zip(rows, result.scalars(), strict=True)
                }
                for (assignee_id, opportunity_id), task_id in latest.items():
                    task_service.announce_task(session, task_id, assignee_id, opportunity_id)
            else:
                session.execute(insert(table), rows)
        for contact_id in self.tagged_contacts:
            contact = session.identity_map.get(session.identity_key(Contact, contact_id))
            if contact is not None and "tags" in vars(contact):
                session.expire(contact, ["tags"])  # as the service does
        for opportunity_id in sorted(self.note_opportunities):
            announce(
                session,
                f"opportunity:{opportunity_id}",
                "opportunity_changed",
                {"opportunity_id": opportunity_id, "change": "note"},
            )
        self.discard()


def _due_query(now: datetime) -> Select[t.Any]:
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


class _RedoCarefully(Exception):
    """A step failed in the optimistic pass: redo the batch with a SAVEPOINT per step."""


def run_due(
    session_factory: sessionmaker[Session],
    *,
    worker_id: str,
    config: RuntimeConfig,
    now: datetime | None = None,
) -> int:
    """Claim up to ``config.batch_size`` due runs, execute them, commit once.

    The batch first runs optimistically, without a SAVEPOINT per step (they
    cost more than the steps). If any step raises, that whole transaction is
    rolled back and the batch is claimed and run again with a SAVEPOINT per
    action step, so the failing step alone is undone and retried later: the
    result is the same as if every step had always had its own SAVEPOINT.

    Args:
        session_factory: sessions bound to the runtime database.
        worker_id: this worker's lease owner name.
        config: batch size, lease length, max attempts, account time zone.
        now: the batch's time (defaults to the installed clock).

    Returns:
        How many runs were processed.
    """
    now = now or clock.now()
    bind = session_factory.kw.get("bind")
    if bind is None:
        with session_factory() as session:
            bind = session.get_bind()
    dialect = bind.dialect.name
    if dialect == "postgresql":
        ids = _claim_leased(session_factory, worker_id, config, now)
        if not ids:
            return 0
    for careful in (False, True):
        with session_factory() as session:
            try:
                if dialect == "postgresql":
                    processed = _execute_leased(session, ids, worker_id, config, now, careful)
                else:
                    processed = _execute_single_writer(session, config, now, careful)
                if processed:
                    maybe_crash("after_claim")
                session.commit()
            except _RedoCarefully:
                session.rollback()
                continue
            except BaseException:
                session.rollback()
                raise
        if processed:
            maybe_crash("after_commit")
        return processed
    raise AssertionError("unreachable: the careful pass never asks for a redo")


def _execute_single_writer(
    session: Session, config: RuntimeConfig, now: datetime, careful: bool
) -> int:
    """SQLite: claim and execute in this one (BEGIN IMMEDIATE) transaction."""
    runs = list(session.scalars(_due_query(now).limit(config.batch_size)))
    if runs:
        _execute_batch(session, runs, config, now, careful)
    return len(runs)


def _claim_leased(
    session_factory: sessionmaker[Session], worker_id: str, config: RuntimeConfig, now: datetime
) -> list[int]:
    """PostgreSQL: take due rows nobody else holds (SKIP LOCKED) and lease them, then commit."""
    with session_factory() as session:
        ids = list(
            session.scalars(
                _due_query(now)
                .with_only_columns(SequenceRun.id)
                .limit(config.batch_size)
                .with_for_update(skip_locked=True, of=SequenceRun)
            )
        )
        if ids:
            session.execute(
                update(SequenceRun)
                .where(SequenceRun.id.in_(ids))
                .values(
                    lease_owner=worker_id, lease_until=now + timedelta(seconds=config.lease_seconds)
                ),
                execution_options={"synchronize_session": False},
            )
        session.commit()
    return ids


def _execute_leased(
    session: Session,
    ids: list[int],
    worker_id: str,
    config: RuntimeConfig,
    now: datetime,
    careful: bool,
) -> int:
    """PostgreSQL: lock the claimed rows whose lease is still ours, execute, release the leases."""
    runs = list(
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
    if runs:
        _execute_batch(session, runs, config, now, careful)
    # Release every lease we still hold, including rows dropped by the re-check.
    session.execute(
        update(SequenceRun)
        .where(SequenceRun.id.in_(ids), SequenceRun.lease_owner == worker_id)
        .values(lease_owner=None, lease_until=None),
    )
    return len(runs)


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


def _execute_batch(
    session: Session,
    runs: list[SequenceRun],
    config: RuntimeConfig,
    now: datetime,
    careful: bool = True,
) -> None:
    """Execute claimed runs in the caller's transaction (see `run_due` for `careful`)."""
    with engine.pin_live_campaigns(session) as live:
        batch = Batch(session, config, now, {c.id: c for c in live}, careful=careful)
        contact_ids = {run.contact_id for run in runs}
        batch.contacts = {
            c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))
        }
        batch.tag_scope = frozenset(batch.contacts)
        batch.load_users()
        # No autoflush: a flush costs more than most steps. The services flush
        # where they need ids, record_event flushes before goals are matched,
        # and advance() flushes before it reads runs; nothing else in a batch
        # reads rows it has pending.
        with session.no_autoflush:
            for run in runs:
                # Assign only real changes: each one costs an UPDATE.
                if run.waiting:
                    run.waiting = False
                if run.lease_owner is not None:
                    run.lease_owner = run.lease_until = None
                advance(session, run, batch)
            try:
                batch.sync()
            except Exception as exc:
                # Optimistic pass: some step's row is bad; the careful pass finds which.
                if not careful:
                    raise _RedoCarefully("the batch's buffered rows") from exc
                raise


# --- one run ---------------------------------------------------------------------------


def advance(session: Session, run: SequenceRun, batch: Batch) -> None:
    """Execute a run's steps up to the next future timer, a failure or the end."""
    now = batch.now
    compiled = engine.load_compiled(session, run.version_id)
    spec = compiled.sequences.get(run.node_id)
    if spec is None:
        engine.stop_runs(session, [run.id], f"sequence {run.node_id} is not in its version", now)
        return
    ctx = RunContext(session, run, batch)
    steps = spec.steps
    # The position lives in a local until the run stops moving: writing it per
    # step would flush one UPDATE per step at each savepoint.
    index = run.step_index
    parked = False
    try:
        while run.status == "active" and index < len(steps):
            step = steps[index]
            ctx.step_id = step.id
            try:
                kind = step_type(step.type)
                config = engine.parsed_step_config(session, run.version_id, run.node_id, step)
                if isinstance(kind, TimerStep):
                    due = kind.due_at(ctx, config)
                    index += 1
                    if due is not None and due > now:
                        run.due_at, run.waiting, parked = due, True, True
                        break
                    continue
                if batch.careful:
                    _run_action(session, t.cast(ActionStep[t.Any], kind), ctx, config)
                else:
                    t.cast(ActionStep[t.Any], kind).execute(ctx, config)
                    _apply_pending(ctx)
            except Exception as exc:
                if not batch.careful:
                    raise _RedoCarefully(f"step {step.id} of run {run.id}") from exc
                _retry_or_fail(session, run, step, exc, batch)
                break
            batch.steps += 1
            index += 1
            if run.attempts:
                run.attempts, run.last_error = 0, None
            if ctx.detail:
                session.add(
                    StepLog(
                        run_id=run.id,
                        step_id=step.id,
                        step_type=step.type,
                        status="skipped",
                        attempt=1,
                        detail=ctx.detail,
                        at=now,
                    )
                )
                ctx.detail = {}
            # A goal the step satisfied may have stopped this very run: the loop
            # condition re-reads run.status, which the engine's UPDATE refreshed.
    finally:
        if run.step_index != index:
            run.step_index = index
    # A trailing timer parks the run; it completes when it comes due.
    if run.status == "active" and index >= len(steps) and not parked:
        run.status, run.ended_at, run.due_at, run.waiting = "completed", now, None, False
        campaign = batch.live.get(run.campaign_id)
        allow = campaign.allow_reentry if campaign is not None else False
        if compiled.next_sequences.get(run.node_id):
            session.flush()  # the re-entry check reads this contact's runs
            engine.start_next_sequences(session, run, compiled, allow, now)
    engine.hint_stats(session, run.campaign_id)


def _run_action(session: Session, kind: ActionStep[t.Any], ctx: RunContext, config: t.Any) -> None:
    """Run one action in a SAVEPOINT: on error nothing of it remains, not even its notices."""
    notices = session.info.setdefault("notices", [])
    mark = len(notices)
    ctx.pending.clear()
    try:
        with session.begin_nested():
            kind.execute(ctx, config)
            ctx.batch.sync()  # the step's buffered rows belong in its savepoint
    except Exception:
        del session.info.setdefault("notices", [])[mark:]
        ctx.pending.clear()
        ctx.batch.buffer.discard()
        raise
    _apply_pending(ctx)


def _apply_pending(ctx: RunContext) -> None:
    """The step committed: apply its batch-cache updates."""
    for commit_tally in ctx.pending:
        commit_tally()
    ctx.pending.clear()


def _retry_or_fail(
    session: Session, run: SequenceRun, step: StepSpec, exc: BaseException, batch: Batch
) -> None:
    """Count a failed attempt: retry later with backoff, or fail the run for good."""
    now = batch.now
    run.attempts = (run.attempts or 0) + 1
    error = f"step {step.id} ({step.type}) failed: {type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
    run.last_error = error
    if run.attempts >= batch.config.max_attempts:
        run.status, run.ended_at, run.due_at, run.waiting = "failed", now, None, False
        status = "failed"
        log.error("run %s failed after %s attempts: %s", run.id, run.attempts, error)
    else:
        run.due_at, run.waiting = now + backoff(run.attempts), False
        status = "retry"
        log.warning("run %s attempt %s: %s", run.id, run.attempts, error)
    session.add(
        StepLog(
            run_id=run.id,
            step_id=step.id,
            step_type=step.type,
            status=status,
            attempt=run.attempts,
            detail={"error": error},
            at=now,
        )
    )
    engine.hint_stats(session, run.campaign_id)


# --- the step context ------------------------------------------------------------------


class _MergeValues(Mapping[str, object]):
    """Merge field values, computed on first use (most templates need only the contact)."""

    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx
        self._values: dict[str, object] | None = None

    def _load(self) -> dict[str, object]:
        if self._values is None:
            ctx = self._ctx
            contact = ctx.contact
            values: dict[str, object] = {
                "contact.first_name": contact.first_name,
                "contact.last_name": contact.last_name,
                "contact.email": contact.email,
            }
            for name, value in (contact.fields or {}).items():
                values[f"{merge.CUSTOM_FIELD_PREFIX}{name}"] = value
            opp = ctx.opportunity(fallback=False)
            if opp is not None:
                stage = ctx.session.get(Stage, opp.stage_id)
                values.update(
                    {
                        "opportunity.title": opp.title,
                        "opportunity.value": opp.value,
                        "opportunity.stage": stage.name if stage else "",
                    }
                )
            owner_id = ctx.owner_id()
            owner = ctx.user(owner_id)
            if owner is not None:
                values.update({"owner.name": owner.name, "owner.email": owner.email})
            self._values = values
        return self._values

    def __getitem__(self, key: str) -> object:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


class RunContext:
    """`StepContext` for one run, against the database, as the SYSTEM actor."""

    def __init__(self, session: Session, run: SequenceRun, batch: Batch) -> None:
        self.session = session
        self.run = run
        self.batch = batch
        self.now = batch.now
        self.contact_id = run.contact_id
        self.step_id = ""
        self.detail: dict[str, t.Any] = {}  # non-empty: the step was skipped, and why
        # Batch-cache updates that apply only if the step's savepoint commits.
        self.pending: list[t.Callable[[], None]] = []
        self._merge: _MergeValues | None = None

    # -- reading ------------------------------------------------------------------

    @property
    def contact(self) -> Contact:
        """The run's contact (loaded with the batch)."""
        contact = self.batch.contacts.get(self.contact_id)
        if contact is None:
            contact = self.session.get(Contact, self.contact_id)
            if contact is None:
                raise LookupError(f"contact {self.contact_id} is gone")
            self.batch.contacts[self.contact_id] = contact
        return contact

    def user(self, user_id: int | None) -> User | None:
        """A user by id (loaded with the batch)."""
        if user_id is None:
            return None
        self.batch.load_users()
        return self.batch.users.get(user_id) or self.session.get(User, user_id)

    def opportunity(self, *, fallback: bool = True) -> Opportunity | None:
        """The run's opportunity, else (with `fallback`) the contact's latest, bound to the run."""
        if self.run.opportunity_id is not None:
            opp = self.session.get(Opportunity, self.run.opportunity_id)
            if opp is not None:
                return opp
        if not fallback:
            return None
        opp = self.session.scalar(
            select(Opportunity)
            .where(Opportunity.contact_id == self.contact_id)
            .order_by(Opportunity.updated_at.desc(), Opportunity.id.desc())
            .limit(1)
        )
        if opp is not None:
            self.run.opportunity_id = opp.id
        return opp

    def owner_id(self) -> int | None:
        """The run's opportunity owner, else the contact's owner."""
        opp = self.opportunity(fallback=False)
        if opp is not None and opp.owner_id is not None:
            return opp.owner_id
        return self.contact.owner_id

    def render(self, template: str, *, html: bool = False) -> str:
        """Fill merge fields from the contact, opportunity and owner."""
        if "{{" not in template:
            return template
        if self._merge is None:
            self._merge = _MergeValues(self)
        return merge.render(template, self._merge, html=html)

    def contact_field(self, name: str) -> object:
        """A custom field of the contact (or a built-in column such as created_at)."""
        contact = self.contact
        if name in (contact.fields or {}):
            return contact.fields[name]
        if name in ("first_name", "last_name", "email", "created_at"):
            return getattr(contact, name)
        return None

    def timezone(self, which: str) -> ZoneInfo:
        """'contact' (falls back to the account zone), 'account', or an IANA name."""
        if which == "account":
            return self.batch.zone(self.batch.config.account_timezone)
        if which == "contact":
            return self.batch.zone(self.contact.timezone or self.batch.config.account_timezone)
        return self.batch.zone(which)

    def _today(self) -> date:
        return self.now.astimezone(self.timezone("account")).date()

    # -- effects: each step calls exactly one ----------------------------------------

    def apply_tag(self, tag: str) -> None:
        """Apply a tag (an event: it may satisfy goals, even stop this run).

        When no live goal can match the event, the tag and its event are
        buffered rows; otherwise (or for a tag that does not exist yet) the
        service applies it and matches goals at once, exactly as before.
        """
        batch = self.batch
        name = contact_service.tag_name(tag)
        contact_id = self.contact.id  # LookupError for a deleted contact, as the service
        payload = {"tag": name}
        tag_id = batch.tag_id(name)
        if (
            tag_id is None
            or contact_id not in batch.tag_scope
            or engine.may_satisfy_goals(
                self.session, event_data("tag_applied", contact_id, payload, "campaign")
            )
        ):
            batch.sync()
            contact_service.apply_tag(self.session, SYSTEM, contact_id, name, source="campaign")
            having = batch.tagged.get(tag_id) if tag_id is not None else None
            if having is not None:
                tagged = having  # bound now: mypy cannot narrow a name inside the lambda
                self.pending.append(lambda: tagged.add(contact_id))
            return
        having = batch.contacts_tagged(tag_id)
        if contact_id in having:
            return  # already there: no row and no event, as the service
        batch.buffer.add(ContactTag, {"contact_id": contact_id, "tag_id": tag_id, "applied_at": clock.now()})
        batch.buffer.add(
            DomainEvent,
            event_values(
                "tag_applied", contact_id, payload, source="campaign", actor_id=SYSTEM.user_id
            ),
        )
        self.pending.append(lambda: having.add(contact_id))

    def remove_tag(self, tag: str) -> None:
        """Remove a tag."""
        batch = self.batch
        batch.sync()
        contact_service.remove_tag(self.session, SYSTEM, self.contact_id, tag, source="campaign")
        tag_id = batch.tag_ids.get(tag)
        having = batch.tagged.get(tag_id) if tag_id is not None else None
        if having is not None:
            contact_id = self.contact_id
            self.pending.append(lambda: having.discard(contact_id))

    def create_task(
        self, title: str, description: str, assignee: str | int, due_in_days: int
    ) -> None:
        """Create a task; its due day is the first with room for the assignee (seed 002)."""
        if assignee == "owner":
            assignee_id = self.owner_id()
        elif assignee == "round_robin":
            assignee_id = self._round_robin_task_assignee()
        else:
            assignee_id = int(assignee)
        due = self._today() + timedelta(days=due_in_days)
        opportunity_id = self.run.opportunity_id
        user, contact_id = task_service.check_new_task(
            self.session,
            SYSTEM,
            title=title,
            assignee_id=assignee_id,
            contact_id=self.contact_id,
            opportunity_id=opportunity_id,
        )
        if user is not None:
            # Seed 002: the first day with room, from the batch's counts (which
            # the service would re-query per task); counted once the step commits.
            due = self.batch.first_day_with_room(user, due)
            load = self.batch.day_load[user.id]
            self.pending.append(lambda: load.__setitem__(due, load.get(due, 0) + 1))
        self.batch.buffer.add(
            Task,
            task_service.task_values(
                SYSTEM,
                title=title,
                description=description,
                assignee_id=assignee_id,
                due_date=due,
                contact_id=contact_id,
                opportunity_id=opportunity_id,
                source="campaign",
            ),
        )

    def _round_robin_task_assignee(self) -> int | None:
        """The active rep with the fewest campaign-made tasks (ties: lowest id)."""
        batch = self.batch
        if batch.task_tally is None:
            batch.sync()  # count the tasks this batch already made, as a flushed ORM path would
            batch.task_tally = self._rep_tally(Task.assignee_id, Task.source == "campaign")
        return self._pick(batch.task_tally)

    def _round_robin_owner(self) -> int | None:
        """The active rep owning the fewest contacts (ties: lowest id)."""
        batch = self.batch
        if batch.owner_tally is None:
            batch.owner_tally = self._rep_tally(Contact.owner_id, Contact.owner_id.is_not(None))
        return self._pick(batch.owner_tally)

    def _rep_tally(self, user_column: t.Any, *where: t.Any) -> dict[int, int]:
        """Every active rep → how many rows (matching `where`) point at them through `user_column`."""
        counts = (
            select(user_column.label("uid"), func.count().label("n")).where(*where).group_by(user_column).subquery()
        )
        rows = self.session.execute(
            select(User.id, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.uid == User.id)
            .where(User.role == "rep", User.active.is_(True))
        )
        return {uid: int(n) for uid, n in rows}

    def _pick(self, tally: dict[int, int]) -> int | None:
        """The id with the lowest count (ties: lowest id), counted once the step commits."""
        if not tally:
            return None
        chosen = min(tally, key=lambda uid: (tally[uid], uid))
        self.pending.append(lambda: tally.__setitem__(chosen, tally[chosen] + 1))
        return chosen

    def create_note(self, body: str) -> None:
        """Record a note on the contact (and the run's opportunity); a buffered row."""
        self.batch.buffer.add(
            Note,
            {
                "body": body,
                "contact_id": self.contact_id,
                "opportunity_id": self.run.opportunity_id,
                "author_id": None,
                "source": "campaign",
                "created_at": self.now,
            },
        )

    def create_opportunity(
        self, pipeline_id: int, stage_id: int, title: str, value: float | None
    ) -> None:
        """Create an opportunity (source=campaign); later steps of the run act on it."""
        self.batch.sync()  # its service records events/flushes: after the buffered rows
        opp = opportunity_service.create_opportunity(
            self.session,
            SYSTEM,
            title=title,
            contact_id=self.contact_id,
            pipeline_id=pipeline_id,
            stage_id=stage_id,
            owner_id=self.contact.owner_id,
            value=value,
            source="campaign",
            campaign_id=self.run.campaign_id,
        )
        self.run.opportunity_id = opp.id

    def move_opportunity(self, stage_id: int) -> None:
        """Move the run's (else the contact's latest) opportunity to a stage, as the campaign."""
        self.batch.sync()  # its service records events/flushes: after the buffered rows
        opp = self.opportunity()
        if opp is None:
            self.detail = {"reason": "the contact has no opportunity to move"}
            return
        opportunity_service.move_stage(
            self.session, SYSTEM, opp, stage_id, source="campaign", campaign_id=self.run.campaign_id
        )

    def assign_owner(self, user: str | int) -> None:
        """Make a user (or the next rep round robin) owner of the contact and its opportunity."""
        self.batch.sync()  # its service records events/flushes: after the buffered rows
        user_id = self._round_robin_owner() if user == "round_robin" else int(user)
        if user_id is None:
            self.detail = {"reason": "no active rep to assign"}
            return
        if self.user(user_id) is None:
            raise LookupError(f"user {user_id} does not exist")
        self.contact.owner_id = user_id
        opp = self.opportunity(fallback=False)
        if opp is not None and opp.owner_id != user_id:
            opportunity_service.update_opportunity(
                self.session, SYSTEM, opp.id, {"owner_id": user_id}
            )
        tally = self.batch.owner_tally
        if user != "round_robin" and tally is not None and user_id in tally:
            self.pending.append(lambda: tally.__setitem__(user_id, tally[user_id] + 1))

    def set_field(self, field: str, value: object) -> None:
        """Set a custom field of the contact."""
        self.batch.sync()  # its service records events/flushes: after the buffered rows
        contact_service.update_contact(
            self.session, SYSTEM, self.contact_id, {"fields": {field: value}}
        )

    def notify_user(self, user: str | int, message: str) -> None:
        """Leave an in-app notification for the owner or a user (pushed live after commit)."""
        user_id = self.owner_id() if user == "owner" else int(user)
        if user_id is None:
            self.detail = {"reason": "the contact has no owner to notify"}
            return
        note = Notification(
            user_id=user_id, message=message, contact_id=self.contact_id, created_at=self.now
        )
        self.session.add(note)
        self.session.flush()
        announce(
            self.session,
            f"user:{user_id}",
            "notification",
            {"notification_id": note.id, "contact_id": self.contact_id},
        )

    def enqueue_email(self, subject: str, body: str) -> None:
        """Queue an email to the contact in the outbox (once per run and step)."""
        contact = self.contact
        key = outbox_key(self.run.id, self.step_id)
        escaped = html.escape(body, quote=True).replace("\n", "<br>\n")
        self._enqueue(
            key,
            "email",
            {
                "to": contact.email,
                "to_name": contact.name,
                "subject": subject,
                "text": body,
                "body": escaped,
                "message_id": message_id(key),
            },
        )

    def enqueue_http_post(self, url: str, payload: dict[str, t.Any]) -> None:
        """Queue an HTTP POST in the outbox (once per run and step)."""
        self._enqueue(
            outbox_key(self.run.id, self.step_id), "http_post", {"url": url, "json": payload}
        )

    def _enqueue(self, key: str, kind: str, payload: dict[str, t.Any]) -> None:
        engine.insert_ignore(
            self.session,
            OutboxMessage,
            {
                "idempotency_key": key,
                "kind": kind,
                "contact_id": self.contact_id,
                "run_id": self.run.id,
                "campaign_id": self.run.campaign_id,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": self.now,
                "created_at": self.now,
            },
            ["idempotency_key"],
        )
