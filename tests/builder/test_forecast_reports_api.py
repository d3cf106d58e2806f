"""The forecast (open deals by stage, owner, expected close month; won and lost apart) and the sales
reports (win rate, days in stage against target, funnel, CSV), checked against hand-computed figures."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest

from models import clock
from tests.builder.conftest import ApiActions
from tests.builder.conftest import error_fields
from tests.builder.conftest import error_of

# --- forecast ---------------------------------------------------------------------------------


@pytest.fixture
def book(api: ApiActions) -> dict[str, Any]:
    """Stages A (7 d, 10 %), B (14 d, 50 %), C (final, 100 %) and seven deals:

    d1 A rep1 1000 (Feb), d2 A rep2 3000 (Mar, shared with rep3), d3 B rep1 2000 (Feb),
    d4 B rep2 4000 (no date), d5 rep1 6000 won from B, d6 rep2 1500 lost in A,
    d7 A unassigned 500 (Mar).
    """
    pipeline = api.simple_pipeline(("A", 7, 10), ("B", 14, 50), ("C", 0, 100), name="Book")
    rep1, rep2 = api.uid("rep1"), api.uid("rep2")
    api.uid("rep3")

    def deal(stage: int, owner: int | None, value: float, month: str | None) -> dict[str, Any]:
        fields: dict[str, Any] = {"value": value, "owner_id": owner}
        if month:
            fields["expected_close_date"] = month
        return api.opportunity(pipeline, stage, **fields)

    deals = {
        "d1": deal(0, rep1, 1000, "2026-02-10"), "d2": deal(0, rep2, 3000, "2026-03-05"),
        "d3": deal(1, rep1, 2000, "2026-02-20"), "d4": deal(1, rep2, 4000, None),
        "d5": deal(1, rep1, 6000, "2026-01-31"), "d6": deal(0, rep2, 1500, "2026-02-01"),
        "d7": deal(0, None, 500, "2026-03-30"),
    }
    api.ok("POST", f"/opportunities/{deals['d5']['id']}/close", {"outcome": "won"}, status=200)
    api.ok("POST", f"/opportunities/{deals['d6']['id']}/close", {"outcome": "lost", "reason": "No budget"},
           status=200)
    api.ok("POST", f"/opportunities/{deals['d2']['id']}/shares", {"user_id": api.uid("rep3")})
    return {"pipeline": pipeline, "deals": deals}


def stage_rows(forecast: dict[str, Any]) -> list[tuple[str, int, float, float]]:
    """(stage, count, value, weighted) per stage."""
    return [(s["name"], s["count"], s["value"], s["weighted_value"]) for s in forecast["stages"]]


def test_forecast_counts_open_deals_only_and_reports_won_and_lost_apart(
        api: ApiActions, book: dict[str, Any]) -> None:
    """An admin sees every deal: by stage, owner and expected close month; won 6000 and lost 1500 apart."""
    f = api.ok("GET", f"/pipelines/{book['pipeline']['id']}/forecast")
    assert stage_rows(f) == [("A", 3, 4500, 450), ("B", 2, 6000, 3000), ("C", 0, 0, 0)]
    assert (f["total_count"], f["total_value"], f["total_weighted_value"]) == (5, 10500, 3450)
    assert f["won"] == {"count": 1, "value": 6000} and f["lost"] == {"count": 1, "value": 1500}
    assert [(o["owner_name"], o["count"], o["value"], o["weighted_value"]) for o in f["by_owner"]] == [
        ("rep1", 2, 3000, 1100), ("rep2", 2, 7000, 2300), ("Unassigned", 1, 500, 50)]
    assert [(m["month"], m["count"], m["value"], m["weighted_value"]) for m in f["by_month"]] == [
        ("2026-02", 2, 3000, 1100), ("2026-03", 2, 3500, 350), (None, 1, 4000, 2000)]
    assert f["owners"] == [{"id": api.uid("rep1"), "name": "rep1"}, {"id": api.uid("rep2"), "name": "rep2"},
                           {"id": None, "name": "Unassigned"}]


def test_a_won_deal_leaves_open_value_and_weighted_forecast(api: ApiActions, book: dict[str, Any]) -> None:
    """The issue's symptom: winning d3 (2000 in B) lowers open value by 2000 and weighted by 1000."""
    url = f"/pipelines/{book['pipeline']['id']}/forecast"
    before = api.ok("GET", url)
    api.ok("POST", f"/opportunities/{book['deals']['d3']['id']}/close", {"outcome": "won"}, status=200)
    after = api.ok("GET", url)
    assert after["total_value"] == before["total_value"] - 2000
    assert after["total_weighted_value"] == before["total_weighted_value"] - 1000
    assert after["won"] == {"count": 2, "value": 8000}


