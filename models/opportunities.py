"""Opportunity records and the stage-move rules (the heart of the CRM side).

Invariants:
- a move out of a stage with an unchecked required checklist item is refused
  before anything changes;
- moving to the current stage is not a move; moving across pipelines is refused;
- every creation and move writes one history row and one domain event in the
  caller's transaction;
- a move into the pipeline's final stage wins the deal (`opportunity_closed`
  after `stage_moved`); a won or lost deal does not move until it is reopened
  (models/outcomes.py).
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import selectinload

from models import AuditEntry
from models import ChecklistItem
from models import ChecklistState
from models import Contact
from models import Note
from models import Opportunity
from models import OpportunityProduct
from models import OpportunityShare
from models import Stage
from models import StageMove
from models import Team
from models import User
from models import clock
from models import events
from models.access import Actor
from models.access import check_read_opportunity
from models.access import check_write_opportunity
from models.access import require_role
from models.access import visible_opportunities
from models.errors import Conflict
from models.errors import Forbidden
from models.errors import Invalid
from models.errors import NotFound
from models.pipelines import final_stage_id
from models.pipelines import is_overdue

EDITABLE = {"title", "value", "next_action_date", "next_action_note", "custom_fields", "owner_id", "stage_id",
            "expected_close_date"}


def _load(session: Session, opportunity_id: int) -> Opportunity | None:
    # Shares and products load lazily: a stage save by the owner needs neither,
    # and it is the hot path from a rep's drag to the first campaign step.
    return session.get(Opportunity, opportunity_id)


def get_opportunity(session: Session, actor: Actor, opportunity_id: int) -> Opportunity:
    """An opportunity the actor may see, or NotFound."""
    return check_read_opportunity(session, actor, _load(session, opportunity_id))


def _announce_change(session: Session, opp: Opportunity, change: str) -> None:
    events.notice(session, events.OpportunityChanged(
        opportunity_id=opp.id, pipeline_id=opp.pipeline_id, stage_id=opp.stage_id, change=change))


def create_opportunity(
    session: Session,
    actor: Actor,
    *,
    title: str,
    contact_id: int,
    pipeline_id: int,
    stage_id: int,
    owner_id: int | None = None,
    value: float | None = None,
    next_action_date: date | None = None,
    next_action_note: str = "",
    custom_fields: dict[str, Any] | None = None,
    products: list[dict[str, Any]] | None = None,
    source: str = "user",
    campaign_id: int | None = None,
    expected_close_date: date | None = None,
) -> Opportunity:
    """Create an opportunity in a stage; history says "created in" with its source.

    A hand-made opportunity emits `opportunity_created` with source "user",
    which does not satisfy a "moved into" goal; a campaign-made one does.
    Created in the pipeline's final stage, it is won from the start (entered
    after the fact); like a hand-made creation in a stage, that records no
    `opportunity_closed` event.
    """
    if actor.role == "marketer":
        require_role(actor, "admin", "rep")
    if session.get(Contact, contact_id) is None:
        raise Invalid("no such contact", code="unknown_contact", details={"field": "contact_id"})
    stage = session.get(Stage, stage_id)
    if stage is None:
        raise Invalid("no such stage", code="unknown_stage", details={"field": "stage_id"})
    if stage.pipeline_id != pipeline_id:
        raise Invalid("the stage is not in that pipeline", code="stage_not_in_pipeline", details={"field": "stage_id"})
    if owner_id is None and actor.role == "rep":
        owner_id = actor.user_id
    if owner_id is not None and session.get(User, owner_id) is None:
        raise Invalid("no such owner", code="unknown_user", details={"field": "owner_id"})
    if value is not None and value < 0:
        raise Invalid("value cannot be negative", code="invalid_value", details={"field": "value"})
    now = clock.now()
    won = final_stage_id(session, pipeline_id) == stage_id
    opp = Opportunity(
        title=title, contact_id=contact_id, pipeline_id=pipeline_id, stage_id=stage_id,
        owner_id=owner_id, value=value or 0, next_action_date=next_action_date,
        next_action_note=next_action_note, custom_fields=custom_fields or {},
        stage_entered_at=now, created_at=now, updated_at=now, created_by_id=actor.user_id,
        created_source=source, expected_close_date=expected_close_date,
        outcome="won" if won else "open", closed_at=now if won else None,
        products=[OpportunityProduct(**p) for p in products or []],
    )
    session.add(opp)
    session.flush()
    session.add(StageMove(
        opportunity_id=opp.id, from_stage_id=None, to_stage_id=stage_id, moved_at=now,
        moved_by_id=actor.user_id, owner_id=owner_id, days_in_previous_stage=None, source=source,
        campaign_id=campaign_id, kind="created",
    ))
    events.record(session, events.OpportunityCreated(
        contact_id=contact_id, opportunity_id=opp.id, pipeline_id=pipeline_id, stage_id=stage_id,
        source=source, actor_id=actor.user_id,
    ))
    _announce_change(session, opp, "created")
    return opp


def unchecked_required(session: Session, opp: Opportunity) -> list[ChecklistItem]:
    """Required checklist items of the opportunity's current stage not yet ticked."""
    ticked = select(ChecklistState.item_id).where(
        ChecklistState.opportunity_id == opp.id, ChecklistState.done.is_(True))
    return list(session.scalars(
        select(ChecklistItem).where(
            ChecklistItem.stage_id == opp.stage_id, ChecklistItem.required.is_(True),
            ChecklistItem.id.not_in(ticked))
        .order_by(ChecklistItem.position)
    ))


