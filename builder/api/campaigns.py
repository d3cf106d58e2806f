"""Campaigns: drafts, validation, publish with diff, versions, rollback, pause, import/export, stats."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import Field

from builder.api.base import Body
from builder.api.base import Query
from builder.api.base import route
from builder.db import commit
from builder.db import get_session
from models.access import Actor
from runtime import campaigns as campaign_service
from runtime import publishing
from runtime.graphs.graph import graph_to_json
from runtime.graphs.layout import layout_graph

bp = Blueprint("api_campaigns", __name__, url_prefix="/api/v1")


class CampaignCreate(Body):
    name: str = Field(min_length=1, max_length=200)
    graph: Any = None


class CampaignPatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    allow_reentry: bool | None = None


class DraftBody(Body):
    graph: Any


class PublishQuery(Query):
    dry_run: bool = False


class ListQuery(Query):
    include_archived: bool = False


class ImportBody(Body):
    format: str
    format_version: int
    name: str
    graph: Any
    allow_reentry: bool = False


def _version_json(version: Any, with_graph: bool = False) -> dict[str, Any]:
    data = {"number": version.number, "published_at": version.published_at.isoformat(),
            "published_by_id": version.published_by_id, "rolled_back_from": version.rolled_back_from}
    if with_graph:
        data["graph"] = version.graph
    return data


@route(bp, "/campaigns", query=ListQuery)
def list_campaigns(actor: Actor, query: ListQuery) -> Any:
    """Campaigns with status, live version and active contacts (reps: names only)."""
    return campaign_service.list_campaigns(get_session(), actor, query.include_archived)


@route(bp, "/campaigns", ("POST",), body=CampaignCreate, status=201)
def create_campaign(actor: Actor, body: CampaignCreate) -> Any:
    """Create a draft campaign."""
    session = get_session()
    campaign = campaign_service.create_campaign(session, actor, body.name, body.graph)
    commit()
    return campaign_service.campaign_json(session, campaign), 201


@route(bp, "/campaigns/<int:campaign_id>")
def get_campaign(actor: Actor, campaign_id: int) -> Any:
    """One campaign with its draft graph."""
    session = get_session()
    return campaign_service.campaign_json(session, campaign_service.get_campaign(session, actor, campaign_id))


@route(bp, "/campaigns/<int:campaign_id>", ("PATCH",), body=CampaignPatch)
def update_campaign(actor: Actor, campaign_id: int, body: CampaignPatch) -> Any:
    """Rename or change the re-entry setting."""
    session = get_session()
    campaign = campaign_service.rename_campaign(session, actor, campaign_id, body.name, body.allow_reentry)
    commit()
    return campaign_service.campaign_json(session, campaign)


@route(bp, "/campaigns/<int:campaign_id>", ("DELETE",))
def delete_campaign(actor: Actor, campaign_id: int) -> Any:
    """Delete a never-published draft, or archive a published campaign."""
    result = campaign_service.delete_campaign(get_session(), actor, campaign_id)
    commit()
    return {"result": result}


@route(bp, "/campaigns/<int:campaign_id>/draft", ("PUT",), body=DraftBody)
def save_draft(actor: Actor, campaign_id: int, body: DraftBody) -> Any:
    """Save the draft (kept even when incomplete); 400 for a malformed graph. Says whether it differs from live."""
    result, changed = campaign_service.save_draft_with_state(get_session(), actor, campaign_id, body.graph)
    commit()
    return {**result.to_json(), "has_unpublished_changes": changed}


@route(bp, "/campaigns/<int:campaign_id>/validate", ("POST",))
def validate_campaign(actor: Actor, campaign_id: int) -> Any:
    """Validate the stored draft."""
    return campaign_service.validate_campaign(get_session(), actor, campaign_id).to_json()


@route(bp, "/campaigns/<int:campaign_id>/publish", ("POST",), query=PublishQuery)
def publish(actor: Actor, campaign_id: int, query: PublishQuery) -> Any:
    """Publish the draft as a new version (dry_run=1: only the diff); 422 invalid_graph."""
    result = publishing.publish(get_session(), actor, campaign_id, dry_run=query.dry_run)
    if not query.dry_run:
        commit()
    return result


@route(bp, "/campaigns/<int:campaign_id>/versions")
def list_versions(actor: Actor, campaign_id: int) -> Any:
    """Published versions, newest first."""
    return [_version_json(v) for v in publishing.list_versions(get_session(), actor, campaign_id)]


@route(bp, "/campaigns/<int:campaign_id>/versions/<int:number>")
def get_version(actor: Actor, campaign_id: int, number: int) -> Any:
    """One published version with its graph."""
    return _version_json(publishing.get_version(get_session(), actor, campaign_id, number), with_graph=True)


@route(bp, "/campaigns/<int:campaign_id>/versions/<int:number>/rollback", ("POST",))
def rollback(actor: Actor, campaign_id: int, number: int) -> Any:
    """Publish an earlier version's graph as a new version."""
    result = publishing.rollback(get_session(), actor, campaign_id, number)
    commit()
    return result


@route(bp, "/campaigns/<int:campaign_id>/pause", ("POST",))
def pause(actor: Actor, campaign_id: int) -> Any:
    """Pause: no new enrollments, due runs wait."""
    session = get_session()
    campaign = publishing.set_paused(session, actor, campaign_id, True)
    commit()
    return campaign_service.summary(session, campaign)


@route(bp, "/campaigns/<int:campaign_id>/resume", ("POST",))
def resume(actor: Actor, campaign_id: int) -> Any:
    """Resume a paused campaign."""
    session = get_session()
    campaign = publishing.set_paused(session, actor, campaign_id, False)
    commit()
    return campaign_service.summary(session, campaign)


@route(bp, "/campaigns/<int:campaign_id>/duplicate", ("POST",), status=201)
def duplicate(actor: Actor, campaign_id: int) -> Any:
    """Copy the campaign's draft into a new draft campaign."""
    session = get_session()
    campaign = campaign_service.duplicate_campaign(session, actor, campaign_id)
    commit()
    return campaign_service.campaign_json(session, campaign), 201


@route(bp, "/campaigns/<int:campaign_id>/export")
def export_campaign(actor: Actor, campaign_id: int) -> Any:
    """The draft graph with a format version."""
    return campaign_service.export_campaign(get_session(), actor, campaign_id)


@route(bp, "/campaigns/import", ("POST",), body=ImportBody, status=201)
def import_campaign(actor: Actor, body: ImportBody) -> Any:
    """Create a draft from an export; reports references this CRM lacks."""
    session = get_session()
    campaign, missing = campaign_service.import_campaign(session, actor, body.model_dump())
    commit()
    return {**campaign_service.campaign_json(session, campaign), "missing_references": missing}, 201


@route(bp, "/campaigns/<int:campaign_id>/layout", ("POST",), body=DraftBody)
def layout(actor: Actor, campaign_id: int, body: DraftBody) -> Any:
    """Lay a graph out left to right (not saved)."""
    campaign_service.get_campaign(get_session(), actor, campaign_id)
    return {"graph": graph_to_json(layout_graph(campaign_service.parse_or_400(body.graph)))}


@route(bp, "/campaigns/<int:campaign_id>/stats")
def stats(actor: Actor, campaign_id: int) -> Any:
    """Live counts per node: active, waiting, completed, stopped, satisfied."""
    return campaign_service.stats(get_session(), actor, campaign_id)