def test_forecast_for_reps_covers_only_what_they_may_see(api: ApiActions, book: dict[str, Any]) -> None:
    """rep3 sees only d2 (shared); rep1 sees their own; the owner filter offers only visible owners."""
    url = f"/pipelines/{book['pipeline']['id']}/forecast"
    rep3 = api.ok("GET", url, as_user="rep3")
    assert stage_rows(rep3) == [("A", 1, 3000, 300), ("B", 0, 0, 0), ("C", 0, 0, 0)]
    assert rep3["owners"] == [{"id": api.uid("rep2"), "name": "rep2"}]
    assert rep3["won"] == {"count": 0, "value": 0} and rep3["lost"] == {"count": 0, "value": 0}
    rep1 = api.ok("GET", url, as_user="rep1")
    assert stage_rows(rep1) == [("A", 1, 1000, 100), ("B", 1, 2000, 1000), ("C", 0, 0, 0)]
    assert rep1["won"] == {"count": 1, "value": 6000}
    assert [o["id"] for o in rep1["owners"]] == [api.uid("rep1")]
    # asking for someone else's deals shows nothing the rep may not see
    other = api.ok("GET", url, as_user="rep1", query_string={"owner_id": api.uid("rep2")})
    assert other["total_count"] == 0 and other["by_owner"] == []


def test_owner_filter_narrows_every_group(api: ApiActions, book: dict[str, Any]) -> None:
    """owner_id = rep2: d2 and d4 open, d6 lost."""
    f = api.ok("GET", f"/pipelines/{book['pipeline']['id']}/forecast", query_string={"owner_id": api.uid("rep2")})
    assert stage_rows(f) == [("A", 1, 3000, 300), ("B", 1, 4000, 2000), ("C", 0, 0, 0)]
    assert [m["month"] for m in f["by_month"]] == ["2026-03", None]
    assert f["won"]["count"] == 0 and f["lost"] == {"count": 1, "value": 1500}


# --- reports ----------------------------------------------------------------------------------


@pytest.fixture
def history(api: ApiActions, fake_clock: clock.FakeClock) -> dict[str, Any]:
    """One month of sales on A (7 d), B (14 d), C (final), from 2026-01-05 09:00 UTC (day 0):

    day 0: d1, d2 (rep1; 1000, 2000), d3, d4 (rep2; 4000, 8000) created in A
    day 2: d3 lost in A "No budget"        day 3: d1 → B          day 9: d2 → B (9 days in A: late)
    day 13: d1 won (10 days in B)          day 29: d2 lost in B "Price too high" (20 days in B: late)
    d4 stays in A (29 days: overdue now).
    """
    pipeline = api.simple_pipeline(("A", 7, 10), ("B", 14, 50), ("C", 0, 100), name="Velocity")
    rep1, rep2 = api.uid("rep1"), api.uid("rep2")
    d1 = api.opportunity(pipeline, 0, value=1000, owner_id=rep1)
    d2 = api.opportunity(pipeline, 0, value=2000, owner_id=rep1)
    d3 = api.opportunity(pipeline, 0, value=4000, owner_id=rep2)
    d4 = api.opportunity(pipeline, 0, value=8000, owner_id=rep2)
    b = pipeline["stages"][1]
    start = fake_clock.now()

    def at(day: int) -> None:
        fake_clock.set(start + timedelta(days=day))
        api.tokens.clear()  # tokens are short-lived against a moving clock

    at(2)
    api.ok("POST", f"/opportunities/{d3['id']}/close", {"outcome": "lost", "reason": "No budget"}, status=200)
    at(3)
    assert api.move(d1, b).status_code == 200
    at(9)
    assert api.move(d2, b).status_code == 200
    at(13)
    api.ok("POST", f"/opportunities/{d1['id']}/close", {"outcome": "won"}, status=200)
    at(29)
    api.ok("POST", f"/opportunities/{d2['id']}/close", {"outcome": "lost", "reason": "Price too high"}, status=200)
    assert d4["stage_id"] == pipeline["stages"][0]["id"]
    return {"pipeline": pipeline}


