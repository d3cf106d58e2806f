"""Live pushes are hints that reveal no more than REST would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from builder import live
from models import events
from runtime import notices
from tests.builder.conftest import ApiActions


@pytest.fixture
def pushes() -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    """Record every (room, event, payload) pushed after commit."""
    seen: list[tuple[str, str, dict[str, Any]]] = []

    def record(room: str, name: str, payload: dict[str, Any]) -> None:
        seen.append((room, name, payload))

    subscriber = live.LivePushes(record).install()
    yield seen
    subscriber.uninstall()


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


def test_every_notice_has_its_room() -> None:
    """Room names live in builder/live.py: each domain notice maps to the rooms its listeners join."""
    committed: list[events.Event] = [
        events.OpportunityChanged(opportunity_id=7, pipeline_id=2, stage_id=3, change="note"),
        events.TaskChanged(task_id=5, assignee_id=4, opportunity_id=7),
        events.NotificationCreated(notification_id=9, user_id=4, contact_id=1),
        notices.CampaignStatsChanged(campaign_id=11),
        notices.CampaignStatsChanged(campaign_id=11),  # once per transaction
        notices.CampaignPublished(campaign_id=11, version=2),
        notices.CampaignStatusChanged(campaign_id=11, status="paused"),
        notices.OutboxChanged(outbox_id=3, contact_id=1, status="sent", kind="email", idempotency_key="k",
                              attempts=1, last_error=None),
        notices.RunsDue(),  # the tick's business, not a browser's
        events.TagApplied(contact_id=1, tag="vip"),
    ]
    assert [(room, name) for room, name, _ in live.pushes(committed)] == [
        ("pipeline:2", "opportunity_changed"), ("opportunity:7", "opportunity_changed"),
        ("user:4", "task_changed"), ("opportunity:7", "opportunity_changed"),
        ("user:4", "notification"), ("campaign:11", "stats"), ("campaign:11", "campaign_published"),
        ("campaign:11", "campaign_status"), ("contact:1", "outbox"),
    ]
    board = live.pushes(committed[:1])[0]
    assert board[2] == {"pipeline_id": 2, "change": "note"}  # the board learns no deal id


def test_a_buffered_campaign_note_reaches_the_board_too(api: ApiActions, pushes: list[Any]) -> None:
    """A note a campaign step writes through the write buffer is announced like a rep's note."""
    from sqlalchemy import select

    from models import Opportunity
    from models.opportunities import announce_notes

    pipeline = api.simple_pipeline(("New", 5, 10), ("Won", 5, 100))
    opp = api.opportunity(pipeline)
    pushes.clear()
    with api.sessions()() as session:
        assert session.scalar(select(Opportunity.id).where(Opportunity.id == opp["id"])) == opp["id"]
        announce_notes(session, {opp["id"]})
        session.commit()
    rooms = {(room, payload["change"]) for room, _, payload in pushes}
    assert rooms == {(f"pipeline:{pipeline['id']}", "note"), (f"opportunity:{opp['id']}", "note")}


def test_worker_pushes_through_a_write_only_redis_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    """`stagecraft worker` pushes committed events to the web nodes' rooms through Redis."""
    import socketio

    made: list[Any] = []

    class FakeManager:
        def __init__(self, url: str, channel: str = "socketio", write_only: bool = False) -> None:
            self.url, self.channel, self.write_only = url, channel, write_only
            self.emitted: list[tuple[str, dict[str, Any], str, str]] = []
            made.append(self)

        def emit(self, name: str, payload: dict[str, Any], room: str, namespace: str) -> None:
            self.emitted.append((name, payload, room, namespace))

    monkeypatch.setattr(socketio, "RedisManager", FakeManager)
    before = list(events._subscribers)
    live.install_redis_pushes("redis://127.0.0.1:6379/0", "stagecraft-web")
    added = [s for s in events._subscribers if s not in before]
    try:
        assert len(added) == 1
        added[0]([notices.CampaignStatsChanged(campaign_id=4)])
    finally:
        for subscriber in added:
            events.unsubscribe(subscriber)
    [manager] = made
    assert (manager.url, manager.channel, manager.write_only) == ("redis://127.0.0.1:6379/0", "stagecraft-web", True)
    assert manager.emitted == [("stats", {"campaign_id": 4}, "campaign:4", "/")]
