"""Stage-move rules through PATCH /api/v1/opportunities/{id}: history, checklist, events, atomicity."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from models import clock
from models import opportunities as opp_service
from models.access import SYSTEM
from models.db import transaction
from models.errors import Conflict
from tests.builder.conftest import ApiActions
from tests.builder.conftest import error_of


def parse_time(value: str) -> datetime:
    """An API timestamp as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def simple(api: ApiActions) -> dict[str, Any]:
    """Three stages without checklists: Lead (7 days, 10 %), Talk (14 days, 50 %), Won (0 days, 100 %)."""
    return api.simple_pipeline(("Lead", 7, 10), ("Talk", 14, 50), ("Won", 0, 100))


def move_counts(api: ApiActions) -> tuple[int, int]:
    """Rows in stage_move and domain_event."""
    return api.count("stage_move"), api.count("domain_event")


def test_move_records_every_history_field(api: ApiActions, simple: dict[str, Any],
                                          fake_clock: clock.FakeClock) -> None:
    """A move writes {from, to, moved_at, moved_by, owner at the time, days in previous stage, source}."""
    opp = api.opportunity(simple, 0, owner_id=api.uid("rep1"))
    fake_clock.advance(days=3.5)
    response = api.move(opp, simple["stages"][1], as_user="admin")
    assert response.status_code == 200
    assert response.get_json()["stage_id"] == simple["stages"][1]["id"]

    last = api.history(opp)[-1]
    assert last["from_stage_id"] == simple["stages"][0]["id"]
    assert last["to_stage_id"] == simple["stages"][1]["id"]
    assert (last["from_stage_name"], last["to_stage_name"]) == ("Lead", "Talk")
    assert parse_time(last["moved_at"]) == fake_clock.now()
    assert last["moved_by_id"] == api.uid("admin")
    assert last["owner_id"] == api.uid("rep1")
    assert last["days_in_previous_stage"] == 3.5
    assert last["source"] == "user"


def test_days_in_previous_stage_count_from_the_last_move(api: ApiActions, simple: dict[str, Any],
                                                         fake_clock: clock.FakeClock) -> None:
    """Each move measures the time since the opportunity entered the stage it leaves."""
    opp = api.opportunity(simple, 0)
    fake_clock.advance(days=2)
    assert api.move(opp, simple["stages"][1]).status_code == 200
    fake_clock.advance(hours=30)
    assert api.move(opp, simple["stages"][2]).status_code == 200
    assert [h["days_in_previous_stage"] for h in api.history(opp)] == [None, 2.0, 1.25]


def test_history_keeps_the_owner_at_the_time_of_each_move(api: ApiActions, simple: dict[str, Any]) -> None:
    """Reassigning later does not rewrite earlier history rows."""
    opp = api.opportunity(simple, 0, owner_id=api.uid("rep1"))
    assert api.move(opp, simple["stages"][1]).status_code == 200
    api.ok("PATCH", f"/opportunities/{opp['id']}", {"owner_id": api.uid("rep2")})
    assert api.move(opp, simple["stages"][2]).status_code == 200
    owners = [h["owner_id"] for h in api.history(opp)]
    assert owners == [api.uid("rep1"), api.uid("rep1"), api.uid("rep2")]


def test_move_and_reassign_in_one_patch_records_the_previous_owner(api: ApiActions, simple: dict[str, Any]) -> None:
    """The owner at the time of the move is the one before the same PATCH reassigns it."""
    opp = api.opportunity(simple, 0, owner_id=api.uid("rep1"))
    body = {"stage_id": simple["stages"][1]["id"], "owner_id": api.uid("rep2")}
    assert api.ok("PATCH", f"/opportunities/{opp['id']}", body)["owner_id"] == api.uid("rep2")
    assert api.history(opp)[-1]["owner_id"] == api.uid("rep1")


def test_move_by_a_rep_records_the_rep_as_mover(api: ApiActions, simple: dict[str, Any]) -> None:
    """moved_by is whoever saved the new stage."""
    opp = api.opportunity(simple, 0, as_user="rep1")
    assert api.move(opp, simple["stages"][1], as_user="rep1").status_code == 200
    assert api.history(opp, as_user="rep1")[-1]["moved_by_id"] == api.uid("rep1")