def move_stage(
    session: Session,
    actor: Actor,
    opp: Opportunity,
    to_stage_id: int,
    *,
    source: str = "user",
    campaign_id: int | None = None,
    reason: str = "",
    note: str = "",
) -> StageMove | None:
    """Move an opportunity to another stage of its pipeline; None when it is already there.

    A move into the pipeline's final stage wins the deal (`reason` and `note`
    are kept with the win). A won or lost deal is refused (`409
    opportunity_closed`): reopen it first.
    """
    if to_stage_id == opp.stage_id:
        return None
    if opp.outcome != "open":
        raise Conflict(f"this deal is {opp.outcome}; reopen it before moving it to another stage",
                       code="opportunity_closed", details={"outcome": opp.outcome})
    target = session.get(Stage, to_stage_id)
    if target is None:
        raise Invalid("no such stage", code="unknown_stage", details={"field": "stage_id"})
    if target.pipeline_id != opp.pipeline_id:
        raise Invalid("an opportunity cannot move to another pipeline's stage", code="cross_pipeline_move",
                      details={"field": "stage_id"})
    blocking = unchecked_required(session, opp)
    if blocking:
        raise Conflict(
            "required checklist items are not checked: " + "; ".join(i.text for i in blocking),
            code="checklist_incomplete",
            details={"items": [{"id": i.id, "text": i.text} for i in blocking]},
        )
    now = clock.now()
    from_stage_id = opp.stage_id
    days = (now - opp.stage_entered_at).total_seconds() / 86400
    won = final_stage_id(session, opp.pipeline_id) == to_stage_id
    move = StageMove(
        opportunity_id=opp.id, from_stage_id=from_stage_id, to_stage_id=to_stage_id, moved_at=now,
        moved_by_id=actor.user_id, owner_id=opp.owner_id, days_in_previous_stage=round(days, 2),
        source=source, campaign_id=campaign_id, kind="won" if won else "move",
        reason=(reason or None) if won else None, note=(note or None) if won else None,
    )
    opp.stage_id = to_stage_id
    opp.stage_entered_at = now
    opp.updated_at = now
    if won:
        opp.outcome, opp.closed_at, opp.close_reason, opp.close_note = "won", now, reason, note
    session.add(move)
    session.flush()
    events.record(session, events.StageMoved(
        contact_id=opp.contact_id, opportunity_id=opp.id, pipeline_id=opp.pipeline_id,
        from_stage_id=from_stage_id, to_stage_id=to_stage_id, source=source, actor_id=actor.user_id,
    ))
    if won:
        record_closed(session, opp, source=source, actor_id=actor.user_id)
    _announce_change(session, opp, "won" if won else "stage_moved")
    return move


def record_closed(session: Session, opp: Opportunity, *, source: str, actor_id: int | None) -> None:
    """Record the `opportunity_closed` event of a win or a loss (goals may match it)."""
    events.record(session, events.OpportunityClosed(
        contact_id=opp.contact_id, opportunity_id=opp.id, pipeline_id=opp.pipeline_id, stage_id=opp.stage_id,
        outcome=opp.outcome, reason=opp.close_reason, value=float(opp.value or 0), source=source,
        actor_id=actor_id,
    ))


