"""The thin applier: writes what `decide` returned, in the caller's transaction.

Invariants:
    * The applier adds no rule of its own: enroll, count goal hits, record the
      paths taken at decisions and splits (or that the contact left), stop and
      start runs exactly as the actions say, in their order.
    * Enrollment is insert-or-ignore (a concurrent enrollment of the same
      contact is fine); stops go through the run state machine and only touch
      runs that are still open.
    * New runs are due now; the tick is woken after commit, and the campaign's
      canvas hears that its counts changed.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import BranchHit
from models import Enrollment
from models import GoalHit
from models import SequenceRun
from runtime.execution.cache import LiveCampaign
from runtime.execution.decide import Action
from runtime.execution.decide import Branch
from runtime.execution.decide import Enroll
from runtime.execution.decide import Hit
from runtime.execution.decide import Leave
from runtime.execution.decide import Presence
from runtime.execution.decide import Skip
from runtime.execution.decide import Start
from runtime.execution.decide import Stop
from runtime.execution.runs import OPEN
from runtime.execution.runs import new_run
from runtime.execution.runs import transition_where
from runtime.graphs.compiler import CompiledCampaign
from runtime.notices import stats_changed
from runtime.notices import wake_after_commit


@dataclass
class Place:
    """A contact's enrollment and runs in one campaign, loaded to apply actions."""

    campaign: LiveCampaign
    contact_id: int
    enrollment_id: int | None
    runs: list[tuple[str, str]] = field(default_factory=list)
    #: Runs added by this event but not flushed yet (a later Stop must see them).
    unflushed: bool = False

    @classmethod
    def load(cls, session: Session, campaign: LiveCampaign, contact_id: int) -> Place:
        """Load the contact's enrollment and runs in the campaign (two indexed queries)."""
        enrollment_id = session.scalar(
            select(Enrollment.id).where(Enrollment.campaign_id == campaign.id, Enrollment.contact_id == contact_id)
        )
        runs: list[tuple[str, str]] = []
        if enrollment_id is not None:
            runs = [
                (node_id, status)
                for node_id, status in session.execute(
                    select(SequenceRun.node_id, SequenceRun.status).where(
                        SequenceRun.campaign_id == campaign.id, SequenceRun.contact_id == contact_id
                    )
                )
            ]
        return cls(campaign, contact_id, enrollment_id, runs)

    def presence(self, *, paused: bool = False) -> Presence:
        """The pure view `decide` reads."""
        return Presence(
            paused=paused,
            allow_reentry=self.campaign.allow_reentry,
            enrolled=self.enrollment_id is not None,
            runs=tuple(self.runs),
        )


def insert_ignore(
    session: Session,
    model: type[t.Any],
    values: dict[str, t.Any],
    conflict: list[str],
    *,
    returning: t.Any = None,
) -> t.Any:
    """INSERT … ON CONFLICT DO NOTHING (SQLite and PostgreSQL).

    Returns:
        The `returning` column of the new row (None when it already existed),
        or the number of rows inserted when no `returning` column is given.
    """
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    stmt: t.Any = dialect_insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict)
    if returning is not None:
        return session.execute(stmt.returning(returning)).scalar()
    result = session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


def _enroll(session: Session, place: Place, now: datetime) -> int:
    if place.enrollment_id is None:
        values = {"campaign_id": place.campaign.id, "version_id": place.campaign.version_id,
                  "contact_id": place.contact_id, "enrolled_at": now}
        place.enrollment_id = insert_ignore(
            session, Enrollment, values, ["campaign_id", "contact_id"], returning=Enrollment.id
        )
        if place.enrollment_id is None:  # someone else enrolled the contact just now
            place.enrollment_id = session.scalar(
                select(Enrollment.id).where(
                    Enrollment.campaign_id == place.campaign.id, Enrollment.contact_id == place.contact_id
                )
            )
    return t.cast(int, place.enrollment_id)


def stop_open_runs(session: Session, campaign_id: int, contact_id: int, node_ids: t.Iterable[str],
                   reason: str, now: datetime) -> int:
    """Stop a contact's open runs on the given sequences (a conditional UPDATE)."""
    return transition_where(
        session, "stopped", now,
        SequenceRun.campaign_id == campaign_id, SequenceRun.contact_id == contact_id,
        SequenceRun.node_id.in_(sorted(set(node_ids))),
        reason=reason, only_from=OPEN,
    )


def _branch_rows(place: Place, compiled: CompiledCampaign, action: Branch | Leave, now: datetime,
                 event_id: int | None) -> list[BranchHit]:
    spec = compiled.decisions.get(action.node_id) or compiled.splits[action.node_id]
    common = {"campaign_id": place.campaign.id, "version_id": place.campaign.version_id, "node_id": action.node_id,
              "name": spec.name[:200], "reason": action.reason[:300], "contact_id": place.contact_id,
              "event_id": event_id, "at": now}
    if isinstance(action, Leave):
        return [BranchHit(branch_id=None, label="", **common)]
    return [BranchHit(branch_id=branch_id, label=spec.label(branch_id)[:200], **common)
            for branch_id in action.branch_ids]


def apply(
    session: Session,
    place: Place,
    compiled: CompiledCampaign,
    actions: t.Sequence[Action],
    now: datetime,
    *,
    event_id: int | None = None,
    opportunity_id: int | None = None,
) -> list[SequenceRun]:
    """Write `actions` for the contact in the campaign.

    Returns:
        The runs started (pending in the session, not flushed).
    """
    started: list[SequenceRun] = []
    changed = False
    campaign = place.campaign
    for action in actions:
        if isinstance(action, Enroll):
            _enroll(session, place, now)
        elif isinstance(action, Hit):
            session.add(GoalHit(campaign_id=campaign.id, version_id=campaign.version_id, node_id=action.goal_id,
                                contact_id=place.contact_id, event_id=event_id, at=now))
            changed = True
        elif isinstance(action, Stop):
            if place.unflushed:
                session.flush()  # runs started by this event are stopped too
                place.unflushed = False
            stop_open_runs(session, campaign.id, place.contact_id, action.node_ids, action.reason, now)
            place.runs = [(n, "stopped" if n in action.node_ids and s in OPEN else s) for n, s in place.runs]
            changed = True
        elif isinstance(action, (Branch, Leave)):
            _enroll(session, place, now)
            session.add_all(_branch_rows(place, compiled, action, now, event_id))
            changed = True
        elif isinstance(action, Start):
            spec = compiled.sequences[action.node_id]
            via_node, via_branch = action.via if action.via is not None else (None, None)
            run = new_run(
                enrollment_id=_enroll(session, place, now), campaign_id=campaign.id, version_id=campaign.version_id,
                contact_id=place.contact_id, opportunity_id=opportunity_id, node_id=action.node_id,
                name=spec.name[:200], step_index=0, waiting=False, due_at=now, attempts=0, started_at=now,
                started_by_goal=action.goal_id, branch_node_id=via_node, branch_id=via_branch,
            )
            session.add(run)  # no flush: its id is needed only if the same event stops it
            place.runs.append((action.node_id, "active"))
            place.unflushed = True
            started.append(run)
            changed = True
        else:
            assert isinstance(action, Skip)
    if started:
        wake_after_commit(session)
    if changed:
        stats_changed(session, campaign.id)
    return started
