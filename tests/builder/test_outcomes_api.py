"""Won and lost through /api/v1 (DESIGN.md §6.6): close, reopen, reasons, history, events, the goal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from models import clock
from tests.builder.conftest import ApiActions
from tests.builder.conftest import error_fields
from tests.builder.conftest import error_of


def parse_time(value: str) -> datetime:
    """An API timestamp as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def close(api: ApiActions, opp: dict[str, Any], outcome: str, *, as_user: str = "admin", **extra: Any) -> Any:
    """POST /opportunities/{id}/close and return the response."""
    return api.post(f"/opportunities/{opp['id']}/close", {"outcome": outcome, **extra}, as_user=as_user)


def stage_named(pipeline: dict[str, Any], name: str) -> dict[str, Any]:
    """The stage of a pipeline with this name."""
    return next(s for s in pipeline["stages"] if s["name"] == name)


def test_won_is_a_move_into_the_final_stage_through_the_checklist(
        api: ApiActions, sales: dict[str, Any], fake_clock: clock.FakeClock) -> None:
    """A win from Proposed waits for "Sent the contract to legal"; then it moves into Closed and is won."""
    proposed, closed = stage_named(sales, "Proposed"), stage_named(sales, "Closed")
    opp = api.opportunity(sales, 4, owner_id=api.uid("rep1"), value=9000)
    api.token("rep1")
    counts = api.row_counts()
    blocked = error_of(close(api, opp, "won", as_user="rep1"), 409, "checklist_incomplete")
    assert [i["text"] for i in blocked["details"]["items"]] == ["Sent the contract to legal"]
    assert api.row_counts() == counts  # nothing written
    api.tick_required(opp, proposed, as_user="rep1")
    fake_clock.advance(days=2)
    won = api.ok("POST", f"/opportunities/{opp['id']}/close", {"outcome": "won", "note": "Signed on the call"},
                 as_user="rep1", status=200)
    assert (won["outcome"], won["stage_id"], won["close_note"]) == ("won", closed["id"], "Signed on the call")
    assert parse_time(won["closed_at"]) == fake_clock.now()
    last = api.history(opp)[-1]
    assert (last["kind"], last["from_stage_id"], last["to_stage_id"]) == ("won", proposed["id"], closed["id"])
    assert (last["days_in_previous_stage"], last["note"], last["moved_by_id"]) == (2.0, "Signed on the call",
                                                                                 api.uid("rep1"))
    moved, closed_event = api.events()[-2:]
    assert (moved["type"], moved["payload"]["to_stage_id"]) == ("stage_moved", closed["id"])
    assert closed_event["type"] == "opportunity_closed"
    assert closed_event["payload"] == {"opportunity_id": opp["id"], "pipeline_id": sales["id"],
                                       "stage_id": closed["id"], "outcome": "won", "reason": "", "value": 9000.0}
    assert closed_event["actor_id"] == api.uid("rep1")


def test_a_stage_move_into_the_final_stage_wins_too(api: ApiActions, sales: dict[str, Any]) -> None:
    """PATCH stage_id = the final stage is the same win (one rule, whichever way the rep saves it)."""
    opp = api.opportunity(sales, 4)
    api.tick_required(opp, sales["stages"][4])
    moved = api.ok("PATCH", f"/opportunities/{opp['id']}", {"stage_id": sales["stages"][5]["id"]})
    assert moved["outcome"] == "won" and moved["closed_at"] is not None
    assert [e["payload"]["outcome"] for e in api.events("opportunity_closed")] == ["won"]


