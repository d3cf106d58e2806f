"""Campaigns: drafts, validation, publish (immutable versions), rollback, pause, import/export.

Invariants:
- a malformed draft is refused before anything is written; a structurally
  sound but incomplete draft is kept, with its errors returned;
- publishing validates, compiles once and stores the compiled form with a new
  immutable version number; runs in flight move to it (or stop where their
  node was removed) in the same transaction;
- marketers and admins edit and publish; reps may only list names.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEntry
from models import Campaign
from models import CampaignVersion
from models import Pipeline
from models import SequenceRun
from models import Stage
from models import Tag
from models import User
from models import clock
from models import events
from models.access import Actor
from models.access import require_role
from models.errors import Conflict
from models.errors import DomainError
from models.errors import Invalid
from models.errors import NotFound
from runtime import stats as stats_service
from runtime.execution import migration as run_migration
from runtime.execution.runs import OPEN
from runtime.execution.runs import transition_where
from runtime.graphs.catalog import summarize_items
from runtime.graphs.compiler import compile_graph
from runtime.graphs.diff import diff_graphs
from runtime.graphs.graph import CampaignGraph
from runtime.graphs.graph import MalformedGraph
from runtime.graphs.graph import graph_to_json
from runtime.graphs.graph import parse_graph
from runtime.graphs.validation import ValidationResult
from runtime.graphs.validation import validate
from runtime.notices import CampaignPublished
from runtime.notices import CampaignStatusChanged
from runtime.notices import wake_after_commit

MAX_GRAPH_BYTES = 2 * 1024 * 1024
EXPORT_FORMAT = "stagecraft.campaign"
EXPORT_VERSION = 1
EDITORS = ("marketer",)  # admins always pass require_role


class DbRefs:
    """Refs backed by the database, with per-instance caches (one validation)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._stages: dict[int, int] | None = None
        self._pipelines: set[int] | None = None
        self._users: set[int] | None = None
        self._tags: set[str] | None = None

    def pipeline_exists(self, pipeline_id: int) -> bool:
        """True when the pipeline exists."""
        if self._pipelines is None:
            self._pipelines = set(self.session.scalars(select(Pipeline.id)))
        return pipeline_id in self._pipelines

    def stage_pipeline(self, stage_id: int) -> int | None:
        """The stage's pipeline, or None."""
        if self._stages is None:
            self._stages = dict(self.session.execute(select(Stage.id, Stage.pipeline_id)).all())
        return self._stages.get(stage_id)

    def user_exists(self, user_id: int) -> bool:
        """True when the user exists."""
        if self._users is None:
            self._users = set(self.session.scalars(select(User.id)))
        return user_id in self._users

    def tag_exists(self, tag: str) -> bool:
        """True when the tag exists."""
        if self._tags is None:
            self._tags = set(self.session.scalars(select(Tag.name)))
        return tag in self._tags


class DbNames:
    """Names backed by the database (loaded once per instance), for catalog summaries."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._stages: dict[int, tuple[str, str]] | None = None
        self._pipelines: dict[int, str] | None = None
        self._users: dict[int, str] | None = None

    def stage(self, stage_id: int) -> tuple[str, str] | None:
        """(stage name, pipeline name), or None."""
        if self._stages is None:
            rows = self.session.execute(select(Stage.id, Stage.name, Pipeline.name).join(Pipeline))
            self._stages = {sid: (name, pipeline) for sid, name, pipeline in rows}
        return self._stages.get(stage_id)

    def pipeline(self, pipeline_id: int) -> str | None:
        """The pipeline's name, or None."""
        if self._pipelines is None:
            self._pipelines = dict(self.session.execute(select(Pipeline.id, Pipeline.name)).all())
        return self._pipelines.get(pipeline_id)

    def user(self, user_id: int) -> str | None:
        """The user's name, or None."""
        if self._users is None:
            self._users = dict(self.session.execute(select(User.id, User.name)).all())
        return self._users.get(user_id)


def summarize(session: Session, actor: Actor, items: list[dict[str, Any]]) -> dict[str, str]:
    """One-line summaries of goal/step configs, keyed as asked (the canvas's node texts)."""
    require_role(actor, *EDITORS)
    return summarize_items(items, DbNames(session))


def empty_graph() -> dict[str, Any]:
    """A new campaign's draft."""
    return {"nodes": [], "edges": []}