def test_move_emits_one_stage_moved_event(api: ApiActions, simple: dict[str, Any]) -> None:
    """A move appends `stage_moved` {from, to, opportunity, pipeline, source} for the contact.

    (Into a stage before the final one: a move into the final stage also records
    `opportunity_closed`, tests/builder/test_outcomes_api.py.)
    """
    opp = api.opportunity(simple, 0)
    before = len(api.events())
    assert api.move(opp, simple["stages"][1]).status_code == 200
    events = api.events()
    assert len(events) == before + 1
    event = events[-1]
    assert event["type"] == "stage_moved"
    assert event["contact_id"] == opp["contact_id"]
    assert event["source"] == "user"
    assert event["actor_id"] == api.uid("admin")
    assert event["payload"] == {
        "opportunity_id": opp["id"], "pipeline_id": simple["id"],
        "from_stage_id": simple["stages"][0]["id"], "to_stage_id": simple["stages"][1]["id"], "source": "user",
    }


def test_move_resets_the_time_in_stage(api: ApiActions, simple: dict[str, Any], fake_clock: clock.FakeClock) -> None:
    """After a move, stage_entered_at is the move time and days_in_stage restarts at 0."""
    opp = api.opportunity(simple, 0)
    fake_clock.advance(days=5)
    moved = api.move(opp, simple["stages"][1]).get_json()
    assert parse_time(moved["stage_entered_at"]) == fake_clock.now()
    assert moved["days_in_stage"] == 0.0
    fake_clock.advance(days=1.5)
    assert api.ok("GET", f"/opportunities/{opp['id']}")["days_in_stage"] == 1.5


def test_moving_backwards_is_a_move(api: ApiActions, simple: dict[str, Any]) -> None:
    """A move to an earlier stage is recorded like any other (a deal in the final stage is won: reopen first)."""
    opp = api.opportunity(simple, 1)
    assert api.move(opp, simple["stages"][0]).status_code == 200
    last = api.history(opp)[-1]
    assert (last["from_stage_id"], last["to_stage_id"]) == (simple["stages"][1]["id"], simple["stages"][0]["id"])


# --- checklist ---------------------------------------------------------------------------


def test_unchecked_required_item_refuses_the_move_and_changes_nothing(
        api: ApiActions, sales: dict[str, Any], fake_clock: clock.FakeClock) -> None:
    """409 checklist_incomplete names the required items; stage, history and events stay as they were."""
    prospect, qualified = sales["stages"][0], sales["stages"][1]
    opp = api.opportunity(sales, 0)
    fake_clock.advance(days=1)
    counts = move_counts(api)
    history = api.history(opp)

    error = error_of(api.move(opp, qualified), 409, "checklist_incomplete")

    required = [{"id": i["id"], "text": i["text"]} for i in prospect["checklist"] if i["required"]]
    assert required and error["details"]["items"] == required
    assert all(item["text"] in error["message"] for item in required)
    optional = [i["text"] for i in prospect["checklist"] if not i["required"]]
    assert not any(text in error["message"] for text in optional)
    record = api.ok("GET", f"/opportunities/{opp['id']}")
    assert record["stage_id"] == prospect["id"]
    assert record["stage_entered_at"] == opp["stage_entered_at"]
    assert record["updated_at"] == opp["updated_at"]
    assert api.history(opp) == history
    assert move_counts(api) == counts


def test_refused_move_leaves_other_fields_of_the_same_patch_unwritten(api: ApiActions, sales: dict[str, Any]) -> None:
    """A PATCH that combines fields with a refused move writes none of them."""
    opp = api.opportunity(sales, 0, title="Before", value=100)
    counts = api.row_counts()
    body = {"stage_id": sales["stages"][1]["id"], "title": "After", "value": 999, "custom_fields": {"x": 1}}
    error_of(api.patch(f"/opportunities/{opp['id']}", body), 409, "checklist_incomplete")
    record = api.ok("GET", f"/opportunities/{opp['id']}")
    assert (record["title"], record["value"], record["custom_fields"]) == ("Before", 100, {})
    assert api.row_counts() == counts


def test_ticking_the_required_items_then_moving_succeeds(api: ApiActions, sales: dict[str, Any]) -> None:
    """Once every required item is ticked the move goes through (optional ones may stay open)."""
    prospect, qualified = sales["stages"][0], sales["stages"][1]
    opp = api.opportunity(sales, 0)
    api.tick_required(opp, prospect)
    checklist = api.ok("GET", f"/opportunities/{opp['id']}")["checklist"]
    assert any(not i["done"] and not i["required"] for i in checklist)
    response = api.move(opp, qualified)
    assert response.status_code == 200
    assert response.get_json()["stage_id"] == qualified["id"]
    assert api.history(opp)[-1]["to_stage_id"] == qualified["id"]


