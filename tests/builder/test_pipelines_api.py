"""Pipelines, stages, templates and the forecast through /api/v1."""

from __future__ import annotations

from typing import Any

import pytest

from models import clock
from tests.builder.conftest import ApiActions
from tests.builder.conftest import error_fields
from tests.builder.conftest import error_of

IRREGULAR_PAST = {"had", "sent", "made", "met", "held", "got", "paid", "took", "wrote", "built", "told"}


def past_tense(text: str) -> bool:
    """True when the item starts with a past-tense verb (seed 000 phrasing)."""
    first = text.split()[0].lower()
    return first.endswith("ed") or first in IRREGULAR_PAST


def test_sales_workflow_template_has_the_six_stages_in_order(api: ApiActions) -> None:
    """Prospect … Closed, numbers rising, probability rising to 100 at Closed."""
    pipeline = api.pipeline("sales_workflow", name="Sales")
    stages = pipeline["stages"]
    assert pipeline["kind"] == "sales"
    assert [s["name"] for s in stages] == ["Prospect", "Qualified", "Discovery", "Developed", "Proposed", "Closed"]
    numbers = [s["number"] for s in stages]
    assert numbers == sorted(numbers) and len(set(numbers)) == 6
    probabilities = [s["probability"] for s in stages]
    assert all(a < b for a, b in zip(probabilities, probabilities[1:], strict=False))
    assert probabilities[-1] == 100 and probabilities[0] > 0
    assert all(s["target_days"] > 0 for s in stages[:-1])


def test_sales_workflow_checklists_are_past_tense_with_required_items(api: ApiActions) -> None:
    """Every open stage has a required item; every item reads in the past tense."""
    stages = api.pipeline("sales_workflow")["stages"]
    items = [item for stage in stages for item in stage["checklist"]]
    assert items and all(past_tense(i["text"]) for i in items), [i["text"] for i in items]
    assert all(any(i["required"] for i in s["checklist"]) for s in stages[:-1])
    assert any(not i["required"] for i in items)


def test_fulfillment_template_numbers_100_to_155_with_completion_rising_to_100(api: ApiActions) -> None:
    """Stages 100, 105 … 155; probability (completion %) strictly rising, 100 at the last."""
    pipeline = api.pipeline("fulfillment", name="Fulfillment")
    stages = pipeline["stages"]
    assert pipeline["kind"] == "fulfillment"
    assert [s["number"] for s in stages] == list(range(100, 160, 5))
    probabilities = [s["probability"] for s in stages]
    assert all(a < b for a, b in zip(probabilities, probabilities[1:], strict=False))
    assert probabilities[-1] == 100
    items = [i for s in stages for i in s["checklist"]]
    assert items and all(past_tense(i["text"]) for i in items)


def test_template_can_be_extended_with_stages(api: ApiActions) -> None:
    """Extra stages join the template's, and reads list them by number."""
    pipeline = api.pipeline("fulfillment", stages=[{"number": 102, "name": "Deposit paid"}])
    got = api.ok("GET", f"/pipelines/{pipeline['id']}")
    numbers = [s["number"] for s in got["stages"]]
    assert numbers[:3] == [100, 102, 105] and len(numbers) == 13


def test_stages_come_back_ordered_by_number(api: ApiActions) -> None:
    """Stages given out of order are returned by number on create and on read."""
    pipeline = api.pipeline(None, stages=[
        {"number": 30, "name": "C"}, {"number": 10, "name": "A"}, {"number": 20, "name": "B"}])
    assert [s["name"] for s in pipeline["stages"]] == ["A", "B", "C"]
    assert [s["name"] for s in api.ok("GET", f"/pipelines/{pipeline['id']}")["stages"]] == ["A", "B", "C"]


def test_explicit_stages_keep_their_fields_and_checklists(api: ApiActions) -> None:
    """A custom stage keeps number, name, target days, probability and checklist items."""
    pipeline = api.pipeline(None, kind="leads", name="Leads", stages=[
        {"number": 1, "name": "New", "target_days": 2, "probability": 5,
         "checklist": [{"text": "Called the lead", "required": True}, {"text": "Logged the source"}]}])
    [stage] = pipeline["stages"]
    assert (stage["number"], stage["name"], stage["target_days"], stage["probability"]) == (1, "New", 2, 5)
    assert [(i["text"], i["required"]) for i in stage["checklist"]] == [
        ("Called the lead", True), ("Logged the source", False)]
    assert stage["pipeline_id"] == pipeline["id"] and pipeline["kind"] == "leads"


