"""Campaigns: drafts, validation, publish with diff, versions, rollback, pause, import/export, stats."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from builder.api.base import route
from builder.db import commit
from builder.db import get_session
from builder.schemas.campaigns import CampaignCreate
from builder.schemas.campaigns import CampaignDeletedOut
from builder.schemas.campaigns import CampaignExportOut
from builder.schemas.campaigns import CampaignImportOut
from builder.schemas.campaigns import CampaignListItem
from builder.schemas.campaigns import CampaignOut
from builder.schemas.campaigns import CampaignPatch
from builder.schemas.campaigns import CampaignStatsOut
from builder.schemas.campaigns import CampaignSummaryOut
from builder.schemas.campaigns import DraftBody
from builder.schemas.campaigns import ImportBody
from builder.schemas.campaigns import LayoutOut
from builder.schemas.campaigns import ListQuery
from builder.schemas.campaigns import PublishQuery
from builder.schemas.publishing import DraftSavedOut
from builder.schemas.publishing import PublishOut
from builder.schemas.publishing import PublishPreviewOut
from builder.schemas.publishing import ValidationOut
from builder.schemas.publishing import VersionDetailOut
from builder.schemas.publishing import VersionOut
from models.access import Actor
from runtime import campaigns as campaign_service
from runtime import publishing
from runtime.graphs.graph import graph_to_json
from runtime.graphs.layout import layout_graph

bp = Blueprint("api_campaigns", __name__, url_prefix="/api/v1")


@route(bp, "/campaigns", query=ListQuery, response=list[CampaignListItem])
def list_campaigns(actor: Actor, query: ListQuery) -> Any:
    """Campaigns with status, live version and active contacts (reps: names only)."""
    return campaign_service.list_campaigns(get_session(), actor, query.include_archived)


@route(bp, "/campaigns", ("POST",), body=CampaignCreate, response=CampaignOut, status=201)
def create_campaign(actor: Actor, body: CampaignCreate) -> Any:
    """Create a draft campaign."""
    session = get_session()
    campaign = campaign_service.create_campaign(session, actor, body.name, body.graph)
    commit()
    return campaign_service.campaign_json(session, campaign)


@route(bp, "/campaigns/<int:campaign_id>", response=CampaignOut)
def get_campaign(actor: Actor, campaign_id: int) -> Any:
    """One campaign with its draft graph."""
    session = get_session()
    return campaign_service.campaign_json(session, campaign_service.get_campaign(session, actor, campaign_id))


@route(bp, "/campaigns/<int:campaign_id>", ("PATCH",), body=CampaignPatch, response=CampaignOut)
def update_campaign(actor: Actor, campaign_id: int, body: CampaignPatch) -> Any:
    """Rename or change the re-entry setting."""
    session = get_session()
    campaign = campaign_service.rename_campaign(session, actor, campaign_id, body.name, body.allow_reentry)
    commit()
    return campaign_service.campaign_json(session, campaign)


@route(bp, "/campaigns/<int:campaign_id>", ("DELETE",), response=CampaignDeletedOut)
def delete_campaign(actor: Actor, campaign_id: int) -> Any:
    """Delete a never-published draft, or archive a published campaign."""
    result = campaign_service.delete_campaign(get_session(), actor, campaign_id)
    commit()
    return {"result": result}


@route(bp, "/campaigns/<int:campaign_id>/draft", ("PUT",), body=DraftBody, response=DraftSavedOut)
def save_draft(actor: Actor, campaign_id: int, body: DraftBody) -> Any:
    """Save the draft (kept even when incomplete); 400 for a malformed graph. Says whether it differs from live."""
    result, changed = campaign_service.save_draft_with_state(get_session(), actor, campaign_id, body.graph)
    commit()
    return {**result.to_json(), "has_unpublished_changes": changed}


@route(bp, "/campaigns/<int:campaign_id>/validate", ("POST",), response=ValidationOut)
def validate_campaign(actor: Actor, campaign_id: int) -> Any:
    """Validate the stored draft."""
    return campaign_service.validate_campaign(get_session(), actor, campaign_id).to_json()


@route(bp, "/campaigns/<int:campaign_id>/publish", ("POST",), query=PublishQuery,
       response=PublishOut | PublishPreviewOut)
def publish(actor: Actor, campaign_id: int, query: PublishQuery) -> Any:
    """Publish the draft as a new version (dry_run=1: only the diff); 422 invalid_graph."""
    result = publishing.publish(get_session(), actor, campaign_id, dry_run=query.dry_run)
    if not query.dry_run:
        commit()
    return result


@route(bp, "/campaigns/<int:campaign_id>/versions", response=list[VersionOut])
def list_versions(actor: Actor, campaign_id: int) -> Any:
    """Published versions, newest first."""
    return publishing.list_versions(get_session(), actor, campaign_id)


@route(bp, "/campaigns/<int:campaign_id>/versions/<int:number>", response=VersionDetailOut)
def get_version(actor: Actor, campaign_id: int, number: int) -> Any:
    """One published version with its graph."""
    return publishing.get_version(get_session(), actor, campaign_id, number)


@route(bp, "/campaigns/<int:campaign_id>/versions/<int:number>/rollback", ("POST",), response=PublishOut)
def rollback(actor: Actor, campaign_id: int, number: int) -> Any:
    """Publish an earlier version's graph as a new version."""
    result = publishing.rollback(get_session(), actor, campaign_id, number)
    commit()
    return result