def update_opportunity(session: Session, actor: Actor, opportunity_id: int, changes: dict[str, Any]) -> Opportunity:
    """Patch fields; a new stage_id is a stage move (checked before anything is written)."""
    opp = check_write_opportunity(session, actor, _load(session, opportunity_id))
    unknown = set(changes) - EDITABLE - {"products"}
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}", code="unknown_field")
    if "owner_id" in changes:
        if changes["owner_id"] is not None and session.get(User, changes["owner_id"]) is None:
            raise Invalid("no such owner", code="unknown_user", details={"field": "owner_id"})
        # Clearing the owner (null) is a reassignment too: a rep the deal is only shared with may not.
        if actor.role == "rep" and changes["owner_id"] != opp.owner_id and opp.owner_id != actor.user_id:
            raise Forbidden("only the owner or an admin can reassign")
    if changes.get("value") is not None and changes["value"] < 0:
        raise Invalid("value cannot be negative", code="invalid_value", details={"field": "value"})
    if "stage_id" in changes:
        move_stage(session, actor, opp, changes.pop("stage_id"))
    if "products" in changes:
        opp.products = [OpportunityProduct(**p) for p in changes.pop("products")]
    if "custom_fields" in changes:
        changes["custom_fields"] = {**opp.custom_fields, **changes["custom_fields"]}
    for key, value in changes.items():
        setattr(opp, key, value)
    opp.updated_at = clock.now()
    session.flush()
    _announce_change(session, opp, "updated")
    return opp


def list_opportunities(
    session: Session,
    actor: Actor,
    *,
    pipeline_id: int | None = None,
    stage_id: int | None = None,
    owner_id: int | None = None,
    contact_id: int | None = None,
    overdue: bool | None = None,
    outcomes: tuple[str, ...] | None = None,
    q: str = "",
    limit: int = 500,
    offset: int = 0,
) -> list[Opportunity]:
    """Opportunities the actor may see, filtered (`outcomes`: only deals with one of these outcomes)."""
    query = visible_opportunities(actor, select(Opportunity)).options(
        selectinload(Opportunity.contact), selectinload(Opportunity.owner), selectinload(Opportunity.stage)
    ).order_by(Opportunity.id)
    for column, wanted in ((Opportunity.pipeline_id, pipeline_id), (Opportunity.stage_id, stage_id),
                           (Opportunity.owner_id, owner_id), (Opportunity.contact_id, contact_id)):
        if wanted is not None:
            query = query.where(column == wanted)
    if outcomes:
        query = query.where(Opportunity.outcome.in_(outcomes))
    if q:
        query = query.join(Contact).where(
            (Opportunity.title.ilike(f"%{q}%")) | (Contact.first_name.ilike(f"%{q}%"))
            | (Contact.last_name.ilike(f"%{q}%")) | (Contact.email.ilike(f"%{q}%"))
        )
    rows = list(session.scalars(query))
    if overdue is not None:
        now = clock.now()
        rows = [o for o in rows if is_overdue(o, o.stage, now) == overdue]
    return rows[offset: offset + limit]


def set_checklist_item(session: Session, actor: Actor, opportunity_id: int, item_id: int, done: bool) -> ChecklistState:
    """Tick or untick a checklist item of the opportunity's pipeline."""
    opp = check_write_opportunity(session, actor, _load(session, opportunity_id))
    item = session.get(ChecklistItem, item_id)
    if item is None or item.stage.pipeline_id != opp.pipeline_id:
        raise NotFound("no such checklist item on this opportunity's pipeline")
    state = session.scalar(select(ChecklistState).where(
        ChecklistState.opportunity_id == opp.id, ChecklistState.item_id == item_id))
    if state is None:
        state = ChecklistState(opportunity_id=opp.id, item_id=item_id)
        session.add(state)
    state.done = done
    state.done_by_id = actor.user_id if done else None
    state.done_at = clock.now() if done else None
    session.flush()
    _announce_change(session, opp, "checklist")
    return state


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def checklist(session: Session, opp: Opportunity) -> list[dict[str, Any]]:
    """The current stage's checklist with each item's state."""
    states = session.scalars(select(ChecklistState).where(ChecklistState.opportunity_id == opp.id))
    done = {s.item_id: s for s in states}
    items = session.scalars(
        select(ChecklistItem).where(ChecklistItem.stage_id == opp.stage_id).order_by(ChecklistItem.position))
    return [
        {"id": i.id, "text": i.text, "required": i.required,
         "done": bool(done.get(i.id) and done[i.id].done),
         "done_at": _iso(done[i.id].done_at) if i.id in done else None}
        for i in items
    ]