def test_list_and_get_pipelines(api: ApiActions) -> None:
    """GET /pipelines lists every pipeline; GET by id returns one; an unknown id is 404."""
    first = api.pipeline("sales_workflow", name="One")
    second = api.pipeline("fulfillment", name="Two")
    listed = api.ok("GET", "/pipelines", as_user="rep1")
    assert [p["id"] for p in listed] == [first["id"], second["id"]]
    assert api.ok("GET", f"/pipelines/{second['id']}") == second
    error_of(api.get("/pipelines/9999"), 404, "not_found")


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "sales", "template": "sales_workflow"}, "name"),
    ({"name": "X", "template": "sales_workflow"}, "kind"),
    ({"name": "X", "kind": "pipeline", "template": "sales_workflow"}, "kind"),
    ({"name": "X", "kind": "sales", "template": "crm"}, "template"),
    ({"name": "X", "kind": "sales", "stages": [{"number": 1, "name": "A", "probability": 101}]},
     "stages.0.probability"),
    ({"name": "X", "kind": "sales", "stages": [{"number": -1, "name": "A"}]}, "stages.0.number"),
    ({"name": "X", "kind": "sales", "stages": [{"number": 1, "name": "A", "target_days": "soon"}]},
     "stages.0.target_days"),
    ({"name": "X", "kind": "sales", "stages": [{"number": 1}]}, "stages.0.name"),
    ({"name": "X", "kind": "sales", "stages": [{"number": 1, "name": "A", "colour": "red"}]}, "stages.0.colour"),
    ({"name": "X", "kind": "sales", "template": "sales_workflow", "owner": 1}, "owner"),
    ({"name": "X", "kind": "sales", "stages": "all"}, "stages"),
])
def test_invalid_pipeline_is_refused_naming_the_field(api: ApiActions, body: dict[str, Any], field: str) -> None:
    """422 validation_error lists the offending field; nothing is stored."""
    counts = api.row_counts()
    assert field in error_fields(api.post("/pipelines", body))
    assert api.row_counts() == counts


def test_pipeline_without_template_or_stages_is_refused(api: ApiActions) -> None:
    """A pipeline needs stages: 422 no_stages."""
    error_of(api.post("/pipelines", {"name": "Empty", "kind": "sales"}), 422, "no_stages")
    assert api.count("pipeline") == 0


def test_clashing_stage_numbers_write_nothing(api: ApiActions) -> None:
    """A duplicate number (also against the template's) is 409 and leaves no half pipeline."""
    counts = api.row_counts()
    body = {"name": "Dup", "kind": "sales", "stages": [{"number": 1, "name": "A"}, {"number": 1, "name": "B"}]}
    error_of(api.post("/pipelines", body), 409, "stage_number_taken")
    body = {"name": "Dup", "kind": "sales", "template": "sales_workflow", "stages": [{"number": 10, "name": "A"}]}
    error_of(api.post("/pipelines", body), 409, "stage_number_taken")
    assert api.row_counts() == counts


@pytest.mark.parametrize("role_user", ["rep1", "marketer"])
def test_only_admins_create_pipelines(api: ApiActions, role_user: str) -> None:
    """Reps and marketers get 403 and nothing is stored."""
    api.token(role_user)
    body = {"name": "Mine", "kind": "sales", "template": "sales_workflow"}
    error_of(api.post("/pipelines", body, as_user=role_user), 403, "forbidden")
    assert api.count("pipeline") == 0


# --- stages ----------------------------------------------------------------------------


def test_insert_a_stage_into_a_numbering_gap(api: ApiActions, sales: dict[str, Any]) -> None:
    """POST /pipelines/{id}/stages slots a stage between two others."""
    stage = api.ok("POST", f"/pipelines/{sales['id']}/stages", {
        "number": 15, "name": "Nurture", "target_days": 3, "probability": 15,
        "checklist": [{"text": "Sent the brochure", "required": True}]})
    assert stage["pipeline_id"] == sales["id"] and stage["checklist"][0]["required"] is True
    names = [s["name"] for s in api.ok("GET", f"/pipelines/{sales['id']}")["stages"]]
    assert names[:3] == ["Prospect", "Nurture", "Qualified"]


def test_inserting_a_taken_stage_number_is_a_conflict(api: ApiActions, sales: dict[str, Any]) -> None:
    """A number already used in the pipeline gives 409 stage_number_taken."""
    error_of(api.post(f"/pipelines/{sales['id']}/stages", {"number": 20, "name": "Twin"}), 409, "stage_number_taken")
    assert len(api.ok("GET", f"/pipelines/{sales['id']}")["stages"]) == 6