@route(bp, "/campaigns/<int:campaign_id>/pause", ("POST",), response=CampaignSummaryOut)
def pause(actor: Actor, campaign_id: int) -> Any:
    """Pause: no new enrollments, due runs wait."""
    session = get_session()
    campaign = publishing.set_paused(session, actor, campaign_id, True)
    commit()
    return campaign_service.summary(session, campaign)


@route(bp, "/campaigns/<int:campaign_id>/resume", ("POST",), response=CampaignSummaryOut)
def resume(actor: Actor, campaign_id: int) -> Any:
    """Resume a paused campaign."""
    session = get_session()
    campaign = publishing.set_paused(session, actor, campaign_id, False)
    commit()
    return campaign_service.summary(session, campaign)


@route(bp, "/campaigns/<int:campaign_id>/duplicate", ("POST",), response=CampaignOut, status=201)
def duplicate(actor: Actor, campaign_id: int) -> Any:
    """Copy the campaign's draft into a new draft campaign."""
    session = get_session()
    campaign = campaign_service.duplicate_campaign(session, actor, campaign_id)
    commit()
    return campaign_service.campaign_json(session, campaign)


@route(bp, "/campaigns/<int:campaign_id>/export", response=CampaignExportOut)
def export_campaign(actor: Actor, campaign_id: int) -> Any:
    """The draft graph with a format version."""
    return campaign_service.export_campaign(get_session(), actor, campaign_id)


@route(bp, "/campaigns/import", ("POST",), body=ImportBody, response=CampaignImportOut, status=201)
def import_campaign(actor: Actor, body: ImportBody) -> Any:
    """Create a draft from an export; reports references this CRM lacks."""
    session = get_session()
    campaign, missing = campaign_service.import_campaign(session, actor, body.model_dump())
    commit()
    return {**campaign_service.campaign_json(session, campaign), "missing_references": missing}


@route(bp, "/campaigns/<int:campaign_id>/layout", ("POST",), body=DraftBody, response=LayoutOut)
def layout(actor: Actor, campaign_id: int, body: DraftBody) -> Any:
    """Lay a graph out left to right (not saved)."""
    campaign_service.get_campaign(get_session(), actor, campaign_id)
    return {"graph": graph_to_json(layout_graph(campaign_service.parse_or_400(body.graph)))}


@route(bp, "/campaigns/<int:campaign_id>/stats", response=CampaignStatsOut)
def stats(actor: Actor, campaign_id: int) -> Any:
    """Live counts per node: active, waiting, completed, stopped, satisfied."""
    return campaign_service.stats(get_session(), actor, campaign_id)