def _audit(session: Session, actor: Actor, action: str, campaign: Campaign, **details: Any) -> None:
    session.add(AuditEntry(actor_id=actor.user_id, action=action, target_type="campaign",
                           target_id=campaign.id, details=details))


def parse_or_400(data: object) -> CampaignGraph:
    """Parse a graph payload; a malformed or oversized one is a 400 DomainError."""
    try:
        size = len(json.dumps(data, separators=(",", ":")))
    except (TypeError, ValueError) as exc:
        raise DomainError("the graph is not JSON", code="malformed_graph") from exc
    if size > MAX_GRAPH_BYTES:
        raise DomainError(f"the graph is {size} bytes; the limit is {MAX_GRAPH_BYTES}", code="graph_too_large")
    try:
        return parse_graph(data)
    except MalformedGraph as exc:
        raise DomainError(exc.message, code="malformed_graph", details={"errors": exc.details}) from exc


def get_campaign(session: Session, actor: Actor, campaign_id: int, *, for_edit: bool = False) -> Campaign:
    """A campaign the actor may open (marketers/admins) or NotFound."""
    require_role(actor, *EDITORS)
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("no such campaign")
    if for_edit and campaign.status == "archived":
        raise Conflict("the campaign is archived", code="campaign_archived")
    return campaign


def live_version(session: Session, campaign: Campaign) -> CampaignVersion | None:
    """The published version contacts run on, if any."""
    return session.get(CampaignVersion, campaign.live_version_id) if campaign.live_version_id else None


def create_campaign(session: Session, actor: Actor, name: str, graph: dict[str, Any] | None = None) -> Campaign:
    """Create a draft campaign."""
    require_role(actor, *EDITORS)
    if not name.strip():
        raise Invalid("a campaign needs a name", code="empty_name", details={"field": "name"})
    draft = graph_to_json(parse_or_400(graph)) if graph is not None else empty_graph()
    campaign = Campaign(name=name.strip(), status="draft", draft=draft, created_by_id=actor.user_id,
                        draft_updated_by_id=actor.user_id, draft_updated_at=clock.now())
    session.add(campaign)
    session.flush()
    return campaign


def rename_campaign(session: Session, actor: Actor, campaign_id: int, name: str | None,
                    allow_reentry: bool | None) -> Campaign:
    """Rename a campaign or change its re-entry setting."""
    campaign = get_campaign(session, actor, campaign_id, for_edit=True)
    if name is not None:
        if not name.strip():
            raise Invalid("a campaign needs a name", code="empty_name", details={"field": "name"})
        campaign.name = name.strip()
    if allow_reentry is not None:
        campaign.allow_reentry = allow_reentry
    session.flush()
    return campaign


def summary(session: Session, campaign: Campaign) -> dict[str, Any]:
    """What the campaign list shows."""
    version = live_version(session, campaign)
    publisher = session.get(User, version.published_by_id) if version and version.published_by_id else None
    active = active_contacts(session, campaign.id) if version else 0
    return {
        "id": campaign.id, "name": campaign.name, "status": campaign.status,
        "live_version": version.number if version else None,
        "has_unpublished_changes": version is None and bool(campaign.draft.get("nodes"))
        or (version is not None and campaign.draft != version.graph),
        "contacts_active": active,
        "published_at": version.published_at.isoformat() if version else None,
        "published_by": publisher.name if publisher else None,
        "draft_updated_at": campaign.draft_updated_at.isoformat(),
        "allow_reentry": campaign.allow_reentry,
    }


def list_campaigns(session: Session, actor: Actor, include_archived: bool = False) -> list[dict[str, Any]]:
    """Every campaign; reps get names and status only."""
    query = select(Campaign).order_by(Campaign.id)
    if not include_archived:
        query = query.where(Campaign.status != "archived")
    rows = list(session.scalars(query))
    if actor.role == "rep":
        return [{"id": c.id, "name": c.name, "status": c.status} for c in rows]
    return [summary(session, c) for c in rows]


def campaign_json(session: Session, campaign: Campaign) -> dict[str, Any]:
    """The full campaign: summary, draft and published version number."""
    return {**summary(session, campaign), "draft": campaign.draft,
            "published_version": summary(session, campaign)["live_version"]}


def check_graph(session: Session, graph: CampaignGraph) -> ValidationResult:
    """Validate a graph against the current CRM."""
    return validate(graph, DbRefs(session))


