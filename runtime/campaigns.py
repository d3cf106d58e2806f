"""Campaigns: drafts, validation, archive/delete, duplicate, import/export, stats.

Invariants:
- a malformed draft is refused before anything is written; a structurally
  sound but incomplete draft is kept, with its errors returned;
- marketers and admins edit and publish; reps may only list names.

Publishing (immutable versions, rollback, pause) is in `runtime.publishing`;
references to CRM rows in `runtime.references`.
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
from models import SequenceRun
from models import User
from models import clock
from models.access import Actor
from models.access import require_role
from models.errors import Conflict
from models.errors import DomainError
from models.errors import Invalid
from models.errors import NotFound
from runtime import stats as stats_service
from runtime.email_stats import email_step_stats
from runtime.execution.runs import OPEN
from runtime.execution.runs import transition_where
from runtime.graphs.diff import diff_graphs
from runtime.graphs.graph import CampaignGraph
from runtime.graphs.graph import MalformedGraph
from runtime.graphs.graph import graph_to_json
from runtime.graphs.graph import parse_graph
from runtime.graphs.validation import ValidationResult
from runtime.graphs.validation import validate
from runtime.references import DbRefs
from runtime.references import missing_references

MAX_GRAPH_BYTES = 2 * 1024 * 1024
EXPORT_FORMAT = "stagecraft.campaign"
EXPORT_VERSION = 1
EDITORS = ("marketer",)  # admins always pass require_role


def empty_graph() -> dict[str, Any]:
    """A new campaign's draft."""
    return {"nodes": [], "edges": []}


def audit_campaign(session: Session, actor: Actor, action: str, campaign: Campaign, **details: Any) -> None:
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


def unpublished_changes(campaign: Campaign, version: CampaignVersion | None) -> bool:
    """Whether publishing the draft would change what contacts go through (moving nodes around does not)."""
    if version is None:
        return bool(campaign.draft.get("nodes"))
    if campaign.draft == version.graph:
        return False
    try:
        return not diff_graphs(parse_graph(version.graph), parse_graph(campaign.draft)).empty
    except MalformedGraph:
        return True


def summary(session: Session, campaign: Campaign) -> dict[str, Any]:
    """What the campaign list shows."""
    version = live_version(session, campaign)
    publisher = session.get(User, version.published_by_id) if version and version.published_by_id else None
    active = active_contacts(session, campaign.id) if version else 0
    return {
        "id": campaign.id, "name": campaign.name, "status": campaign.status,
        "live_version": version.number if version else None,
        "has_unpublished_changes": unpublished_changes(campaign, version),
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
    info = summary(session, campaign)
    return {**info, "draft": campaign.draft, "published_version": info["live_version"]}


def check_graph(session: Session, graph: CampaignGraph) -> ValidationResult:
    """Validate a graph against the current CRM."""
    return validate(graph, DbRefs(session))


def save_draft(session: Session, actor: Actor, campaign_id: int, data: object) -> ValidationResult:
    """Store a structurally sound draft (even if incomplete) and return its validation."""
    return save_draft_with_state(session, actor, campaign_id, data)[0]


def save_draft_with_state(session: Session, actor: Actor, campaign_id: int,
                          data: object) -> tuple[ValidationResult, bool]:
    """`save_draft`, and whether the saved draft now differs in behaviour from the live version."""
    campaign = get_campaign(session, actor, campaign_id, for_edit=True)
    graph = parse_or_400(data)
    campaign.draft = graph_to_json(graph)
    campaign.draft_updated_at = clock.now()
    campaign.draft_updated_by_id = actor.user_id
    session.flush()
    return check_graph(session, graph), unpublished_changes(campaign, live_version(session, campaign))


def validate_campaign(session: Session, actor: Actor, campaign_id: int) -> ValidationResult:
    """Validate the stored draft."""
    campaign = get_campaign(session, actor, campaign_id)
    return check_graph(session, parse_or_400(campaign.draft))


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
        audit_campaign(session, actor, "campaign.archived", campaign, runs_stopped=stopped)
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
    """Live counts per node, and per path of each decision and split."""
    campaign = get_campaign(session, actor, campaign_id)
    nodes, branches = stats_service.campaign_branch_stats(session, campaign.id)
    return {"campaign_id": campaign.id, "nodes": nodes, "branches": branches,
            "emails": email_step_stats(session, campaign.id)}


def active_contacts(session: Session, campaign_id: int) -> int:
    """Contacts with an active or paused run in the campaign."""
    return session.scalar(select(func.count(func.distinct(SequenceRun.contact_id))).where(
        SequenceRun.campaign_id == campaign_id, SequenceRun.status.in_(OPEN))) or 0


def stop_campaign_runs(session: Session, campaign_id: int, reason: str) -> int:
    """Stop every open run of a campaign (archiving)."""
    stopped = transition_where(session, "stopped", clock.now(), SequenceRun.campaign_id == campaign_id,
                               reason=reason, only_from=OPEN)
    session.flush()
    return stopped
