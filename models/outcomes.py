"""Won and lost: closing an opportunity, and reopening it.

Invariants:
- a win is a stage move into the pipeline's final stage (models.opportunities.move_stage):
  the checklist rule applies and stage goals fire as for any move;
- a loss is allowed from any stage whatever its checklist (the checklist governs moving
  through the workflow, not abandoning it): the deal stays in its stage, the history
  gets a "lost" row with the reason, and an `opportunity_closed` event is recorded;
- reopening puts a deal back in its last open stage (a lost deal's own stage; for a won
  deal, the stage it was won from) with a "reopened" history row; it is not a stage move
  for goals (no `stage_moved` event), and the time spent closed counts in no stage;
- everything is checked before anything is written.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Opportunity
from models import Stage
from models import StageMove
from models import clock
from models import events
from models.access import Actor
from models.access import check_write_opportunity
from models.errors import Conflict
from models.errors import Invalid
from models.opportunities import move_stage
from models.opportunities import record_closed
from models.pipelines import final_stage_id

OUTCOMES = ("won", "lost")
REASON_MAX = 200
NOTE_MAX = 2000


def _announce(session: Session, opp: Opportunity, change: str) -> None:
    events.notice(session, events.OpportunityChanged(
        opportunity_id=opp.id, pipeline_id=opp.pipeline_id, stage_id=opp.stage_id, change=change))


def close_opportunity(
    session: Session,
    actor: Actor,
    opportunity_id: int,
    outcome: str,
    *,
    reason: str = "",
    note: str = "",
    source: str = "user",
) -> Opportunity:
    """Win or lose an open opportunity.

    Args:
        outcome: "won" (a move into the final stage) or "lost" (from any stage).
        reason: why (for a loss, one of the pipeline's lost reasons or the user's own words).
        note: free text kept with the outcome.

    Raises:
        NotFound / Forbidden: the actor may not see / change the opportunity.
        Invalid: an unknown outcome, or a reason or note that is too long.
        Conflict: ``already_closed`` when the deal is won or lost; for a win,
            ``checklist_incomplete`` while required items of its stage are unchecked.
    """
    opp = check_write_opportunity(session, actor, session.get(Opportunity, opportunity_id))
    if outcome not in OUTCOMES:
        raise Invalid("Choose whether the deal was won or lost", code="invalid_outcome", details={"field": "outcome"})
    reason, note = " ".join(reason.split()), note.strip()
    if len(reason) > REASON_MAX:
        raise Invalid(f"The reason can be at most {REASON_MAX} characters", code="reason_too_long",
                      details={"field": "reason"})
    if len(note) > NOTE_MAX:
        raise Invalid(f"The note can be at most {NOTE_MAX} characters", code="note_too_long",
                      details={"field": "note"})
    if opp.outcome != "open":
        raise Conflict(f"this deal is already {opp.outcome}", code="already_closed", details={"outcome": opp.outcome})
    if outcome == "won":
        final = final_stage_id(session, opp.pipeline_id)
        if final is None or final == opp.stage_id:  # cannot happen for an open deal: the final stage wins
            raise Conflict("this deal has no later stage to be won in", code="no_final_stage")
        move_stage(session, actor, opp, final, source=source, reason=reason, note=note)
        return opp
    now = clock.now()
    session.add(StageMove(
        opportunity_id=opp.id, from_stage_id=opp.stage_id, to_stage_id=opp.stage_id, moved_at=now,
        moved_by_id=actor.user_id, owner_id=opp.owner_id,
        days_in_previous_stage=round((now - opp.stage_entered_at).total_seconds() / 86400, 2),
        source=source, kind="lost", reason=reason or None, note=note or None,
    ))
    opp.outcome, opp.closed_at, opp.close_reason, opp.close_note = "lost", now, reason, note
    opp.updated_at = now
    session.flush()
    record_closed(session, opp, source=source, actor_id=actor.user_id)
    _announce(session, opp, "lost")
    return opp


def last_open_stage(session: Session, opp: Opportunity) -> int:
    """Where a reopened deal goes: a lost deal's own stage; for a won one, the stage it was won from.

    A deal created straight into the final stage goes to the stage before it.
    """
    if opp.outcome != "won":
        return opp.stage_id
    won_from = session.scalar(
        select(StageMove.from_stage_id)
        .where(StageMove.opportunity_id == opp.id, StageMove.to_stage_id == opp.stage_id,
               StageMove.from_stage_id.is_not(None), StageMove.from_stage_id != opp.stage_id)
        .order_by(StageMove.id.desc()).limit(1))
    if won_from is not None:
        return won_from
    current = session.get(Stage, opp.stage_id)
    number = current.number if current is not None else 0
    before = session.scalar(
        select(Stage.id).where(Stage.pipeline_id == opp.pipeline_id, Stage.number < number)
        .order_by(Stage.number.desc()).limit(1))
    return before if before is not None else opp.stage_id


def reopen_opportunity(session: Session, actor: Actor, opportunity_id: int) -> Opportunity:
    """Reopen a won or lost opportunity into its last open stage.

    Raises:
        NotFound / Forbidden: the actor may not see / change the opportunity.
        Conflict: ``not_closed`` when the deal is open.
    """
    opp = check_write_opportunity(session, actor, session.get(Opportunity, opportunity_id))
    if opp.outcome == "open":
        raise Conflict("this deal is open; only a won or lost deal can be reopened", code="not_closed")
    target = last_open_stage(session, opp)
    now = clock.now()
    session.add(StageMove(
        opportunity_id=opp.id, from_stage_id=opp.stage_id, to_stage_id=target, moved_at=now,
        moved_by_id=actor.user_id, owner_id=opp.owner_id, days_in_previous_stage=None, source="user",
        kind="reopened", reason=f"was {opp.outcome}",
    ))
    opp.stage_id, opp.stage_entered_at, opp.updated_at = target, now, now
    opp.outcome, opp.closed_at, opp.close_reason, opp.close_note = "open", None, "", ""
    session.flush()
    _announce(session, opp, "reopened")
    return opp
