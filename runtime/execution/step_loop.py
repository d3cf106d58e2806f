"""The step loop: execute claimed runs' steps, one transaction per batch.

Invariants:
    * A batch of claimed runs is executed and committed in ONE transaction; a
      crash before the commit loses nothing (the runs are still due) and a crash
      after it repeats nothing.
    * A failing step leaves no partial effect and does not undo or repeat other
      steps: a batch first runs without savepoints (fast path); if any step
      raises, the batch is rolled back and run again with each action step in
      its own SAVEPOINT. The failing run is retried with exponential backoff
      and fails after ``max_attempts`` with the error kept on the run.
    * Nothing is autoflushed during a batch (flushes cost more than steps);
      the CRM flushes where it needs ids, and recording an event flushes
      before goals are matched.
    * Status changes go through the run state machine (`runtime.execution.runs`).
    * A run that fell due while no worker ran is simply claimed at the next tick.
"""

from __future__ import annotations

import logging
import typing as t
from datetime import datetime
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from models import Contact
from models import SequenceRun
from models import StepLog
from models import clock
from models import events
from runtime.backoff import backoff_seconds
from runtime.config import RuntimeConfig
from runtime.execution import claim
from runtime.execution.apply import Place
from runtime.execution.apply import apply
from runtime.execution.buffer import Batch
from runtime.execution.cache import LiveCampaign
from runtime.execution.cache import load_compiled
from runtime.execution.cache import parsed_step_config
from runtime.execution.cache import pin_live_campaigns
from runtime.execution.context import RunContext
from runtime.execution.decide import after_sequence
from runtime.execution.facts import facts_loader
from runtime.execution.runs import transition
from runtime.faults import maybe_crash
from runtime.graphs.catalog import step_type
from runtime.graphs.catalog.base import ActionStep
from runtime.graphs.catalog.base import TimerStep
from runtime.graphs.compiler import CompiledCampaign
from runtime.graphs.compiler import StepSpec
from runtime.notices import stats_changed

log = logging.getLogger(__name__)

BACKOFF_SECONDS = 30.0
MAX_ERROR_CHARS = 2000


def retry_delay(attempts: int) -> timedelta:
    """Delay before retry number `attempts` (1-based) of a failing step: 30 s, 60 s, 120 s, …"""
    return timedelta(seconds=backoff_seconds(attempts, BACKOFF_SECONDS))


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
    leased = bind.dialect.name == "postgresql"
    ids: list[int] = []
    if leased:
        ids = claim.claim_leased(session_factory, worker_id, config, now)
        if not ids:
            return 0
    for careful in (False, True):
        with session_factory() as session:
            try:
                runs = claim.lock_leased(session, ids, worker_id) if leased else claim.due_runs(
                    session, now, config.batch_size)
                if runs:
                    execute_batch(session, runs, config, now, careful)
                if leased:
                    claim.release_leases(session, ids, worker_id)
                if runs:
                    maybe_crash("after_claim")
                session.commit()
            except _RedoCarefully:
                session.rollback()
                continue
            except BaseException:
                session.rollback()
                raise
        if runs:
            maybe_crash("after_commit")
        return len(runs)
    raise AssertionError("unreachable: the careful pass never asks for a redo")


def execute_batch(
    session: Session, runs: list[SequenceRun], config: RuntimeConfig, now: datetime, careful: bool = True
) -> None:
    """Execute claimed runs in the caller's transaction (see `run_due` for `careful`)."""
    with pin_live_campaigns(session) as live:
        batch = Batch(session, config, now, {c.id: c for c in live}, careful=careful)
        contact_ids = {run.contact_id for run in runs}
        batch.contacts = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))}
        batch.tag_scope = frozenset(batch.contacts)
        batch.load_users()
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


def advance(session: Session, run: SequenceRun, batch: Batch) -> None:
    """Execute a run's steps up to the next future timer, a failure or the end."""
    now = batch.now
    compiled = load_compiled(session, run.version_id)
    spec = compiled.sequences.get(run.node_id)
    if spec is None:
        transition(run, "stopped", now, f"sequence {run.node_id} is not in its version")
        stats_changed(session, run.campaign_id)
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
                config = parsed_step_config(session, run.version_id, run.node_id, step)
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
                session.add(StepLog(run_id=run.id, step_id=step.id, step_type=step.type, status="skipped",
                                    attempt=1, detail=ctx.detail, at=now))
                ctx.detail = {}
            # A goal the step satisfied may have stopped this very run: the loop
            # condition re-reads run.status, which the state machine's UPDATE refreshed.
    finally:
        if run.step_index != index:
            run.step_index = index
    # A trailing timer parks the run; it completes when it comes due.
    if run.status == "active" and index >= len(steps) and not parked:
        transition(run, "completed", now)
        if compiled.next_sequences.get(run.node_id):
            batch.sync()  # a decision next reads the tags this batch buffered
            _start_following(session, run, compiled, batch.live.get(run.campaign_id), now)
    stats_changed(session, run.campaign_id)


def _start_following(
    session: Session, run: SequenceRun, compiled: CompiledCampaign, campaign: LiveCampaign | None, now: datetime
) -> None:
    """Start what a completed run leads to: sequences, and the paths of decisions and splits after it."""
    session.flush()  # the re-entry check reads this contact's runs
    allow_reentry = campaign.allow_reentry if campaign is not None else False
    place = Place.load(session, LiveCampaign(run.campaign_id, "", run.version_id, allow_reentry), run.contact_id)
    place.enrollment_id = place.enrollment_id or run.enrollment_id
    facts = facts_loader(session, run.contact_id, run.campaign_id, run.opportunity_id)
    actions = after_sequence(compiled, place.presence(), run.node_id, contact_id=run.contact_id, facts=facts)
    apply(session, place, compiled, actions, now, opportunity_id=run.opportunity_id)


def _run_action(session: Session, kind: ActionStep[t.Any], ctx: RunContext, config: t.Any) -> None:
    """Run one action in a SAVEPOINT: on error nothing of it remains, not even its notices."""
    position = events.mark(session)
    ctx.pending.clear()
    try:
        with session.begin_nested():
            kind.execute(ctx, config)
            ctx.batch.sync()  # the step's buffered rows belong in its savepoint
    except Exception:
        events.forget_since(session, position)
        ctx.pending.clear()
        ctx.batch.buffer.discard()
        raise
    _apply_pending(ctx)


def _apply_pending(ctx: RunContext) -> None:
    """The step committed: apply its batch-cache updates."""
    for commit_tally in ctx.pending:
        commit_tally()
    ctx.pending.clear()


def _retry_or_fail(session: Session, run: SequenceRun, step: StepSpec, exc: BaseException, batch: Batch) -> None:
    """Count a failed attempt: retry later with backoff, or fail the run for good."""
    now = batch.now
    run.attempts = (run.attempts or 0) + 1
    error = f"step {step.id} ({step.type}) failed: {type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
    run.last_error = error
    if run.attempts >= batch.config.max_attempts:
        transition(run, "failed", now)
        status = "failed"
        log.error("run %s failed after %s attempts: %s", run.id, run.attempts, error)
    else:
        run.due_at, run.waiting = now + retry_delay(run.attempts), False
        status = "retry"
        log.warning("run %s attempt %s: %s", run.id, run.attempts, error)
    session.add(StepLog(run_id=run.id, step_id=step.id, step_type=step.type, status=status,
                        attempt=run.attempts, detail={"error": error}, at=now))
    stats_changed(session, run.campaign_id)