def save_draft(session: Session, actor: Actor, campaign_id: int, data: object) -> ValidationResult:
    """Store a structurally sound draft (even if incomplete) and return its validation."""
    campaign = get_campaign(session, actor, campaign_id, for_edit=True)
    graph = parse_or_400(data)
    campaign.draft = graph_to_json(graph)
    campaign.draft_updated_at = clock.now()
    campaign.draft_updated_by_id = actor.user_id
    session.flush()
    return check_graph(session, graph)


def validate_campaign(session: Session, actor: Actor, campaign_id: int) -> ValidationResult:
    """Validate the stored draft."""
    campaign = get_campaign(session, actor, campaign_id)
    return check_graph(session, parse_or_400(campaign.draft))


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
    _audit(session, actor, "campaign.rolled_back" if rolled_back_from else "campaign.published", campaign,
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
        _audit(session, actor, "campaign.paused" if paused else "campaign.resumed", campaign)
        events.notice(session, CampaignStatusChanged(campaign_id=campaign.id, status=wanted))
        if not paused:
            wake_after_commit(session)
    session.flush()
    return campaign


def delete_campaign(session: Session, actor: Actor, campaign_id: int) -> str:
    """Delete a never-published draft; archive a published one (its runs stop). Returns what happened."""
    campaign = get_campaign(session, actor, campaign_id)
    if campaign.live_version_id is None:
        session.delete(campaign)
        session.flush()
        return "deleted"
    if campaign.status != "archived":
        stopped = stop_campaign_runs(session, campaign.id, "campaign archived")
        campaign.status = "archived"
        _audit(session, actor, "campaign.archived", campaign, runs_stopped=stopped)
        session.flush()
    return "archived"


def duplicate_campaign(session: Session, actor: Actor, campaign_id: int) -> Campaign:
    """A new draft with a copy of the campaign's draft."""
    source = get_campaign(session, actor, campaign_id)
    return create_campaign(session, actor, f"{source.name} (copy)", dict(source.draft))


def export_campaign(session: Session, actor: Actor, campaign_id: int) -> dict[str, Any]:
    """The draft graph with a format version, for download."""
    campaign = get_campaign(session, actor, campaign_id)
    return {"format": EXPORT_FORMAT, "format_version": EXPORT_VERSION, "name": campaign.name,
            "allow_reentry": campaign.allow_reentry, "graph": campaign.draft}


def missing_references(session: Session, graph: CampaignGraph) -> list[dict[str, Any]]:
    """Pipelines, stages, users and tags a graph names that this CRM lacks."""
    result = check_graph(session, graph)
    codes = {"unknown_pipeline", "unknown_stage", "unknown_user", "unknown_tag"}
    return [i.to_json() for i in result.errors if i.code in codes]


def import_campaign(session: Session, actor: Actor, data: object) -> tuple[Campaign, list[dict[str, Any]]]:
    """Create a draft from an export; returns it with the references this CRM lacks."""
    require_role(actor, *EDITORS)
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise DomainError(f"not a {EXPORT_FORMAT} export", code="bad_import_format")
    if data.get("format_version") != EXPORT_VERSION:
        raise DomainError(f"unsupported format_version {data.get('format_version')!r}", code="bad_import_format")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DomainError("the export has no name", code="bad_import_format")
    graph = parse_or_400(data.get("graph"))
    campaign = create_campaign(session, actor, name, graph_to_json(graph))
    campaign.allow_reentry = bool(data.get("allow_reentry", False))
    session.flush()
    return campaign, missing_references(session, graph)


def stats(session: Session, actor: Actor, campaign_id: int) -> dict[str, Any]:
    """Live counts per node."""
    campaign = get_campaign(session, actor, campaign_id)
    return {"campaign_id": campaign.id, "nodes": stats_service.campaign_stats(session, campaign.id)}


def active_contacts(session: Session, campaign_id: int) -> int:
    """Contacts with an active or paused run in the campaign."""
    return session.scalar(select(func.count(func.distinct(SequenceRun.contact_id))).where(
        SequenceRun.campaign_id == campaign_id, SequenceRun.status.in_(OPEN))) or 0


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


def stop_campaign_runs(session: Session, campaign_id: int, reason: str) -> int:
    """Stop every open run of a campaign (archiving)."""
    stopped = transition_where(session, "stopped", clock.now(), SequenceRun.campaign_id == campaign_id,
                               reason=reason, only_from=OPEN)
    session.flush()
    return stopped
