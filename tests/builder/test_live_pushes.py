"""Live pushes are hints that reveal no more than REST would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from runtime import notices
from tests.builder.conftest import ApiActions


@pytest.fixture
def pushes() -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    """Record every (room, event, payload) published after commit."""
    seen: list[tuple[str, str, dict[str, Any]]] = []

    def record(room: str, name: str, payload: dict[str, Any]) -> None:
        seen.append((room, name, payload))

    notices.set_publisher(record)
    yield seen
    notices.remove_publisher(record)


def test_pipeline_room_hears_a_change_but_not_which_deal(api: ApiActions, pushes: list[Any]) -> None:
    """Board listeners learn that the pipeline changed; the deal id goes only to its own room."""
    pipeline = api.simple_pipeline(("New", 5, 10), ("Won", 5, 100))
    opp = api.opportunity(pipeline)
    pushes.clear()
    assert api.move(opp, pipeline["stages"][1]).status_code == 200
    board = [p for room, name, p in pushes if room == f"pipeline:{pipeline['id']}"]
    record = [p for room, name, p in pushes if room == f"opportunity:{opp['id']}"]
    assert board and all("opportunity_id" not in p for p in board)
    assert record and record[0]["opportunity_id"] == opp["id"]


def test_nothing_is_pushed_for_a_refused_move(api: ApiActions, pushes: list[Any]) -> None:
    """A move refused by the checklist rolls back and announces nothing."""
    pipeline = api.pipeline("sales_workflow")
    opp = api.opportunity(pipeline)
    pushes.clear()
    assert api.move(opp, pipeline["stages"][1]).status_code == 409
    assert pushes == []
