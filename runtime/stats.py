"""A campaign's live numbers per node: runs by state, goal hits, and contacts per decision or split path."""

from __future__ import annotations

from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import BranchHit
from models import Campaign
from models import CampaignVersion
from models import GoalHit
from models import SequenceRun
from models import clock
from runtime.execution.cache import load_compiled

STAT_KEYS = ("active", "waiting", "paused", "completed", "stopped", "failed", "satisfied", "passed", "left")


def campaign_stats(session: Session, campaign_id: int) -> dict[str, dict[str, int]]:
    """Per node: run counts by state, goal hits, and passes through decisions and splits.

    ``active`` = running or due now, ``waiting`` = parked on a future timer,
    then ``paused``, ``completed``, ``stopped``, ``failed``; ``satisfied`` =
    goal hits; ``passed`` = paths taken at a decision or split, ``left`` =
    contacts that took none there. Every node of the live (else latest)
    version is listed, with zeros when empty.
    """
    return _stats(session, campaign_id)[0]


def campaign_branch_stats(session: Session, campaign_id: int) -> tuple[dict[str, dict[str, int]],
                                                                       dict[str, dict[str, int]]]:
    """`campaign_stats` and, per decision or split, contacts per path id (zeros included)."""
    return _stats(session, campaign_id)


def _stats(session: Session, campaign_id: int) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    now = clock.now()
    nodes: dict[str, dict[str, int]] = {}
    branches: dict[str, dict[str, int]] = {}
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
        for node_id in [*compiled.goals, *compiled.sequences, *compiled.decisions, *compiled.splits]:
            nodes[node_id] = dict.fromkeys(STAT_KEYS, 0)
        for node_id, decision in compiled.decisions.items():
            branches[node_id] = {p.id: 0 for p in decision.paths} | ({"otherwise": 0} if decision.otherwise else {})
        for node_id, split in compiled.splits.items():
            branches[node_id] = {p.id: 0 for p in split.paths}
    waiting = and_(SequenceRun.status == "active", SequenceRun.waiting.is_(True), SequenceRun.due_at > now)
    bucket = case((waiting, "waiting"), else_=SequenceRun.status)
    rows = session.execute(
        select(SequenceRun.node_id, bucket, func.count())
        .where(SequenceRun.campaign_id == campaign_id)
        .group_by(SequenceRun.node_id, bucket)
    )
    for node_id, status, count in rows:
        nodes.setdefault(node_id, dict.fromkeys(STAT_KEYS, 0))[str(status)] += int(count)
    hits = session.execute(
        select(GoalHit.node_id, func.count()).where(GoalHit.campaign_id == campaign_id).group_by(GoalHit.node_id)
    )
    for node_id, count in hits:
        nodes.setdefault(node_id, dict.fromkeys(STAT_KEYS, 0))["satisfied"] = int(count)
    passes = session.execute(
        select(BranchHit.node_id, BranchHit.branch_id, func.count()).where(BranchHit.campaign_id == campaign_id)
        .group_by(BranchHit.node_id, BranchHit.branch_id)
    )
    for node_id, branch_id, count in passes:
        node = nodes.setdefault(node_id, dict.fromkeys(STAT_KEYS, 0))
        if branch_id is None:
            node["left"] += int(count)
        else:
            node["passed"] += int(count)
            paths = branches.setdefault(node_id, {})
            paths[branch_id] = paths.get(branch_id, 0) + int(count)
    return nodes, branches
