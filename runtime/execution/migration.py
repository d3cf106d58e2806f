"""Publishing a new version with contacts in flight: where each open run continues.

Invariants:
    * Runs whose sequence still exists continue at the same step, mapped by
      step id (`new_step_index`); pending timers keep their due time.
    * Runs (failed ones too) whose sequence was removed stop with the reason
      "removed in version N", through the run state machine.
    * Runs a decision or split path started stop when that path (or its whole
      decision or split) was removed: "path “B” of “A/B” removed in version N".
      A path that survives keeps its contacts even if it now leads elsewhere
      (new contacts follow the new connection).
    * Everything happens in the publish transaction.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterable

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from models import Campaign
from models import CampaignVersion
from models import Enrollment
from models import SequenceRun
from models import clock
from runtime.execution.cache import cache_compiled
from runtime.execution.cache import load_compiled
from runtime.execution.runs import OPEN
from runtime.execution.runs import transition
from runtime.graphs.compiler import CompiledCampaign
from runtime.graphs.compiler import StepSpec
from runtime.notices import stats_changed
from runtime.notices import wake_after_commit


def new_step_index(old_steps: tuple[StepSpec, ...], new_steps: tuple[StepSpec, ...], index: int) -> int:
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


def path_ids(compiled: CompiledCampaign, node_id: str) -> frozenset[str]:
    """The path ids of a decision or split in a version (empty when it has none, or is gone)."""
    decision = compiled.decisions.get(node_id)
    if decision is not None:
        return frozenset([p.id for p in decision.paths] + (["otherwise"] if decision.otherwise else []))
    split = compiled.splits.get(node_id)
    return frozenset(p.id for p in split.paths) if split is not None else frozenset()


def _path_reason(old: CompiledCampaign | None, node_id: str, branch_id: str, number: int) -> str:
    spec = (old.decisions.get(node_id) or old.splits.get(node_id)) if old is not None else None
    if spec is None:
        return f"path {branch_id} of {node_id} removed in version {number}"
    return f"path “{spec.label(branch_id)}” of “{spec.name or node_id}” removed in version {number}"


def migrate_runs(session: Session, campaign: Campaign, new_version: CampaignVersion) -> dict[str, t.Any]:
    """Move a campaign's open (and failed) runs to a newly published version.

    Returns:
        ``{"moved", "stopped", "remapped", "stopped_by_node", "stopped_by_branch"}`` counts
        (``stopped_by_branch`` keys are "node id/path id").
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
            SequenceRun.status.in_((*OPEN, "failed")),
            SequenceRun.version_id != new_version.id,
        )
        .order_by(SequenceRun.id)
        .with_for_update()
    ).all()
    moved = remapped = 0
    stopped: dict[str, int] = {}
    by_branch: dict[str, int] = {}
    reason = f"removed in version {new_version.number}"
    for run in runs:
        spec = new.sequences.get(run.node_id)
        if spec is None:
            transition(run, "stopped", now, reason)
            stopped[run.node_id] = stopped.get(run.node_id, 0) + 1
            continue
        old_version = load_compiled(session, run.version_id)
        if run.branch_node_id is not None and run.branch_id not in path_ids(new, run.branch_node_id):
            transition(run, "stopped", now, _path_reason(old_version, run.branch_node_id, str(run.branch_id),
                                                         new_version.number))
            key = f"{run.branch_node_id}/{run.branch_id}"
            by_branch[key] = by_branch.get(key, 0) + 1
            continue
        old = old_version.sequences.get(run.node_id)
        index = new_step_index(old.steps, spec.steps, run.step_index) if old else run.step_index
        if index != run.step_index:
            remapped += 1
            run.step_index = index
        run.version_id = new_version.id
        moved += 1
    session.execute(
        update(Enrollment).where(Enrollment.campaign_id == campaign.id).values(version_id=new_version.id),
        execution_options={"synchronize_session": False},
    )
    session.flush()
    stats_changed(session, campaign.id)
    if moved:
        wake_after_commit(session)
    return {"moved": moved, "stopped": sum(stopped.values()) + sum(by_branch.values()), "remapped": remapped,
            "stopped_by_node": stopped, "stopped_by_branch": by_branch}


def contacts_on_nodes(session: Session, campaign_id: int, node_ids: Iterable[str]) -> dict[str, int]:
    """Active/paused runs per sequence node (for the publish diff), 0 for empty nodes."""
    wanted = list(dict.fromkeys(node_ids))
    counts = dict.fromkeys(wanted, 0)
    if not wanted:
        return counts
    rows = session.execute(
        select(SequenceRun.node_id, func.count())
        .where(SequenceRun.campaign_id == campaign_id, SequenceRun.status.in_(OPEN),
               SequenceRun.node_id.in_(wanted))
        .group_by(SequenceRun.node_id)
    )
    for node_id, count in rows:
        counts[node_id] = int(count)
    return counts


def contacts_on_branches(session: Session, campaign_id: int,
                         branches: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Active/paused runs started by each (decision or split, path), for the publish diff (0 when none)."""
    wanted = list(dict.fromkeys(branches))
    counts = dict.fromkeys(wanted, 0)
    if not wanted:
        return counts
    rows = session.execute(
        select(SequenceRun.branch_node_id, SequenceRun.branch_id, func.count())
        .where(SequenceRun.campaign_id == campaign_id, SequenceRun.status.in_(OPEN),
               SequenceRun.branch_node_id.in_({n for n, _ in wanted}))
        .group_by(SequenceRun.branch_node_id, SequenceRun.branch_id)
    )
    for node_id, branch_id, count in rows:
        key = (str(node_id), str(branch_id))
        if key in counts:
            counts[key] = int(count)
    return counts