def test_stage_routes_check_ids_and_roles(api: ApiActions, sales: dict[str, Any]) -> None:
    """Unknown pipeline/stage is 404; reps may not add, change or delete stages."""
    error_of(api.post("/pipelines/9999/stages", {"number": 1, "name": "X"}), 404, "not_found")
    error_of(api.patch("/stages/9999", {"name": "X"}), 404, "not_found")
    error_of(api.delete("/stages/9999"), 404, "not_found")
    stage_id = sales["stages"][0]["id"]
    error_of(api.post(f"/pipelines/{sales['id']}/stages", {"number": 1, "name": "X"}, as_user="rep1"), 403)
    error_of(api.patch(f"/stages/{stage_id}", {"name": "X"}, as_user="rep1"), 403)
    error_of(api.delete(f"/stages/{stage_id}", as_user="rep1"), 403)


def test_patch_a_stage(api: ApiActions, sales: dict[str, Any]) -> None:
    """Rename, retune and replace the checklist of a stage."""
    stage_id = sales["stages"][1]["id"]
    stage = api.ok("PATCH", f"/stages/{stage_id}", {
        "name": "Qualified lead", "target_days": 10, "probability": 30,
        "checklist": [{"text": "Checked the budget", "required": True}]})
    assert (stage["name"], stage["target_days"], stage["probability"]) == ("Qualified lead", 10, 30)
    assert [i["text"] for i in stage["checklist"]] == ["Checked the budget"]
    assert api.ok("GET", f"/pipelines/{sales['id']}")["stages"][1] == stage


@pytest.mark.parametrize(("body", "field"), [
    ({"probability": 150}, "probability"),
    ({"target_days": -1}, "target_days"),
    ({"name": ""}, "name"),
    ({"name": None}, "name"),
    ({"number": None}, "number"),
    ({"probability": None}, "probability"),
    ({"checklist": None}, "checklist"),
    ({"checklist": [{"required": True}]}, "checklist.0.text"),
    ({"archived": True}, "archived"),
])
def test_invalid_stage_patch_is_refused(api: ApiActions, sales: dict[str, Any], body: dict[str, Any],
                                        field: str) -> None:
    """422 validation_error names the field; the stage is unchanged."""
    stage = sales["stages"][1]
    assert field in error_fields(api.patch(f"/stages/{stage['id']}", body))
    assert api.ok("GET", f"/pipelines/{sales['id']}")["stages"][1] == stage


def test_renumbering_onto_a_taken_number_is_a_conflict(api: ApiActions, sales: dict[str, Any]) -> None:
    """PATCH number to one in use gives 409."""
    error_of(api.patch(f"/stages/{sales['stages'][1]['id']}", {"number": 10}), 409, "stage_number_taken")


def test_delete_a_stage_only_when_empty(api: ApiActions, sales: dict[str, Any]) -> None:
    """A stage with opportunities is 409 stage_not_empty; an unused one is deleted."""
    opp = api.opportunity(sales, 2)
    error = error_of(api.delete(f"/stages/{sales['stages'][2]['id']}"), 409, "stage_not_empty")
    assert error["details"]["count"] == 1
    assert api.ok("GET", f"/opportunities/{opp['id']}")["stage_id"] == sales["stages"][2]["id"]
    assert api.delete(f"/stages/{sales['stages'][4]['id']}").status_code == 204
    names = [s["name"] for s in api.ok("GET", f"/pipelines/{sales['id']}")["stages"]]
    assert "Proposed" not in names and len(names) == 5


def test_deleting_a_stage_named_in_the_history_is_refused(api: ApiActions) -> None:
    """A stage opportunities have passed through keeps the sales history readable: 409."""
    pipeline = api.simple_pipeline(("A", 7, 10), ("B", 7, 50))
    opp = api.opportunity(pipeline, 0)
    assert api.move(opp, pipeline["stages"][1]).status_code == 200
    counts = api.row_counts()
    error_of(api.delete(f"/stages/{pipeline['stages'][0]['id']}"), 409, "stage_in_history")
    assert api.row_counts() == counts
    assert api.history(opp)[-1]["from_stage_name"] == "A"


# --- forecast --------------------------------------------------------------------------


