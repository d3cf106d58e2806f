"""Publishing: immutable numbered versions, the diff a publish makes, rollback, pause and resume.

Invariants:
- publishing validates, compiles once and stores the compiled form with a new
  immutable version number; runs in flight move to it (or stop where their
  node was removed) in the same transaction;
- publishers of one campaign are serialised, so two publishes never take the
  same version number.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Campaign
from models import CampaignVersion
from models import SequenceRun
from models import clock
from models import events
from models.access import Actor
from models.errors import Conflict
from models.errors import Invalid
from models.errors import NotFound
from runtime.campaigns import audit_campaign
from runtime.campaigns import check_graph
from runtime.campaigns import get_campaign
from runtime.campaigns import live_version
from runtime.campaigns import parse_or_400
from runtime.execution import migration as run_migration
from runtime.execution.runs import OPEN
from runtime.graphs.compiler import compile_graph
from runtime.graphs.diff import diff_graphs
from runtime.graphs.graph import CampaignGraph
from runtime.graphs.graph import graph_to_json
from runtime.graphs.graph import parse_graph
from runtime.notices import CampaignPublished
from runtime.notices import CampaignStatusChanged
from runtime.notices import wake_after_commit


def publish_diff(session: Session, campaign: Campaign, graph: CampaignGraph) -> dict[str, Any]:
    """What publishing `graph` changes versus the live version, with contacts on removed nodes."""
    version = live_version(session, campaign)
    old = parse_graph(version.graph) if version else None
    diff = diff_graphs(old, graph)
    removed = [e.node_id for e in diff.nodes_removed]
    counts = run_migration.contacts_on_nodes(session, campaign.id, removed) if removed else {}
    for entry in diff.nodes_removed:
        entry.contacts = counts.get(entry.node_id, 0)
    if diff.steps_removed:
        step_counts = contacts_on_steps(session, campaign, [(e.node_id, e.step_id) for e in diff.steps_removed])
        for entry in diff.steps_removed:
            entry.contacts = step_counts.get((entry.node_id, entry.step_id), 0)
    if diff.branches_removed:
        keys = [(e.node_id, str(e.branch_id)) for e in diff.branches_removed]
        path_counts = run_migration.contacts_on_branches(session, campaign.id, keys)
        for entry in diff.branches_removed:
            entry.contacts = path_counts.get((entry.node_id, str(entry.branch_id)), 0)
    return diff.to_json()


def _publish_graph(session: Session, actor: Actor, campaign: Campaign, graph: CampaignGraph, *,
                   dry_run: bool, rolled_back_from: int | None = None) -> dict[str, Any]:
    result = check_graph(session, graph)
    if not result.valid:
        raise Invalid("the campaign has errors", code="invalid_graph",
                      details={"errors": [i.to_json() for i in result.errors],
                               "warnings": [i.to_json() for i in result.warnings]})
    diff = publish_diff(session, campaign, graph)
    if dry_run:
        return {"dry_run": True, "diff": diff, "warnings": [i.to_json() for i in result.warnings]}
    # Serialise publishers of one campaign (PostgreSQL; SQLite's writer lock already
    # does), so two publishes cannot both take the same next version number.
    session.execute(select(Campaign.id).where(Campaign.id == campaign.id).with_for_update())
    compiled = compile_graph(graph)
    number = (session.scalar(select(func.max(CampaignVersion.number)).where(
        CampaignVersion.campaign_id == campaign.id)) or 0) + 1
    version = CampaignVersion(campaign_id=campaign.id, number=number, graph=graph_to_json(graph),
                              compiled=compiled.to_json(), published_by_id=actor.user_id,
                              published_at=clock.now(), rolled_back_from=rolled_back_from)
    session.add(version)
    session.flush()
    campaign.live_version_id = version.id
    if campaign.status in ("draft", "archived"):
        campaign.status = "live"
    migration = run_migration.migrate_runs(session, campaign, version)
    audit_campaign(session, actor, "campaign.rolled_back" if rolled_back_from else "campaign.published", campaign,
           version=number, rolled_back_from=rolled_back_from)
    events.notice(session, CampaignPublished(campaign_id=campaign.id, version=number))
    wake_after_commit(session)
    session.flush()
    return {"version": number, "diff": diff, "migration": migration,
            "warnings": [i.to_json() for i in result.warnings], "status": campaign.status}


def publish(session: Session, actor: Actor, campaign_id: int, *, dry_run: bool = False) -> dict[str, Any]:
    """Publish the draft as a new immutable version (or, with dry_run, only return the diff)."""
    campaign = get_campaign(session, actor, campaign_id, for_edit=True)
    return _publish_graph(session, actor, campaign, parse_or_400(campaign.draft), dry_run=dry_run)


def list_versions(session: Session, actor: Actor, campaign_id: int) -> list[CampaignVersion]:
    """Published versions, newest first."""
    campaign = get_campaign(session, actor, campaign_id)
    return list(session.scalars(select(CampaignVersion).where(CampaignVersion.campaign_id == campaign.id)
                                .order_by(CampaignVersion.number.desc())))


def get_version(session: Session, actor: Actor, campaign_id: int, number: int) -> CampaignVersion:
    """One published version by number."""
    campaign = get_campaign(session, actor, campaign_id)
    version = session.scalar(select(CampaignVersion).where(
        CampaignVersion.campaign_id == campaign.id, CampaignVersion.number == number))
    if version is None:
        raise NotFound(f"no version {number}")
    return version


def rollback(session: Session, actor: Actor, campaign_id: int, number: int) -> dict[str, Any]:
    """Publish an earlier version's graph as a new version (the draft follows)."""
    campaign = get_campaign(session, actor, campaign_id, for_edit=True)
    old = get_version(session, actor, campaign_id, number)
    graph = parse_graph(old.graph)
    result = _publish_graph(session, actor, campaign, graph, dry_run=False, rolled_back_from=number)
    campaign.draft = graph_to_json(graph)
    campaign.draft_updated_at = clock.now()
    session.flush()
    return result