def test_lost_from_any_stage_whatever_the_checklist(api: ApiActions, sales: dict[str, Any],
                                                    fake_clock: clock.FakeClock) -> None:
    """A deal stuck in Discovery with unchecked required items can be lost; it stays in its stage."""
    discovery = stage_named(sales, "Discovery")
    opp = api.opportunity(sales, 2, owner_id=api.uid("rep1"), value=4200)
    fake_clock.advance(days=5, hours=12)
    lost = api.ok("POST", f"/opportunities/{opp['id']}/close",
                  {"outcome": "lost", "reason": "Chose a competitor", "note": "  Went with Globex  "},
                  as_user="rep1", status=200)
    assert (lost["outcome"], lost["stage_id"]) == ("lost", discovery["id"])
    assert (lost["close_reason"], lost["close_note"]) == ("Chose a competitor", "Went with Globex")
    assert parse_time(lost["closed_at"]) == fake_clock.now()
    assert lost["overdue"] is False  # a lost deal is never overdue
    last = api.history(opp)[-1]
    assert (last["kind"], last["from_stage_id"], last["to_stage_id"]) == ("lost", discovery["id"], discovery["id"])
    assert (last["reason"], last["note"], last["days_in_previous_stage"]) == ("Chose a competitor",
                                                                              "Went with Globex", 5.5)
    event = api.events()[-1]
    assert (event["type"], event["contact_id"], event["source"]) == ("opportunity_closed", opp["contact_id"], "user")
    assert event["payload"]["outcome"] == "lost" and event["payload"]["reason"] == "Chose a competitor"
    assert api.events("stage_moved") == []  # a loss is not a stage move


def test_a_closed_deal_is_not_closed_again_nor_moved(api: ApiActions, sales: dict[str, Any]) -> None:
    """409 already_closed / opportunity_closed, and nothing changes."""
    opp = api.opportunity(sales, 0)
    api.ok("POST", f"/opportunities/{opp['id']}/close", {"outcome": "lost"}, status=200)
    counts = api.row_counts()
    error_of(close(api, opp, "won"), 409, "already_closed")
    error_of(close(api, opp, "lost", reason="Again"), 409, "already_closed")
    error_of(api.move(opp, sales["stages"][1]), 409, "opportunity_closed")
    assert api.row_counts() == counts


def test_reopen_a_lost_deal_keeps_its_stage(api: ApiActions, sales: dict[str, Any],
                                            fake_clock: clock.FakeClock) -> None:
    """Reopened: open again in the stage it was lost in, time in stage restarts, history says so."""
    opp = api.opportunity(sales, 1)
    api.ok("POST", f"/opportunities/{opp['id']}/close", {"outcome": "lost", "reason": "Bad timing"}, status=200)
    fake_clock.advance(days=10)
    reopened = api.ok("POST", f"/opportunities/{opp['id']}/reopen", status=200)
    assert (reopened["outcome"], reopened["stage_id"], reopened["closed_at"]) == ("open", sales["stages"][1]["id"],
                                                                                   None)
    assert (reopened["close_reason"], reopened["days_in_stage"], reopened["overdue"]) == ("", 0.0, False)
    last = api.history(opp)[-1]
    assert (last["kind"], last["to_stage_id"], last["days_in_previous_stage"]) == ("reopened",
                                                                                   sales["stages"][1]["id"], None)
    assert api.events("stage_moved") == []  # reopening is not a stage move for goals


def test_reopen_a_won_deal_goes_back_to_the_stage_it_was_won_from(api: ApiActions, sales: dict[str, Any]) -> None:
    """Won from Developed (skipping Proposed): reopen puts it back in Developed."""
    opp = api.opportunity(sales, 3)
    api.tick_required(opp, sales["stages"][3])
    api.ok("POST", f"/opportunities/{opp['id']}/close", {"outcome": "won"}, status=200)
    reopened = api.ok("POST", f"/opportunities/{opp['id']}/reopen", status=200)
    assert (reopened["outcome"], reopened["stage_id"]) == ("open", sales["stages"][3]["id"])
    last = api.history(opp)[-1]
    assert (last["kind"], last["from_stage_id"], last["to_stage_id"]) == ("reopened", sales["stages"][5]["id"],
                                                                          sales["stages"][3]["id"])
    assert api.move(opp, sales["stages"][4]).status_code == 200  # open deals move again