def test_unticking_a_required_item_blocks_again(api: ApiActions, sales: dict[str, Any]) -> None:
    """Ticking then unticking leaves the item unchecked."""
    prospect = sales["stages"][0]
    opp = api.opportunity(sales, 0)
    item = next(i for i in prospect["checklist"] if i["required"])
    api.tick(opp, item["id"])
    api.tick(opp, item["id"], done=False)
    error = error_of(api.move(opp, sales["stages"][1]), 409, "checklist_incomplete")
    assert [i["id"] for i in error["details"]["items"]] == [item["id"]]


def test_checklist_tick_records_when_and_shows_on_the_record(
        api: ApiActions, sales: dict[str, Any], fake_clock: clock.FakeClock) -> None:
    """PUT checklist returns the current stage's items with done and done_at."""
    opp = api.opportunity(sales, 0)
    item = sales["stages"][0]["checklist"][0]
    fake_clock.advance(hours=2)
    checklist = api.tick(opp, item["id"])["checklist"]
    ticked = next(i for i in checklist if i["id"] == item["id"])
    assert ticked["done"] is True
    assert parse_time(ticked["done_at"]) == fake_clock.now()
    assert [i["id"] for i in checklist] == [i["id"] for i in sales["stages"][0]["checklist"]]


def test_entering_a_stage_with_open_items_is_allowed(api: ApiActions, sales: dict[str, Any]) -> None:
    """Only leaving a stage checks its checklist, not entering one."""
    opp = api.opportunity(sales, 0)
    api.tick_required(opp, sales["stages"][0])
    assert api.move(opp, sales["stages"][1]).status_code == 200
    error = error_of(api.move(opp, sales["stages"][2]), 409, "checklist_incomplete")
    assert error["details"]["items"][0]["text"] == "Confirmed budget and decision maker"


def test_checklist_item_of_another_pipeline_is_not_found(api: ApiActions, sales: dict[str, Any]) -> None:
    """Items belong to the opportunity's pipeline; others give 404 and write nothing."""
    other = api.pipeline("sales_workflow", name="Other")
    opp = api.opportunity(sales, 0)
    counts = api.row_counts()
    foreign = other["stages"][0]["checklist"][0]["id"]
    error_of(api.put(f"/opportunities/{opp['id']}/checklist/{foreign}", {"done": True}), 404, "not_found")
    error_of(api.put(f"/opportunities/{opp['id']}/checklist/999999", {"done": True}), 404, "not_found")
    assert api.row_counts() == counts


# --- not a move / refused moves ---------------------------------------------------------


def test_moving_to_the_same_stage_is_not_a_move(api: ApiActions, sales: dict[str, Any],
                                                 fake_clock: clock.FakeClock) -> None:
    """Same stage: 200, no history row, no event, time in stage kept, checklist not consulted."""
    opp = api.opportunity(sales, 0)
    fake_clock.advance(days=2)
    counts = move_counts(api)
    response = api.move(opp, sales["stages"][0])
    assert response.status_code == 200
    assert response.get_json()["stage_entered_at"] == opp["stage_entered_at"]
    assert response.get_json()["days_in_stage"] == 2.0
    assert move_counts(api) == counts
    assert len(api.history(opp)) == 1


def test_cross_pipeline_move_is_refused(api: ApiActions, simple: dict[str, Any], sales: dict[str, Any]) -> None:
    """A stage of another pipeline gives 422 cross_pipeline_move and changes nothing."""
    opp = api.opportunity(simple, 0)
    counts = api.row_counts()
    error = error_of(api.move(opp, sales["stages"][1]), 422, "cross_pipeline_move")
    assert error["details"]["field"] == "stage_id"
    assert api.ok("GET", f"/opportunities/{opp['id']}")["stage_id"] == simple["stages"][0]["id"]
    assert api.row_counts() == counts


def test_move_to_an_unknown_stage_is_refused(api: ApiActions, simple: dict[str, Any]) -> None:
    """A stage id that does not exist gives 422 unknown_stage."""
    opp = api.opportunity(simple, 0)
    counts = api.row_counts()
    error = error_of(api.patch(f"/opportunities/{opp['id']}", {"stage_id": 987654}), 422, "unknown_stage")
    assert error["details"]["field"] == "stage_id"
    assert api.row_counts() == counts


