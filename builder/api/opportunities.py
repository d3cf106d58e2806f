"""Opportunity records: create, list, read, patch (stage moves), checklist, notes, shares."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session

from builder.api.base import route
from builder.db import commit
from builder.db import get_session
from builder.schemas.opportunities import ChecklistBody
from builder.schemas.opportunities import ChecklistOut
from builder.schemas.opportunities import HistoryOut
from builder.schemas.opportunities import NoteBody
from builder.schemas.opportunities import NoteOut
from builder.schemas.opportunities import OpportunityCreate
from builder.schemas.opportunities import OpportunityOut
from builder.schemas.opportunities import OpportunityPatch
from builder.schemas.opportunities import OpportunityQuery
from builder.schemas.opportunities import OpportunityRecordOut
from builder.schemas.opportunities import ShareBody
from builder.schemas.opportunities import ShareOut
from models import Note
from models import Opportunity
from models import Stage
from models import StageMove
from models import User
from models import clock
from models import opportunities as opp_service
from models import tasks as task_service
from models.access import Actor
from models.pipelines import is_overdue
from runtime import sequence_history

bp = Blueprint("api_opportunities", __name__, url_prefix="/api/v1")


def opportunity_out(opp: Opportunity) -> OpportunityOut:
    """An opportunity's card (the board's data): its row with names, days in stage and overdue."""
    now = clock.now()
    return OpportunityOut(
        id=opp.id, title=opp.title, contact_id=opp.contact_id, contact_name=opp.contact.name,
        owner_id=opp.owner_id, owner_name=opp.owner.name if opp.owner else None,
        pipeline_id=opp.pipeline_id, stage_id=opp.stage_id, stage_name=opp.stage.name, value=opp.value or 0,
        next_action_date=opp.next_action_date, next_action_note=opp.next_action_note,
        custom_fields=opp.custom_fields, stage_entered_at=opp.stage_entered_at,
        days_in_stage=round((now - opp.stage_entered_at).total_seconds() / 86400, 1),
        overdue=is_overdue(opp, opp.stage, now), created_source=opp.created_source,
        created_at=opp.created_at, updated_at=opp.updated_at, outcome=opp.outcome, closed_at=opp.closed_at,
        expected_close_date=opp.expected_close_date, close_reason=opp.close_reason, close_note=opp.close_note,
    )


def _history(session: Session, moves: list[StageMove]) -> list[HistoryOut]:
    """Stage moves with the names of their stages, mover and owner."""
    names: dict[tuple[str, int], str] = {}

    def name(model: Any, ident: int | None) -> str | None:
        if ident is None:
            return None
        key = (model.__name__, ident)
        if key not in names:
            row = session.get(model, ident)
            names[key] = row.name if row is not None else f"#{ident}"
        return names[key]

    return [HistoryOut.model_validate({
        **{k: getattr(m, k) for k in ("id", "from_stage_id", "to_stage_id", "moved_at", "moved_by_id",
                                      "owner_id", "days_in_previous_stage", "source", "kind", "reason", "note")},
        "from_stage_name": name(Stage, m.from_stage_id), "to_stage_name": name(Stage, m.to_stage_id),
        "moved_by_name": name(User, m.moved_by_id), "owner_name": name(User, m.owner_id),
    }) for m in moves]


@route(bp, "/opportunities", query=OpportunityQuery, response=list[OpportunityOut])
def list_opportunities(actor: Actor, query: OpportunityQuery) -> Any:
    """Opportunities the caller may see, filtered."""
    params = query.model_dump()
    outcome = params.pop("outcome")
    rows = opp_service.list_opportunities(get_session(), actor, outcomes=tuple(outcome.split(",")) if outcome else None,
                                          **params)
    return [opportunity_out(o) for o in rows]


@route(bp, "/opportunities", ("POST",), body=OpportunityCreate, response=OpportunityOut, status=201)
def create_opportunity(actor: Actor, body: OpportunityCreate) -> Any:
    """Create an opportunity by hand (no stage goal fires)."""
    opp = opp_service.create_opportunity(get_session(), actor, **body.model_dump())
    commit()
    return opportunity_out(opp)


def _record(session: Session, actor: Actor, opp: Opportunity) -> dict[str, Any]:
    """The whole record: the card, and the rows of each of its tabs."""
    notes = session.scalars(select(Note).where(Note.opportunity_id == opp.id).order_by(Note.id.desc()))
    return {
        **dict(opportunity_out(opp)),
        "contact": opp.contact,
        "checklist": opp_service.checklist(session, opp),
        "history": _history(session, opp_service.history(session, actor, opp.id)),
        "tasks": task_service.list_tasks(session, actor, opportunity_id=opp.id),
        "notes": list(notes),
        "sequences": sequence_history.contact_sequences(session, opp.contact_id),
        "products": opp.products,
        "shares": opp.shares,
    }


@route(bp, "/opportunities/<int:opportunity_id>", response=OpportunityRecordOut)
def get_opportunity(actor: Actor, opportunity_id: int) -> Any:
    """The whole record: stage, checklist, history, tasks, notes, sequences, products, shares."""
    session = get_session()
    return _record(session, actor, opp_service.get_opportunity(session, actor, opportunity_id))


@route(bp, "/opportunities/<int:opportunity_id>", ("PATCH",), body=OpportunityPatch, response=OpportunityOut)
def update_opportunity(actor: Actor, opportunity_id: int, body: OpportunityPatch) -> Any:
    """Change fields; a new stage_id is a stage move (409 checklist_incomplete when blocked)."""
    changes = body.model_dump(exclude_unset=True)
    opp = opp_service.update_opportunity(get_session(), actor, opportunity_id, changes)
    commit()
    return opportunity_out(opp)


@route(bp, "/opportunities/<int:opportunity_id>/checklist/<int:item_id>", ("PUT",), body=ChecklistBody,
       response=ChecklistOut)
def set_checklist_item(actor: Actor, opportunity_id: int, item_id: int, body: ChecklistBody) -> Any:
    """Tick or untick a checklist item."""
    session = get_session()
    opp_service.set_checklist_item(session, actor, opportunity_id, item_id, body.done)
    commit()
    return {"checklist": opp_service.checklist(session, opp_service.get_opportunity(session, actor, opportunity_id))}


@route(bp, "/opportunities/<int:opportunity_id>/history", response=list[HistoryOut])
def history(actor: Actor, opportunity_id: int) -> Any:
    """The sales history: every stage move."""
    session = get_session()
    return _history(session, opp_service.history(session, actor, opportunity_id))


@route(bp, "/opportunities/<int:opportunity_id>/notes", ("POST",), body=NoteBody, response=NoteOut, status=201)
def add_note(actor: Actor, opportunity_id: int, body: NoteBody) -> Any:
    """Add a note."""
    note = opp_service.add_note(get_session(), actor, opportunity_id, body.body)
    commit()
    return note


@route(bp, "/opportunities/<int:opportunity_id>/shares", ("POST",), body=ShareBody, response=ShareOut, status=201)
def share(actor: Actor, opportunity_id: int, body: ShareBody) -> Any:
    """Share with a user or team."""
    row = opp_service.share(get_session(), actor, opportunity_id, user_id=body.user_id, team_id=body.team_id)
    commit()
    return row


@route(bp, "/opportunities/<int:opportunity_id>/shares/<int:share_id>", ("DELETE",), status=204)
def unshare(actor: Actor, opportunity_id: int, share_id: int) -> None:
    """Revoke a share."""
    opp_service.unshare(get_session(), actor, opportunity_id, share_id)
    commit()