def test_created_in_the_final_stage_is_won_and_reopens_into_the_stage_before(
        api: ApiActions, sales: dict[str, Any]) -> None:
    """A deal entered as already closed is won (no event, like any hand-made creation); reopen → Proposed."""
    opp = api.opportunity(sales, 5)
    assert opp["outcome"] == "won" and opp["closed_at"] is not None
    assert api.events("opportunity_closed") == []
    assert api.ok("POST", f"/opportunities/{opp['id']}/reopen", status=200)["stage_id"] == sales["stages"][4]["id"]


def test_reopen_an_open_deal_is_refused(api: ApiActions, sales: dict[str, Any]) -> None:
    """409 not_closed."""
    opp = api.opportunity(sales, 0)
    error_of(api.post(f"/opportunities/{opp['id']}/reopen"), 409, "not_closed")


def test_close_input_errors_name_the_field(api: ApiActions, sales: dict[str, Any]) -> None:
    """A wrong outcome or an over-long reason is a 422 naming it; nothing changes."""
    opp = api.opportunity(sales, 0)
    counts = api.row_counts()
    assert error_fields(close(api, opp, "maybe")) == {"outcome"}
    assert error_fields(close(api, opp, "lost", reason="x" * 201)) == {"reason"}
    assert error_fields(api.post(f"/opportunities/{opp['id']}/close", {})) == {"outcome"}
    assert api.row_counts() == counts


def test_who_may_close(api: ApiActions, sales: dict[str, Any]) -> None:
    """The owner closes; another rep cannot see it (404); a marketer may not (403)."""
    opp = api.opportunity(sales, 0, as_user="rep1")
    error_of(close(api, opp, "lost", as_user="rep2"), 404)
    error_of(close(api, opp, "lost", as_user="marketer"), 403)
    assert close(api, opp, "lost", as_user="rep1").status_code == 200
    error_of(api.post(f"/opportunities/{opp['id']}/reopen", as_user="rep2"), 404)


def test_lost_deals_leave_the_board_filter_and_the_overdue_list(api: ApiActions, sales: dict[str, Any],
                                                               fake_clock: clock.FakeClock) -> None:
    """GET /opportunities?outcome=… filters; a lost deal is never overdue."""
    keep, drop = api.opportunity(sales, 0, title="Keep"), api.opportunity(sales, 0, title="Drop")
    close(api, drop, "lost")
    fake_clock.advance(days=10)  # past Prospect's 7 target days
    titles = lambda **q: sorted(o["title"] for o in api.ok("GET", "/opportunities", query_string=q))  # noqa: E731
    assert titles(outcome="open") == ["Keep"]
    assert titles(outcome="lost") == ["Drop"]
    assert titles(outcome="open,lost") == ["Drop", "Keep"]
    assert titles(overdue="true") == ["Keep"]
    assert "outcome" in error_fields(api.get("/opportunities", query_string={"outcome": "closed"}))
    assert keep["outcome"] == "open"


def test_expected_close_date_is_kept_and_cleared(api: ApiActions, sales: dict[str, Any]) -> None:
    """Create with it, change it, clear it with null."""
    opp = api.opportunity(sales, 0, expected_close_date="2026-03-31")
    assert opp["expected_close_date"] == "2026-03-31"
    patched = api.ok("PATCH", f"/opportunities/{opp['id']}", {"expected_close_date": "2026-04-15"})
    assert patched["expected_close_date"] == "2026-04-15"
    assert api.ok("PATCH", f"/opportunities/{opp['id']}", {"expected_close_date": None})["expected_close_date"] is None
    assert "expected_close_date" in error_fields(api.patch(f"/opportunities/{opp['id']}",
                                                           {"expected_close_date": "soon"}))


def test_lost_reasons_are_configured_per_pipeline(api: ApiActions, sales: dict[str, Any]) -> None:
    """A pipeline starts with a default list; an admin sets its own (trimmed, without duplicates)."""
    assert "Chose a competitor" in sales["lost_reasons"]
    updated = api.ok("PATCH", f"/pipelines/{sales['id']}",
                     {"lost_reasons": ["  Price ", "price", "Went   dark", ""]})
    assert updated["lost_reasons"] == ["Price", "Went dark"]
    assert api.ok("GET", f"/pipelines/{sales['id']}")["lost_reasons"] == ["Price", "Went dark"]
    error_of(api.patch(f"/pipelines/{sales['id']}", {"lost_reasons": []}, as_user="rep1"), 403)
    assert error_fields(api.patch(f"/pipelines/{sales['id']}", {"name": None})) == {"name"}


