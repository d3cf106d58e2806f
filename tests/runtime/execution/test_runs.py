"""The run state machine: legal moves and what each resets; everything else refused."""

from __future__ import annotations

import ast
import itertools
import typing as t
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest

from models import SequenceRun
from models.tables.runs import RUN_STATUSES
from runtime.execution.runs import RULES
from runtime.execution.runs import IllegalTransition
from runtime.execution.runs import new_run
from runtime.execution.runs import rule_for
from runtime.execution.runs import transition
from runtime.execution.runs import transition_where
from tests.runtime.engine_fixtures import *  # noqa: F403
from tests.runtime.engine_fixtures import ADMIN
from tests.runtime.engine_fixtures import Env
from tests.runtime.engine_fixtures import goal
from tests.runtime.engine_fixtures import graph
from tests.runtime.engine_fixtures import seq
from tests.runtime.engine_fixtures import step

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LEGAL = {
    ("active", "paused"), ("paused", "active"), ("failed", "active"), ("active", "completed"),
    ("active", "failed"), ("active", "stopped"), ("paused", "stopped"), ("failed", "stopped"),
}


def a_run(status: str, **columns: t.Any) -> SequenceRun:
    """A run in `status`, reached through the state machine as the runtime would."""
    run = new_run(node_id="s", step_index=1, waiting=True, due_at=NOW + timedelta(days=1), attempts=2, **columns)
    if status == "paused":
        transition(run, "paused", NOW)
    elif status != "active":
        transition(run, t.cast(t.Any, status), NOW, "because")
    return run


def test_the_rules_allow_exactly_the_legal_moves() -> None:
    allowed = {(source, rule.target) for rule in RULES for source in rule.sources}
    assert allowed == LEGAL


@pytest.mark.parametrize(("source", "target"), sorted(
    pair for pair in itertools.product(RUN_STATUSES, RUN_STATUSES) if pair not in LEGAL))
def test_illegal_moves_are_refused_and_change_nothing(source: str, target: str) -> None:
    run = a_run(source)
    before = {c: getattr(run, c) for c in ("status", "ended_at", "due_at", "waiting", "stop_reason")}
    with pytest.raises(IllegalTransition):
        transition(run, t.cast(t.Any, target), NOW + timedelta(hours=1))
    assert {c: getattr(run, c) for c in before} == before


def test_finishing_moves_clear_the_due_time_and_record_the_end() -> None:
    for target in ("completed", "failed", "stopped"):
        run = a_run("active")
        transition(run, t.cast(t.Any, target), NOW, "goal 'x' satisfied")
        assert (run.status, run.ended_at, run.due_at, run.waiting) == (target, NOW, None, False)
    stopped = a_run("paused")
    transition(stopped, "stopped", NOW, "stopped by hand" + "!" * 300)
    assert stopped.stop_reason is not None and len(stopped.stop_reason) == 200


def test_resume_keeps_a_pending_timer_and_runs_an_overdue_one_now() -> None:
    waiting = a_run("paused")
    transition(waiting, "active", NOW)
    assert (waiting.due_at, waiting.waiting) == (NOW + timedelta(days=1), True)
    overdue = a_run("paused")
    transition(overdue, "active", NOW + timedelta(days=2))
    assert (overdue.due_at, overdue.waiting) == (NOW + timedelta(days=2), False)


def test_retrying_a_failed_run_resets_its_attempts() -> None:
    run = a_run("failed")
    transition(run, "active", NOW)
    assert (run.status, run.attempts, run.ended_at, run.due_at) == ("active", 0, None, NOW)


def test_a_status_written_past_the_state_machine_is_refused() -> None:
    run = a_run("active")
    with pytest.raises(RuntimeError, match="state machine|runtime.execution.runs"):
        run.status = "completed"
    with pytest.raises(RuntimeError):
        SequenceRun(node_id="s", status="active")


def test_set_based_moves_touch_only_legal_sources(env: Env) -> None:
    env.publish(graph([goal("g", "tag_applied", tag="go"),
                       seq("s", step("w", "delay", amount=1, unit="days"), step("n", "create_note", body="x"))],
                      "g>s"))
    contacts = [env.contact(f"c{i}@example.com") for i in range(3)]
    from models.contacts import apply_tag

    for c in contacts:
        apply_tag(env.session, ADMIN, c.id, "go")
    env.tick()
    first, second, third = (env.runs(c)[0] for c in contacts)
    transition(second, "paused", env.clock.now())
    transition(third, "stopped", env.clock.now(), "earlier")
    env.session.flush()
    moved = transition_where(env.session, "stopped", env.clock.now(), SequenceRun.node_id == "s", reason="archived")
    assert moved == 2
    assert [(r.status, r.stop_reason) for r in (first, second, third)] == [
        ("stopped", "archived"), ("stopped", "archived"), ("stopped", "earlier")]
    with pytest.raises(ValueError, match="transition"):
        transition_where(env.session, "active", env.clock.now(), SequenceRun.node_id == "s")
    assert rule_for("paused", "active").set_based is False


def test_no_module_writes_a_run_status_with_a_core_update() -> None:
    """ORM writes are guarded by the model; a Core UPDATE of sequence_run.status outside the state machine is found here."""
    offenders = []
    for package in ("models", "runtime", "builder"):
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "runtime" / "execution" / "runs.py" or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "values"):
                    continue
                chain = ast.unparse(node.func.value)
                if "update(SequenceRun)" in chain and any(k.arg == "status" for k in node.keywords):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