def report(api: ApiActions, pipeline: dict[str, Any], as_user: str = "admin", **query: Any) -> Any:
    """GET /reports/sales."""
    return api.ok("GET", "/reports/sales", query_string={"pipeline_id": pipeline["id"], **query}, as_user=as_user)


def rates(rows: list[dict[str, Any]]) -> list[tuple[Any, int, int, float | None, float, float]]:
    """(label, won, lost, rate, won value, lost value)."""
    return [(r["label"], r["won"], r["lost"], r["win_rate"], r["won_value"], r["lost_value"]) for r in rows]


def test_win_rate_per_pipeline_owner_and_month(api: ApiActions, history: dict[str, Any]) -> None:
    """1 won of 3 closed; rep1 1 of 2, rep2 0 of 1; January 1 of 2 (d1, d3), February 0 of 1 (d2)."""
    r = report(api, history["pipeline"])
    assert rates([r["overall"]]) == [("Velocity", 1, 2, 0.3333, 1000, 6000)]
    assert rates(r["by_owner"]) == [("rep1", 1, 1, 0.5, 1000, 2000), ("rep2", 0, 1, 0.0, 0, 4000)]
    assert rates(r["by_month"]) == [("2026-01", 1, 1, 0.5, 1000, 4000), ("2026-02", 0, 1, 0.0, 0, 2000)]
    assert rates(r["by_pipeline"]) == [("Velocity", 1, 2, 0.3333, 1000, 6000)]
    assert [(x["reason"], x["count"], x["value"]) for x in r["lost_reasons"]] == [("No budget", 1, 4000),
                                                                                   ("Price too high", 1, 2000)]


def test_days_in_stage_against_target_with_overdue_counts(api: ApiActions, history: dict[str, Any]) -> None:
    """A: stays 2, 3, 9 days → 4.67 avg, 1 late (9 > 7), d4 overdue now; B: 10 and 20 → 15, 1 late (20 > 14)."""
    stages = report(api, history["pipeline"])["stages"]
    assert [(s["name"], s["target_days"], s["stays"], s["avg_days"], s["late"], s["open_now"], s["overdue_now"])
            for s in stages] == [("A", 7, 3, 4.67, 1, 1, 1), ("B", 14, 2, 15.0, 1, 0, 0), ("C", 0, 0, None, 0, 0, 0)]


def test_funnel_conversion_from_stage_to_stage(api: ApiActions, history: dict[str, Any]) -> None:
    """4 deals reached A, 2 reached B (d1, d2), 1 reached C (d1): A→B 0.5, B→C 0.5; lost: 1 in A, 1 in B."""
    funnel = report(api, history["pipeline"])["funnel"]
    assert [(s["name"], s["reached"], s["lost_here"], s["conversion_to_next"]) for s in funnel] == [
        ("A", 4, 1, 0.5), ("B", 2, 1, 0.5), ("C", 1, 0, None)]


