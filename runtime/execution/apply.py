"""The thin applier: writes what `decide` returned, in the caller's transaction, set-based.

A batch of events (one tag or ten thousand) is applied in two phases: every
contact's actions are first recorded in memory (`Writes.apply`, which also
keeps each `Place` current, so a later event of the same batch sees what an
earlier one did), then written with a few set-based statements
(`Writes.flush`): enrollments insert-or-ignore, stops of earlier runs through
the run state machine's `transition_where`, new runs, goal hits — each one
multi-row statement, whatever the batch size.

Kept in one file (about 400 lines): the in-memory phase and the flush share
one `Writes` object whose halves only make sense read side by side.

Invariants:
    * The applier adds no rule of its own: enroll, count goal hits, stop and
      start runs exactly as the actions say, in their order.
    * Enrollment is insert-or-ignore (a concurrent enrollment of the same
      contact is fine); stops go through the run state machine and only touch
      runs that are still open; a run started and stopped by the same batch
      is inserted, then stopped by id (runs start "active", nowhere else).
    * New runs are due now; the tick is woken after commit, and each campaign's
      canvas hears that its counts changed.

`Place` and `load_places` (runtime.execution.places) are re-exported here.
"""

from __future__ import annotations

import typing as t
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import BranchHit
from models import DomainEvent
from models import Enrollment
from models import GoalHit
from models import SequenceRun
from models.sets import chunks
from models.sets import dialect
from models.sets import id_param
from models.sets import id_table
from models.sets import insert_or_ignore
from models.sets import one_of
from models.sets import prebuilt
from runtime.execution.decide import Action
from runtime.execution.decide import Branch
from runtime.execution.decide import Enroll
from runtime.execution.decide import Hit
from runtime.execution.decide import Leave
from runtime.execution.decide import Skip
from runtime.execution.decide import Start
from runtime.execution.decide import Stop
from runtime.execution.places import Place
from runtime.execution.places import load_places
from runtime.execution.runs import OPEN
from runtime.execution.runs import new_run_values
from runtime.execution.runs import transition_where
from runtime.graphs.compiler import CompiledCampaign
from runtime.notices import stats_changed
from runtime.notices import wake_after_commit

__all__ = ["Place", "Writes", "apply", "insert_ignore", "load_places", "stop_open_runs"]
_ENROLLMENT = t.cast(Table, Enrollment.__table__)
_RUN = t.cast(Table, SequenceRun.__table__)
_HIT = t.cast(Table, GoalHit.__table__)
_BRANCH_HIT = t.cast(Table, BranchHit.__table__)


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
    stmt: t.Any = insert_or_ignore(dialect(session), model, conflict).values(**values)
    if returning is not None:
        return session.execute(stmt.returning(returning)).scalar()
    result = session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


def stop_open_runs(session: Session, campaign_id: int, contact_id: int, node_ids: t.Iterable[str],
                   reason: str, now: datetime) -> int:
    """Stop a contact's open runs on the given sequences (a conditional UPDATE)."""
    return transition_where(
        session, "stopped", now,
        SequenceRun.campaign_id == campaign_id, SequenceRun.contact_id == contact_id,
        SequenceRun.node_id.in_(sorted(set(node_ids))),
        reason=reason, only_from=OPEN,
    )


@dataclass
class _NewRun:
    place: Place
    node_id: str
    name: str
    goal_id: str | None
    opportunity_id: int | None
    #: The (decision or split, path) that sent the contact here, if one did.
    via: tuple[str, str] | None = None
    stop_reason: str | None = None

    def values(self, now: datetime) -> dict[str, t.Any]:
        """The run's columns (enrollment id from its place), through the state machine's `new_run_values`."""
        campaign = self.place.campaign
        return new_run_values(
            enrollment_id=self.place.enrollment_id, campaign_id=campaign.id, version_id=campaign.version_id,
            contact_id=self.place.contact_id, opportunity_id=self.opportunity_id, node_id=self.node_id,
            name=self.name, step_index=0, waiting=False, due_at=now, attempts=0, started_at=now,
            started_by_goal=self.goal_id, branch_node_id=self.via[0] if self.via else None,
            branch_id=self.via[1] if self.via else None,
        )


