"""The run state machine: the one place a sequence run's status changes.

Invariants:
    * A run's status moves only through `transition` (one run) or
      `transition_where` (a set of runs, one UPDATE), both driven by the
      ordered `RULES`: the first rule whose target and source statuses match
      decides what the move resets. Any other move raises `IllegalTransition`.
    * completed and stopped are final; failed may only be retried (→ active)
      or stopped; paused only resumes (→ active) or stops.
    * A run that leaves the open statuses (active, paused) has no due time and
      is not waiting; its `ended_at` is the moment it ended.
    * New runs start "active" through `new_run` (an ORM object) or
      `new_run_values` (a row for a set-based INSERT), never elsewhere.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from models import SequenceRun
from models.tables.runs import status_writer

Status = t.Literal["active", "paused", "completed", "stopped", "failed"]

#: Runs that still hold a place in their sequence.
OPEN: tuple[Status, ...] = ("active", "paused")
#: Runs that have ended; whether they block re-entry is a campaign setting.
FINISHED: tuple[Status, ...] = ("completed", "stopped", "failed")
MAX_REASON = 200


class IllegalTransition(Exception):
    """A move the state machine does not allow (e.g. completed → active)."""

    def __init__(self, source: str, target: str) -> None:
        super().__init__(f"a {source} run cannot become {target}")
        self.source = source
        self.target = target


Resets = Callable[[SequenceRun | None, datetime, str], dict[str, t.Any]]


@dataclass(frozen=True)
class Rule:
    """One legal move: from any of `sources` to `target`, with what it resets."""

    name: str
    sources: frozenset[str]
    target: Status
    resets: Resets
    #: Resets that do not read the run, so the move can be one UPDATE for many runs.
    set_based: bool = True


def _ended(_run: SequenceRun | None, now: datetime, _reason: str) -> dict[str, t.Any]:
    return {"ended_at": now, "due_at": None, "waiting": False}


def _stopped(_run: SequenceRun | None, now: datetime, reason: str) -> dict[str, t.Any]:
    return {"ended_at": now, "due_at": None, "waiting": False, "stop_reason": reason[:MAX_REASON]}


def _resumed(run: SequenceRun | None, now: datetime, _reason: str) -> dict[str, t.Any]:
    # A pending timer keeps its due time; a run that fell due while paused runs now.
    assert run is not None
    if run.due_at is None or run.due_at <= now:
        return {"due_at": now, "waiting": False}
    return {}


def _retried(_run: SequenceRun | None, now: datetime, _reason: str) -> dict[str, t.Any]:
    return {"attempts": 0, "ended_at": None, "due_at": now, "waiting": False}


RULES: tuple[Rule, ...] = (
    Rule("pause", frozenset({"active"}), "paused", lambda _r, _n, _s: {}),
    Rule("resume", frozenset({"paused"}), "active", _resumed, set_based=False),
    Rule("retry", frozenset({"failed"}), "active", _retried),
    Rule("complete", frozenset({"active"}), "completed", _ended),
    Rule("fail", frozenset({"active"}), "failed", _ended),
    Rule("stop", frozenset({"active", "paused", "failed"}), "stopped", _stopped),
)


def rule_for(source: str, target: str) -> Rule:
    """The first rule moving `source` to `target`.

    Raises:
        IllegalTransition: no rule allows it.
    """
    for rule in RULES:
        if rule.target == target and source in rule.sources:
            return rule
    raise IllegalTransition(source, target)


def transition(run: SequenceRun, target: Status, now: datetime, reason: str = "") -> None:
    """Move one run to `target`, applying what its rule resets.

    Raises:
        IllegalTransition: the move is not allowed from the run's status.
    """
    rule = rule_for(run.status, target)
    for key, value in rule.resets(run, now, reason).items():
        setattr(run, key, value)
    with status_writer():
        run.status = target


def transition_where(
    session: Session,
    target: Status,
    now: datetime,
    *where: ColumnElement[bool],
    reason: str = "",
    only_from: t.Iterable[str] | None = None,
) -> int:
    """Move every run matching `where` (and a legal source status) to `target` with one UPDATE per rule.

    Runs whose status no rule moves to `target` (or not in `only_from`) are
    left alone, so a finished run stays finished even when a concurrent change
    finished it first (the status is re-checked in the UPDATE's WHERE).

    Returns:
        How many runs moved.
    """
    wanted = frozenset(only_from) if only_from is not None else None
    moved = 0
    taken: set[str] = set()
    for rule in RULES:
        if rule.target != target:
            continue
        sources = rule.sources - taken if wanted is None else (rule.sources & wanted) - taken
        taken |= rule.sources
        if not sources:
            continue
        if not rule.set_based:
            raise ValueError(f"the {rule.name} move reads each run; use transition()")
        # ORM-enabled UPDATE: runs already loaded in this session see the new status at once.
        result = session.execute(
            update(SequenceRun)
            .where(*where, SequenceRun.status.in_(sorted(sources)))
            .values(status=target, **rule.resets(None, now, reason))
        )
        moved += int(getattr(result, "rowcount", 0) or 0)
    return moved


def new_run(**columns: t.Any) -> SequenceRun:
    """A new run, active (the state machine's only initial state)."""
    with status_writer():
        return SequenceRun(status="active", **columns)


def new_run_values(**columns: t.Any) -> dict[str, t.Any]:
    """The columns of a new run's row, active (for set-based inserts; see `new_run`)."""
    return {**columns, "status": "active"}
