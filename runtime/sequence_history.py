"""Follow-up sequence history: a contact's runs and decisions, and pausing, resuming or stopping a run by hand.

Invariants:
    * A manual change goes through the run state machine, under a row lock
      (FOR UPDATE) so it acts on the result of a worker executing the run.
    * The history lists runs (``kind: "sequence"``) and the contact's passes
      through decisions and splits (``kind: "decision"``, status ``branched``
      or ``left`` with the reason), oldest first.
"""

from __future__ import annotations

import typing as t
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import BranchHit
from models import Campaign
from models import Opportunity
from models import SequenceRun
from models import StepLog
from models import clock
from models.access import Actor
from models.access import require_role
from models.access import visible_opportunities
from models.errors import Conflict
from models.errors import Invalid
from models.errors import NotFound
from runtime.execution.cache import load_compiled
from runtime.execution.runs import OPEN
from runtime.execution.runs import IllegalTransition
from runtime.execution.runs import Status
from runtime.execution.runs import transition
from runtime.graphs.catalog import summarize_items
from runtime.notices import stats_changed
from runtime.notices import wake_after_commit
from runtime.references import DbNames

RUN_TARGETS: tuple[Status, ...] = ("active", "paused", "stopped")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def run_dict(session: Session, run: SequenceRun, campaign_name: str, names: DbNames | None = None) -> dict[str, t.Any]:
    """The API form of a run: one row of the follow-up sequence history.

    ``current_step_summary`` is the catalog's one-line summary of the step it is at
    (e.g. "Note “Qualified follow-up sent…”"), with stage and user names.
    """
    current_step: str | None = None
    current_type: str | None = None
    current_summary: str | None = None
    if run.status in OPEN or run.status == "failed":
        try:
            spec = load_compiled(session, run.version_id).sequences.get(run.node_id)
        except NotFound:
            spec = None
        if spec is not None and run.step_index < len(spec.steps):
            step = spec.steps[run.step_index]
            current_step, current_type = step.id, step.type
            current_summary = summarize_items([{"key": step.id, "type": step.type, "config": dict(step.config)}],
                                              names or DbNames(session))[step.id] or None
    return {
        "kind": "sequence",
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
        "current_step_summary": current_summary,
        "step_index": run.step_index,
        "next_due_at": _iso(run.due_at) if run.status in OPEN else None,
        "attempts": run.attempts,
        "last_error": run.last_error,
        "stop_reason": run.stop_reason,
        "opportunity_id": run.opportunity_id,
        "branch_node_id": run.branch_node_id,
        "branch_id": run.branch_id,
    }


def branch_dict(hit: BranchHit, campaign_name: str) -> dict[str, t.Any]:
    """A pass through a decision or split as a row of the history: the path taken, or that the contact left."""
    taken = hit.branch_id is not None
    return {
        "kind": "decision", "id": hit.id, "campaign_id": hit.campaign_id, "campaign_name": campaign_name,
        "node_id": hit.node_id, "name": f"{hit.name} → {hit.label}" if taken else hit.name,
        "status": "branched" if taken else "left", "waiting": False, "started_at": _iso(hit.at),
        "ended_at": _iso(hit.at), "current_step": None, "current_step_type": None,
        "current_step_summary": None, "step_index": 0,
        "next_due_at": None, "attempts": 0, "last_error": None, "stop_reason": hit.reason,
        "opportunity_id": None, "branch_node_id": hit.node_id, "branch_id": hit.branch_id, "skipped": [],
    }


def contact_sequences(session: Session, contact_id: int) -> list[dict[str, t.Any]]:
    """The contact's follow-up sequence history (runs and decisions), oldest first."""
    rows = session.execute(
        select(SequenceRun, Campaign.name)
        .join(Campaign, Campaign.id == SequenceRun.campaign_id)
        .where(SequenceRun.contact_id == contact_id)
        .order_by(SequenceRun.started_at, SequenceRun.id)
    ).all()
    names = DbNames(session)
    hits = session.execute(
        select(BranchHit, Campaign.name).join(Campaign, Campaign.id == BranchHit.campaign_id)
        .where(BranchHit.contact_id == contact_id).order_by(BranchHit.at, BranchHit.id)
    ).all()
    skipped = _skipped_steps(session, [run.id for run, _ in rows])
    # A decision is passed before the run it starts: at equal times it comes first.
    entries = [((run.started_at, 1, run.id), run_dict(session, run, name, names) | {"skipped": skipped.get(run.id, [])})
               for run, name in rows]
    entries += [((hit.at, 0, hit.id), branch_dict(hit, name)) for hit, name in hits]
    return [entry for _key, entry in sorted(entries, key=lambda e: e[0])]


def _skipped_steps(session: Session, run_ids: list[int]) -> dict[int, list[dict[str, t.Any]]]:
    """Per run, the steps that did nothing and why (e.g. an email to an unsubscribed contact)."""
    out: dict[int, list[dict[str, t.Any]]] = {}
    if not run_ids:
        return out
    logs = session.scalars(select(StepLog).where(StepLog.run_id.in_(run_ids), StepLog.status == "skipped")
                           .order_by(StepLog.id))
    for log in logs:
        out.setdefault(log.run_id, []).append({
            "step_id": log.step_id, "step_type": log.step_type, "at": _iso(log.at),
            "reason": str((log.detail or {}).get("reason") or ""),
        })
    return out


def may_manage_run(session: Session, actor: Actor, run: SequenceRun) -> bool:
    """Admins manage any run; a rep only runs of contacts whose opportunities they can see."""
    if actor.is_admin:
        return True
    query = visible_opportunities(actor, select(Opportunity.id).where(Opportunity.contact_id == run.contact_id))
    return session.scalar(query.limit(1)) is not None


def set_run_status(session: Session, actor: Actor, run_id: int, status: str) -> SequenceRun:
    """Pause, resume (or retry a failed run) or stop one sequence run by hand.

    Raises:
        Forbidden: a marketer.
        NotFound: no such run, or one the actor may not manage.
        Invalid: an unknown target status.
        Conflict: ``run_finished`` when the run is completed or stopped;
            ``invalid_transition`` for another move the state machine refuses.
    """
    require_role(actor, "admin", "rep")
    if status not in RUN_TARGETS:
        raise Invalid(f"status must be one of {', '.join(RUN_TARGETS)}", code="invalid_status",
                      details={"field": "status"})
    target: Status = status  # narrowed by the RUN_TARGETS check above
    # FOR UPDATE: wait for a worker executing this run, then act on its result.
    run = session.scalar(select(SequenceRun).where(SequenceRun.id == run_id).with_for_update())
    if run is None or not may_manage_run(session, actor, run):
        raise NotFound("no such sequence run")
    if run.status in ("completed", "stopped"):
        raise Conflict(f"the run is already {run.status}", code="run_finished", details={"status": run.status})
    if target == run.status:
        return run
    reason = "stopped by hand" + (f" (user {actor.user_id})" if actor.user_id is not None else "")
    try:
        transition(run, target, clock.now(), reason)
    except IllegalTransition as exc:
        raise Conflict(f"only an active run can be paused (it is {run.status})"
                       if target == "paused" else str(exc), code="invalid_transition") from exc
    if target == "active":
        wake_after_commit(session)
    session.flush()
    stats_changed(session, run.campaign_id)
    return run