def _branch_rows(place: Place, compiled: CompiledCampaign, action: Branch | Leave, now: datetime,
                 event_id: int | None) -> list[dict[str, t.Any]]:
    """The branch_hit rows of a pass through a decision or split: one per path taken, or one for leaving."""
    spec = compiled.decisions.get(action.node_id) or compiled.splits[action.node_id]
    common = {"campaign_id": place.campaign.id, "version_id": place.campaign.version_id, "node_id": action.node_id,
              "name": spec.name[:200], "reason": action.reason[:300], "contact_id": place.contact_id,
              "event_id": event_id, "at": now}
    if isinstance(action, Leave):
        return [{**common, "branch_id": None, "label": ""}]
    return [{**common, "branch_id": branch_id, "label": spec.label(branch_id)[:200]} for branch_id in action.branch_ids]


#: Run groups (same campaign, sequence, goal, opportunity) per row above which runs are inserted row by row.
ROWS_PER_GROUP_FOR_SETS = 20


class Writes:
    """What a batch of decisions writes, gathered in memory, then flushed set-based.

    Rows that differ only by contact are written with one INSERT … SELECT over
    the list of contacts (or of event ids, for goal hits): enrollments per
    campaign, runs per (campaign, sequence, goal, opportunity), goal hits per
    goal. Runs that the batch also stops, or batches whose runs hardly share a
    group, are inserted row by row.
    """

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.enrolling: list[Place] = []
        #: (campaign id, version id, goal id, contact id, event id)
        self.hits: list[tuple[int, int, str, int, int | None]] = []
        #: (campaign id, reason, node ids) → contacts whose earlier open runs on those nodes stop.
        self.stops: dict[tuple[int, str, tuple[str, ...]], list[int]] = defaultdict(list)
        self.runs: list[_NewRun] = []
        #: Passes through decisions and splits (branch_hit rows).
        self.branches: list[dict[str, t.Any]] = []
        self.changed: set[int] = set()
        self.one = False

    def apply(self, place: Place, compiled: CompiledCampaign, actions: t.Sequence[Action], *,
              event_id: int | None = None, opportunity_id: int | None = None) -> None:
        """Record `actions` for the contact in the campaign and bring its place up to date."""
        campaign = place.campaign
        for action in actions:
            if isinstance(action, Enroll):
                self._enroll(place)
            elif isinstance(action, Hit):
                self.hits.append((campaign.id, campaign.version_id, action.goal_id, place.contact_id, event_id))
                self.changed.add(campaign.id)
            elif isinstance(action, Stop):
                self._stop(place, action)
            elif isinstance(action, (Branch, Leave)):
                self._enroll(place)
                self.branches.extend(_branch_rows(place, compiled, action, self.now, event_id))
                self.changed.add(campaign.id)
            elif isinstance(action, Start):
                self._enroll(place)
                name = compiled.sequences[action.node_id].name[:200]
                place.open_new[action.node_id] = len(self.runs)
                self.runs.append(_NewRun(place, action.node_id, name, action.goal_id, opportunity_id, action.via))
                place.runs.append((action.node_id, "active"))
                self.changed.add(campaign.id)
            else:
                assert isinstance(action, Skip)

    def _enroll(self, place: Place) -> None:
        if not place.enrolled:
            place.enrolling = True
            self.enrolling.append(place)

    def _stop(self, place: Place, action: Stop) -> None:
        earlier: list[str] = []
        for node_id in action.node_ids:
            index = place.open_new.pop(node_id, None)
            if index is not None:
                self.runs[index].stop_reason = action.reason
            else:
                earlier.append(node_id)
        if earlier:
            self.stops[(place.campaign.id, action.reason, tuple(earlier))].append(place.contact_id)
        stopped = set(action.node_ids)
        place.runs = [(n, "stopped" if n in stopped and s in OPEN else s) for n, s in place.runs]
        self.changed.add(place.campaign.id)

    def flush(self) -> int:
        """Write everything recorded, in the order the rules need; return how many runs started."""
        session = self.session
        contacts = {p.contact_id for p in self.enrolling} | {r.place.contact_id for r in self.runs} | {
            h[3] for h in self.hits} | {b["contact_id"] for b in self.branches}
        # One contact (a single event): plain rows, no id lists — each statement is a round trip.
        self.one = len(contacts) == 1
        self._flush_enrollments()
        # Earlier runs stop before the batch's runs exist, so a stop never reaches a run started after it.
        for (campaign_id, reason, node_ids), contact_ids in self.stops.items():
            for part in chunks(contact_ids):
                transition_where(
                    session, "stopped", self.now,
                    SequenceRun.campaign_id == campaign_id, one_of(dialect(session), SequenceRun.contact_id, part),
                    SequenceRun.node_id.in_(node_ids), reason=reason, only_from=OPEN,
                )
        started = self._flush_runs()
        self._flush_hits()
        if self.branches:
            self.session.execute(insert(_BRANCH_HIT), self.branches)
        if started:
            wake_after_commit(session)
        for campaign_id in sorted(self.changed):
            stats_changed(session, campaign_id)
        for run in self.runs:
            run.place.open_new.clear()
        self.enrolling, self.hits, self.runs, self.branches = [], [], [], []
        self.stops.clear()
        self.changed.clear()
        return started

    def _flush_enrollments(self) -> None:
        by_campaign: dict[tuple[int, int], list[int]] = defaultdict(list)
        for place in self.enrolling:
            by_campaign[(place.campaign.id, place.campaign.version_id)].append(place.contact_id)
        if not by_campaign:
            return
        if self.one:
            for place in self.enrolling:
                place.enrollment_id = self.session.execute(
                    prebuilt(self.session, "enroll_one", lambda d: insert_or_ignore(
                        d, _ENROLLMENT, ["campaign_id", "contact_id"]).returning(_ENROLLMENT.c.id)),
                    {"campaign_id": place.campaign.id, "version_id": place.campaign.version_id,
                     "contact_id": place.contact_id, "enrolled_at": self.now}).scalar()
            return  # a concurrent enrollment (None here) is read back when its runs are inserted
        d = dialect(self.session)
        statement = prebuilt(self.session, "enroll", _enroll_statement)
        for (campaign_id, version_id), contact_ids in by_campaign.items():
            self.session.execute(statement, {"campaign_id": campaign_id, "version_id": version_id,
                                             "enrolled_at": self.now, "ids": id_param(d, contact_ids)})

    def _flush_runs(self) -> int:
        if not self.runs:
            return 0
        groups: dict[tuple[int, int, str, str, str | None, int | None, str | None, str | None], list[int]] = (
            defaultdict(list))
        by_rows: list[_NewRun] = []
        for run in self.runs:
            if run.stop_reason is not None:
                by_rows.append(run)
            else:
                campaign = run.place.campaign
                via_node, via_branch = run.via if run.via is not None else (None, None)
                groups[(campaign.id, campaign.version_id, run.node_id, run.name, run.goal_id,
                        run.opportunity_id, via_node, via_branch)].append(run.place.contact_id)
        if self.one or (len(groups) * ROWS_PER_GROUP_FOR_SETS > len(self.runs) - len(by_rows) and len(groups) > 1):
            by_rows = self.runs  # runs hardly share a group (e.g. one opportunity each): row by row
            groups.clear()
        if by_rows:  # first: a run the batch stops was started before the runs that followed it
            self._insert_run_rows(by_rows)
        d = dialect(self.session)
        statement = prebuilt(self.session, "runs_set", _runs_statement)
        for key, contact_ids in groups.items():
            campaign_id, version_id, node_id, name, goal_id, opportunity_id, via_node, via_branch = key
            self.session.execute(statement, {
                **new_run_values(campaign_id=campaign_id, version_id=version_id, opportunity_id=opportunity_id,
                                 node_id=node_id, name=name, step_index=0, waiting=False, due_at=self.now,
                                 attempts=0, started_at=self.now, started_by_goal=goal_id,
                                 branch_node_id=via_node, branch_id=via_branch),
                "ids": id_param(d, contact_ids)})
        return len(self.runs)

    def _insert_run_rows(self, runs: list[_NewRun]) -> None:
        """Insert runs one row each (their enrollment ids first); stop those the batch stopped, by id."""
        missing: dict[int, dict[int, Place]] = defaultdict(dict)
        for run in runs:
            if run.place.enrollment_id is None:
                missing[run.place.campaign.id][run.place.contact_id] = run.place
        for campaign_id, by_contact in missing.items():
            for part in chunks(sorted(by_contact)):
                for contact_id, enrollment_id in self.session.execute(
                    select(_ENROLLMENT.c.contact_id, _ENROLLMENT.c.id).where(
                        _ENROLLMENT.c.campaign_id == campaign_id,
                        one_of(dialect(self.session), _ENROLLMENT.c.contact_id, part))
                ):
                    by_contact[contact_id].enrollment_id = enrollment_id
        rows = [run.values(self.now) for run in runs]
        if not any(run.stop_reason is not None for run in runs):
            self.session.execute(prebuilt(self.session, "runs", lambda _d: insert(_RUN)), rows)
            return
        result = self.session.execute(insert(_RUN).returning(_RUN.c.id, sort_by_parameter_order=True), rows)
        by_reason: dict[str, list[int]] = defaultdict(list)
        for run, run_id in zip(runs, result.scalars(), strict=True):
            if run.stop_reason is not None:
                by_reason[run.stop_reason].append(run_id)
        for reason, run_ids in by_reason.items():
            for part in chunks(run_ids):
                transition_where(self.session, "stopped", self.now,
                                 one_of(dialect(self.session), SequenceRun.id, part), reason=reason,
                                 only_from=OPEN)

    def _flush_hits(self) -> int:
        groups: dict[tuple[int, int, str], list[int]] = defaultdict(list)
        rows: list[dict[str, t.Any]] = []
        for campaign_id, version_id, node_id, contact_id, event_id in self.hits:
            if event_id is not None and not self.one:  # the event row names the contact: one INSERT … SELECT
                groups[(campaign_id, version_id, node_id)].append(event_id)
            else:
                rows.append({"campaign_id": campaign_id, "version_id": version_id, "node_id": node_id,
                             "contact_id": contact_id, "event_id": event_id, "at": self.now})
        d = dialect(self.session)
        statement = prebuilt(self.session, "hits_set", _hits_statement)
        for (campaign_id, version_id, node_id), event_ids in groups.items():
            self.session.execute(statement, {"campaign_id": campaign_id, "version_id": version_id,
                                             "node_id": node_id, "at": self.now, "ids": id_param(d, event_ids)})
        if rows:
            self.session.execute(prebuilt(self.session, "goal_hit", lambda _d: insert(_HIT)), rows)
        return len(self.hits)