def set_paused(session: Session, actor: Actor, campaign_id: int, paused: bool) -> Campaign:
    """Pause (no new enrollments, due runs wait) or resume a published campaign."""
    campaign = get_campaign(session, actor, campaign_id, for_edit=True)
    if campaign.live_version_id is None:
        raise Conflict("publish the campaign before pausing it", code="not_published")
    wanted = "paused" if paused else "live"
    if campaign.status != wanted:
        campaign.status = wanted
        audit_campaign(session, actor, "campaign.paused" if paused else "campaign.resumed", campaign)
        events.notice(session, CampaignStatusChanged(campaign_id=campaign.id, status=wanted))
        if not paused:
            wake_after_commit(session)
    session.flush()
    return campaign


def contacts_on_steps(session: Session, campaign: Campaign,
                      steps: list[tuple[str, str | None]]) -> dict[tuple[str, str | None], int]:
    """Open runs sitting on each (sequence, step) of the live version, i.e. about to run it."""
    version = live_version(session, campaign)
    if version is None:
        return {}
    positions: dict[tuple[str, int], tuple[str, str | None]] = {}
    for node in version.graph.get("nodes", []):
        for index, step in enumerate(node.get("steps") or []):
            if (node["id"], step["id"]) in steps:
                positions[(node["id"], index)] = (node["id"], step["id"])
    counts = {key: 0 for key in steps}
    if not positions:
        return counts
    rows = session.execute(select(SequenceRun.node_id, SequenceRun.step_index, func.count()).where(
        SequenceRun.campaign_id == campaign.id, SequenceRun.status.in_(OPEN),
        SequenceRun.node_id.in_({n for n, _ in positions})).group_by(SequenceRun.node_id, SequenceRun.step_index))
    for node_id, index, count in rows:
        key = positions.get((node_id, index))
        if key is not None:
            counts[key] += count
    return counts