# --- creation -----------------------------------------------------------------------------


def test_creation_records_created_in_stage_with_source_user(api: ApiActions, simple: dict[str, Any],
                                                           fake_clock: clock.FakeClock) -> None:
    """POST writes history "created in stage X" (no from, no days) and an opportunity_created event."""
    before = api.count("domain_event")
    opp = api.opportunity(simple, 1, as_user="rep1")
    assert opp["created_source"] == "user"
    [created] = api.history(opp, as_user="rep1")
    assert created["from_stage_id"] is None
    assert created["to_stage_id"] == simple["stages"][1]["id"]
    assert created["to_stage_name"] == "Talk"
    assert created["days_in_previous_stage"] is None
    assert created["moved_by_id"] == created["owner_id"] == api.uid("rep1")
    assert parse_time(created["moved_at"]) == fake_clock.now()
    assert created["source"] == "user"
    events = api.events()
    assert len(events) == before + 1
    assert events[-1]["type"] == "opportunity_created"
    assert events[-1]["contact_id"] == opp["contact_id"]
    assert events[-1]["source"] == "user"
    assert events[-1]["payload"] == {"opportunity_id": opp["id"], "pipeline_id": simple["id"],
                                     "stage_id": simple["stages"][1]["id"], "source": "user"}
    assert api.events("stage_moved") == []


def test_campaign_created_opportunity_says_campaign(api: ApiActions, simple: dict[str, Any]) -> None:
    """An opportunity made by a campaign step records and announces source "campaign"."""
    contact = api.contact()
    with transaction(api.sessions()) as session:
        opp_id = opp_service.create_opportunity(
            session, SYSTEM, title="Auto", contact_id=contact["id"], pipeline_id=simple["id"],
            stage_id=simple["stages"][1]["id"], source="campaign", campaign_id=7).id
    record = api.ok("GET", f"/opportunities/{opp_id}")
    assert record["created_source"] == "campaign"
    [created] = record["history"]
    assert (created["source"], created["moved_by_id"], created["from_stage_id"]) == ("campaign", None, None)
    [event] = api.events("opportunity_created")
    assert event["source"] == "campaign"
    assert event["payload"]["source"] == "campaign"
    assert api.count("stage_move", "campaign_id = 7") == 1


def test_creation_history_and_event_share_one_transaction(api: ApiActions, simple: dict[str, Any]) -> None:
    """Rolled back, the opportunity, its history row and its event all vanish together."""
    contact = api.contact()
    counts = api.row_counts()
    session = api.sessions()()
    try:
        opp_service.create_opportunity(session, SYSTEM, title="Tx", contact_id=contact["id"],
                                       pipeline_id=simple["id"], stage_id=simple["stages"][0]["id"])
        session.flush()
        session.rollback()
    finally:
        session.close()
    assert api.row_counts() == counts


def test_failing_event_handling_undoes_the_creation(api: ApiActions, simple: dict[str, Any]) -> None:
    """When goal matching refuses the event, no opportunity, history or event is kept."""
    import runtime
    from models import events

    def refuse(*_args: Any) -> None:
        raise Conflict("goal matching refused", code="injected")

    contact = api.contact()
    counts = api.row_counts()
    body = {"title": "X", "contact_id": contact["id"], "pipeline_id": simple["id"],
            "stage_id": simple["stages"][0]["id"]}
    events.set_dispatcher(refuse)
    try:
        error_of(api.post("/opportunities", body), 409, "injected")
    finally:
        runtime.install()
    assert api.row_counts() == counts


def test_failing_event_handling_undoes_the_move(api: ApiActions, simple: dict[str, Any]) -> None:
    """A move and its stage_moved event commit together or not at all."""
    import runtime
    from models import events

    def refuse(*_args: Any) -> None:
        raise Conflict("goal matching refused", code="injected")

    opp = api.opportunity(simple, 0)
    counts = api.row_counts()
    events.set_dispatcher(refuse)
    try:
        error_of(api.move(opp, simple["stages"][1]), 409, "injected")
    finally:
        runtime.install()
    assert api.ok("GET", f"/opportunities/{opp['id']}")["stage_id"] == simple["stages"][0]["id"]
    assert api.row_counts() == counts