# --- the goal -------------------------------------------------------------------------------------


def publish(api: ApiActions, goal_config: dict[str, Any], name: str) -> int:
    """Publish a campaign: an opportunity_closed goal → a sequence with a note; return its id."""
    graph = {"nodes": [
        {"id": "g1", "kind": "goal", "type": "opportunity_closed", "name": name, "config": goal_config,
         "position": {"x": 0, "y": 0}},
        {"id": "s1", "kind": "sequence", "name": f"After: {name}", "position": {"x": 300, "y": 0},
         "steps": [{"id": "t1", "type": "delay", "config": {"amount": 7, "unit": "days"}},
                   {"id": "t2", "type": "create_note", "config": {"body": "Checked in"}}]}],
        "edges": [{"source": "g1", "target": "s1"}]}
    campaign = api.ok("POST", "/campaigns", {"name": name}, as_user="marketer")
    api.ok("PUT", f"/campaigns/{campaign['id']}/draft", {"graph": graph}, as_user="marketer")
    api.ok("POST", f"/campaigns/{campaign['id']}/publish", as_user="marketer", status=200)
    return int(campaign["id"])


def sequences(api: ApiActions, contact_id: int) -> list[str]:
    """Names of the contact's sequences."""
    return [r["name"] for r in api.ok("GET", f"/contacts/{contact_id}/sequences")]


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_the_opportunity_closed_goal_enrolls_on_its_outcome_only(
        api: ApiActions, sales: dict[str, Any], outcome: str) -> None:
    """Win-back on lost, onboarding on won, each scoped to the pipeline; the other outcome enrolls nobody."""
    other = api.pipeline("sales_workflow", name="Other")
    publish(api, {"pipeline_id": sales["id"], "outcome": "lost"}, "Win-back")
    publish(api, {"pipeline_id": sales["id"], "outcome": "won"}, "Onboarding")
    elsewhere = api.opportunity(other, 0)
    close(api, elsewhere, outcome)
    assert sequences(api, elsewhere["contact_id"]) == []  # another pipeline
    opp = api.opportunity(sales, 4)
    api.tick_required(opp, sales["stages"][4])
    assert close(api, opp, outcome).status_code == 200
    assert sequences(api, opp["contact_id"]) == ["After: Win-back" if outcome == "lost" else "After: Onboarding"]


def test_a_win_fires_moved_into_final_stage_goals_too(api: ApiActions, sales: dict[str, Any]) -> None:
    """A win is a stage move: a "moved into Closed" goal is satisfied as well as the won goal."""
    closed = stage_named(sales, "Closed")
    graph = {"nodes": [
        {"id": "g1", "kind": "goal", "type": "stage_moved", "name": "Into Closed",
         "config": {"pipeline_id": sales["id"], "stage_id": closed["id"], "direction": "into"},
         "position": {"x": 0, "y": 0}},
        {"id": "s1", "kind": "sequence", "name": "Hand-off", "position": {"x": 300, "y": 0},
         "steps": [{"id": "t1", "type": "delay", "config": {"amount": 1, "unit": "days"}}]}],
        "edges": [{"source": "g1", "target": "s1"}]}
    campaign = api.ok("POST", "/campaigns", {"name": "Hand-off"}, as_user="marketer")
    api.ok("PUT", f"/campaigns/{campaign['id']}/draft", {"graph": graph}, as_user="marketer")
    api.ok("POST", f"/campaigns/{campaign['id']}/publish", as_user="marketer", status=200)
    publish(api, {"outcome": "won"}, "Onboarding")
    opp = api.opportunity(sales, 4)
    api.tick_required(opp, sales["stages"][4])
    close(api, opp, "won")
    assert sorted(sequences(api, opp["contact_id"])) == ["After: Onboarding", "Hand-off"]