def _typed(column: t.Any) -> t.Any:
    """A bound parameter named and typed after a column."""
    return bindparam(column.name, type_=column.type)


def _enroll_statement(d: str) -> t.Any:
    """INSERT INTO enrollment SELECT (campaign, version, each contact, now) … ON CONFLICT DO NOTHING."""
    ids = id_table(d, "ids")
    c = _ENROLLMENT.c
    return insert_or_ignore(d, _ENROLLMENT, ["campaign_id", "contact_id"]).from_select(
        ["campaign_id", "version_id", "contact_id", "enrolled_at"],
        select(_typed(c.campaign_id), _typed(c.version_id), ids.c.value, _typed(c.enrolled_at))
        .where(ids.c.value.is_not(None)),  # SQLite needs a WHERE before ON CONFLICT
    )


_RUN_SET_COLUMNS = ("campaign_id", "version_id", "opportunity_id", "node_id", "name", "status", "step_index",
                    "waiting", "due_at", "attempts", "started_at", "started_by_goal", "branch_node_id", "branch_id")


def _runs_statement(d: str) -> t.Any:
    """INSERT INTO sequence_run SELECT (the contact's enrollment, the group's columns) for each contact."""
    ids = id_table(d, "ids")
    columns = [_RUN.c[name] for name in _RUN_SET_COLUMNS]
    return insert(_RUN).from_select(
        ["enrollment_id", "contact_id", *_RUN_SET_COLUMNS],
        select(_ENROLLMENT.c.id, _ENROLLMENT.c.contact_id, *(_typed(column) for column in columns))
        # IN, not a join: the planner then probes the (campaign, contact) index once per contact.
        .where(_ENROLLMENT.c.campaign_id == bindparam("campaign_id"),
               _ENROLLMENT.c.contact_id.in_(select(ids.c.value).scalar_subquery())),
    )


def _hits_statement(d: str) -> t.Any:
    """INSERT INTO goal_hit SELECT (the goal, each event's contact and id) for a list of event ids."""
    ids = id_table(d, "ids")
    event = t.cast(Table, DomainEvent.__table__)
    c = _HIT.c
    return insert(_HIT).from_select(
        ["campaign_id", "version_id", "node_id", "contact_id", "event_id", "at"],
        select(_typed(c.campaign_id), _typed(c.version_id), _typed(c.node_id), event.c.contact_id, event.c.id,
               _typed(c.at))
        .where(event.c.id.in_(select(ids.c.value).scalar_subquery())),
    )


def apply(
    session: Session,
    place: Place,
    compiled: CompiledCampaign,
    actions: t.Sequence[Action],
    now: datetime,
    *,
    event_id: int | None = None,
    opportunity_id: int | None = None,
) -> int:
    """Write `actions` for one contact in one campaign at once (a batch of one).

    Returns:
        How many runs started.
    """
    writes = Writes(session, now)
    writes.apply(place, compiled, actions, event_id=event_id, opportunity_id=opportunity_id)
    return writes.flush()