def test_a_period_limits_every_figure(api: ApiActions, history: dict[str, Any]) -> None:
    """From 1 February: only d2's loss closed, only its 20-day stay in B ended; no deal was created."""
    r = report(api, history["pipeline"], start="2026-02-01", end="2026-02-28")
    assert rates([r["overall"]]) == [("Velocity", 0, 1, 0.0, 0, 2000)]
    assert [(s["stays"], s["avg_days"]) for s in r["stages"]] == [(0, None), (1, 20.0), (0, None)]
    assert [s["reached"] for s in r["funnel"]] == [0, 0, 0]
    assert (r["start"], r["end"]) == ("2026-02-01", "2026-02-28")
    error_of(api.get("/reports/sales", query_string={"pipeline_id": history["pipeline"]["id"],
                                                     "start": "2026-03-01", "end": "2026-02-01"}),
             422, "invalid_period")


def test_months_follow_the_viewers_time_zone(api: ApiActions, history: dict[str, Any],
                                             fake_clock: clock.FakeClock) -> None:
    """A loss at 03:00 UTC on 1 March is 28 February in Los Angeles: it counts in February there."""
    api.ok("PATCH", f"/users/{api.uid('admin')}", {"timezone": "America/Los_Angeles"})
    opp = api.opportunity(history["pipeline"], 0, value=300)
    fake_clock.set(fake_clock.now().replace(month=3, day=1, hour=3))
    api.tokens.clear()
    api.ok("POST", f"/opportunities/{opp['id']}/close", {"outcome": "lost"}, status=200)
    r = report(api, history["pipeline"])
    assert r["timezone"] == "America/Los_Angeles"
    assert [(m["label"], m["lost"]) for m in r["by_month"]] == [("2026-01", 1), ("2026-02", 2)]


def test_a_rep_reports_on_what_they_may_see(api: ApiActions, history: dict[str, Any]) -> None:
    """rep2 sees d3 (lost) and d4 only."""
    r = report(api, history["pipeline"], as_user="rep2")
    assert rates([r["overall"]]) == [("Velocity", 0, 1, 0.0, 0, 4000)]
    assert [s["reached"] for s in r["funnel"]] == [2, 0, 0]
    assert rates(r["by_owner"]) == [("rep2", 0, 1, 0.0, 0, 4000)]


def test_report_errors(api: ApiActions, history: dict[str, Any]) -> None:
    """A pipeline is required; an unknown one is 404."""
    assert "pipeline_id" in error_fields(api.get("/reports/sales"))
    error_of(api.get("/reports/sales", query_string={"pipeline_id": 9999}), 404)


def test_csv_export_of_each_table_is_formula_safe(api: ApiActions, history: dict[str, Any]) -> None:
    """Each table downloads as CSV with headers in words; cells starting with = + - @ are made inert."""
    pipeline = history["pipeline"]
    for i, reason in enumerate(["=HYPERLINK(\"http://x\")", "@SUM(A1)", "+1", "-2"]):
        opp = api.opportunity(pipeline, 0, value=10 + i)
        api.ok("POST", f"/opportunities/{opp['id']}/close", {"outcome": "lost", "reason": reason}, status=200)
    response = api.get("/reports/sales.csv", query_string={"pipeline_id": pipeline["id"], "table": "lost_reasons"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["Lost reason", "Deals", "Value"]
    reasons = {row[0] for row in rows[1:]}
    assert {"'=HYPERLINK(\"http://x\")", "'@SUM(A1)", "'+1", "'-2", "No budget", "Price too high"} == reasons
    stages = list(csv.reader(io.StringIO(api.get("/reports/sales.csv", query_string={
        "pipeline_id": pipeline["id"], "table": "stages"}).get_data(as_text=True))))
    assert stages[0][:4] == ["Stage number", "Stage", "Target days", "Average days"]
    assert stages[2][:5] == ["20", "B", "14", "15.0", "2"]
    assert "table" in error_fields(api.get("/reports/sales.csv", query_string={"pipeline_id": pipeline["id"],
                                                                                "table": "secrets"}))