@pytest.fixture
def forecast_pipeline(api: ApiActions) -> dict[str, Any]:
    """A (7 days, 10 %), B (14 days, 50 %), C (0 days, 100 %) with deals 1000+3000 in A, 2000 in B, 5000 in C.

    C is the final stage: the deal created in it is won, so it is not in the open forecast.
    """
    pipeline = api.simple_pipeline(("A", 7, 10), ("B", 14, 50), ("C", 0, 100), name="Forecast")
    api.opportunity(pipeline, 0, value=1000, owner_id=api.uid("rep1"))
    api.opportunity(pipeline, 0, value=3000, owner_id=api.uid("rep2"))
    api.opportunity(pipeline, 1, value=2000, owner_id=api.uid("rep1"))
    api.opportunity(pipeline, 2, value=5000, owner_id=api.uid("rep1"))
    return pipeline


def figures(forecast: dict[str, Any]) -> list[tuple[str, int, float, float, int]]:
    """(name, count, value, weighted value, overdue) per stage."""
    return [(s["name"], s["count"], s["value"], s["weighted_value"], s["overdue"]) for s in forecast["stages"]]


def test_forecast_counts_values_and_weights_per_stage(api: ApiActions, forecast_pipeline: dict[str, Any]) -> None:
    """value × probability per stage over open deals, with totals; the won deal is reported apart."""
    forecast = api.ok("GET", f"/pipelines/{forecast_pipeline['id']}/forecast")
    assert forecast["pipeline_id"] == forecast_pipeline["id"]
    assert figures(forecast) == [("A", 2, 4000, 400, 0), ("B", 1, 2000, 1000, 0), ("C", 0, 0, 0, 0)]
    assert (forecast["total_value"], forecast["total_weighted_value"], forecast["total_overdue"]) == (6000, 1400, 0)
    assert forecast["won"] == {"count": 1, "value": 5000}


def test_forecast_overdue_follows_the_clock_past_target_days(
        api: ApiActions, forecast_pipeline: dict[str, Any], fake_clock: clock.FakeClock) -> None:
    """Overdue means more than target days in the stage; a 100 % / 0-day stage never is."""
    url = f"/pipelines/{forecast_pipeline['id']}/forecast"
    fake_clock.advance(days=7)
    assert [s["overdue"] for s in api.ok("GET", url)["stages"]] == [0, 0, 0]
    fake_clock.advance(minutes=1)
    assert [s["overdue"] for s in api.ok("GET", url)["stages"]] == [2, 0, 0]
    fake_clock.advance(days=7)
    forecast = api.ok("GET", url)
    assert [s["overdue"] for s in forecast["stages"]] == [2, 1, 0]
    assert forecast["total_overdue"] == 3


def test_a_move_resets_overdue(api: ApiActions, forecast_pipeline: dict[str, Any],
                               fake_clock: clock.FakeClock) -> None:
    """Time in stage restarts on a move, so the deal is no longer overdue."""
    fake_clock.advance(days=8)
    overdue = api.ok("GET", "/opportunities", query_string={"overdue": "true"})
    assert sorted(o["value"] for o in overdue) == [1000, 3000]
    assert all(o["overdue"] for o in overdue)
    assert api.move(overdue[0], forecast_pipeline["stages"][1]).status_code == 200
    forecast = api.ok("GET", f"/pipelines/{forecast_pipeline['id']}/forecast")
    assert [s["overdue"] for s in forecast["stages"]] == [1, 0, 0]


def test_forecast_by_owner_and_for_a_rep(api: ApiActions, forecast_pipeline: dict[str, Any]) -> None:
    """owner_id narrows the forecast; a rep's forecast covers only deals the rep may see."""
    url = f"/pipelines/{forecast_pipeline['id']}/forecast"
    by_owner = api.ok("GET", url, query_string={"owner_id": api.uid("rep2")})
    assert figures(by_owner) == [("A", 1, 3000, 300, 0), ("B", 0, 0, 0, 0), ("C", 0, 0, 0, 0)]
    as_rep = api.ok("GET", url, as_user="rep1")
    assert as_rep["total_value"] == 3000  # 1000 in A and 2000 in B; rep1's 5000 in C is won


def test_forecast_errors(api: ApiActions, forecast_pipeline: dict[str, Any]) -> None:
    """Unknown pipeline is 404; a bad or unknown query parameter is 422 naming it."""
    error_of(api.get("/pipelines/9999/forecast"), 404, "not_found")
    url = f"/pipelines/{forecast_pipeline['id']}/forecast"
    assert "owner_id" in error_fields(api.get(url, query_string={"owner_id": "me"}))
    assert "stage" in error_fields(api.get(url, query_string={"stage": "1"}))