def history(session: Session, actor: Actor, opportunity_id: int) -> list[StageMove]:
    """Every stage move of an opportunity, oldest first."""
    opp = get_opportunity(session, actor, opportunity_id)
    return list(session.scalars(select(StageMove).where(StageMove.opportunity_id == opp.id).order_by(StageMove.id)))


def add_note(session: Session, actor: Actor, opportunity_id: int, body: str, *, source: str = "user") -> Note:
    """Record an outcome on an opportunity (and its contact)."""
    opp = check_write_opportunity(session, actor, _load(session, opportunity_id))
    if not body.strip():
        raise Invalid("a note needs some text", code="empty_note", details={"field": "body"})
    note = Note(**note_row(body, opp.contact_id, opp.id, actor.user_id, source))
    session.add(note)
    session.flush()
    _announce_change(session, opp, "note")
    return note


def note_row(
    body: str, contact_id: int | None, opportunity_id: int | None, author_id: int | None, source: str
) -> dict[str, Any]:
    """The columns of a new note (the runtime's write buffer inserts the same rows in bulk)."""
    return {"body": body, "contact_id": contact_id, "opportunity_id": opportunity_id, "author_id": author_id,
            "source": source, "created_at": clock.now()}


def announce_notes(session: Session, opportunity_ids: set[int]) -> None:
    """After commit, tell boards and records that notes were added to these opportunities."""
    rows = session.execute(
        select(Opportunity.id, Opportunity.pipeline_id, Opportunity.stage_id)
        .where(Opportunity.id.in_(sorted(opportunity_ids)))
    )
    for opp_id, pipeline_id, stage_id in rows:
        events.notice(session, events.OpportunityChanged(
            opportunity_id=opp_id, pipeline_id=pipeline_id, stage_id=stage_id, change="note"))


def share(session: Session, actor: Actor, opportunity_id: int, *, user_id: int | None = None,
          team_id: int | None = None) -> OpportunityShare:
    """Share an opportunity with a user or a team (its owner or an admin)."""
    opp = check_write_opportunity(session, actor, _load(session, opportunity_id))
    if not actor.is_admin and opp.owner_id != actor.user_id:
        raise Forbidden("only the owner or an admin can share")
    if (user_id is None) == (team_id is None):
        raise Invalid("give exactly one of user_id and team_id", code="one_grantee")
    if user_id is not None and session.get(User, user_id) is None:
        raise Invalid("no such user", code="unknown_user", details={"field": "user_id"})
    if team_id is not None and session.get(Team, team_id) is None:
        raise Invalid("no such team", code="unknown_team", details={"field": "team_id"})
    for existing in opp.shares:
        if existing.user_id == user_id and existing.team_id == team_id:
            return existing
    row = OpportunityShare(opportunity_id=opp.id, user_id=user_id, team_id=team_id, shared_by_id=actor.user_id)
    opp.shares.append(row)
    session.add(AuditEntry(actor_id=actor.user_id, action="opportunity.shared", target_type="opportunity",
                           target_id=opp.id, details={"user_id": user_id, "team_id": team_id}))
    session.flush()
    return row


def unshare(session: Session, actor: Actor, opportunity_id: int, share_id: int) -> None:
    """Revoke a share (owner or admin)."""
    opp = check_write_opportunity(session, actor, _load(session, opportunity_id))
    if not actor.is_admin and opp.owner_id != actor.user_id:
        raise Forbidden("only the owner or an admin can revoke a share")
    row = next((s for s in opp.shares if s.id == share_id), None)
    if row is None:
        raise NotFound("no such share")
    opp.shares.remove(row)
    session.add(AuditEntry(actor_id=actor.user_id, action="opportunity.unshared", target_type="opportunity",
                           target_id=opp.id, details={"user_id": row.user_id, "team_id": row.team_id}))
    session.flush()
