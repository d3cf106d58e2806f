"""The forecast of a pipeline and the sales reports (win rate, days in stage, funnel), with CSV export."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import date
from typing import Any
from typing import Literal
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from flask import Blueprint
from flask import Response
from flask import g
from pydantic import Field

from builder.api.base import MAX_INT
from builder.api.base import Query
from builder.api.base import route
from builder.db import get_session
from builder.schemas.common import Out
from models import forecast as forecast_service
from models import reports as report_service
from models.access import Actor

bp = Blueprint("api_forecast", __name__, url_prefix="/api/v1")

# --- forecast ---------------------------------------------------------------------------------

class ForecastQuery(Query):
    owner_id: int | None = Field(default=None, ge=1, le=MAX_INT, title="Owner")


class StageForecastOut(Out):
    stage_id: int
    number: int
    name: str
    probability: int
    count: int
    value: float
    weighted_value: float
    overdue: int


class OwnerForecastOut(Out):
    owner_id: int | None
    owner_name: str
    count: int
    value: float
    weighted_value: float


class MonthForecastOut(Out):
    month: str | None = Field(description='"2026-03"; null for deals without an expected close date.')
    count: int
    value: float
    weighted_value: float


class ClosedOut(Out):
    count: int
    value: float


class OwnerOption(Out):
    id: int | None
    name: str


class ForecastOut(Out):
    """Open deals only, by stage (DESIGN.md §5 shape), by owner and by expected close month; won and lost apart."""

    pipeline_id: int
    stages: list[StageForecastOut]
    total_value: float
    total_weighted_value: float
    total_overdue: int
    total_count: int
    by_owner: list[OwnerForecastOut]
    by_month: list[MonthForecastOut]
    won: ClosedOut
    lost: ClosedOut
    owners: list[OwnerOption] = Field(description="Owners of the deals the caller may see (the owner filter).")


@route(bp, "/pipelines/<int:pipeline_id>/forecast", query=ForecastQuery, response=ForecastOut)
def forecast(actor: Actor, pipeline_id: int, query: ForecastQuery) -> Any:
    """Open deals by stage, owner and expected close month; won and lost reported apart."""
    f = forecast_service.forecast(get_session(), actor, pipeline_id, query.owner_id)
    total = f.total
    return ForecastOut(
        pipeline_id=pipeline_id, stages=[StageForecastOut(**asdict(r)) for r in f.stages],
        total_value=total.value, total_weighted_value=total.weighted_value, total_overdue=f.total_overdue,
        total_count=total.count, by_owner=[OwnerForecastOut(**asdict(r)) for r in f.by_owner],
        by_month=[MonthForecastOut(**asdict(r)) for r in f.by_month],
        won=ClosedOut(count=f.won.count, value=f.won.value), lost=ClosedOut(count=f.lost.count, value=f.lost.value),
        owners=[OwnerOption(id=i, name=n) for i, n in f.owners],
    ).model_dump(mode="json")


# --- reports ----------------------------------------------------------------------------------

class ReportQuery(Query):
    pipeline_id: int = Field(ge=1, le=MAX_INT, title="Pipeline")
    owner_id: int | None = Field(default=None, ge=1, le=MAX_INT, title="Owner")
    start: date | None = Field(default=None, title="From", description="First day of the period (inclusive).")
    end: date | None = Field(default=None, title="To", description="Last day of the period (inclusive).")


class ReportCsvQuery(ReportQuery):
    table: Literal["by_owner", "by_month", "by_pipeline", "stages", "funnel", "lost_reasons"] = Field(
        title="Table")


class WinRateOut(Out):
    key: str | int | None = Field(description="Owner id, month (2026-03) or pipeline id.")
    label: str
    won: int
    lost: int
    closed: int
    win_rate: float | None = Field(description="won / (won + lost), 0 to 1; null when nothing closed.")
    won_value: float
    lost_value: float


class StageVelocityOut(Out):
    stage_id: int
    number: int
    name: str
    target_days: int
    stays: int = Field(description="Finished stays in the stage that ended in the period.")
    avg_days: float | None
    late: int = Field(description="Stays longer than the stage's target days.")
    open_now: int
    overdue_now: int


class FunnelStepOut(Out):
    stage_id: int
    number: int
    name: str
    reached: int = Field(description="Deals created in the period that were ever in this stage or a later one.")
    lost_here: int
    conversion_to_next: float | None


class LostReasonOut(Out):
    reason: str
    count: int
    value: float


class ReportOut(Out):
    pipeline_id: int
    start: date | None
    end: date | None
    timezone: str
    overall: WinRateOut
    by_owner: list[WinRateOut]
    by_month: list[WinRateOut]
    by_pipeline: list[WinRateOut]
    stages: list[StageVelocityOut]
    funnel: list[FunnelStepOut]
    lost_reasons: list[LostReasonOut]


def _viewer_zone() -> ZoneInfo:
    name = getattr(g.get("user"), "timezone", None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _win(rate: report_service.WinRate) -> WinRateOut:
    return WinRateOut(key=rate.key, label=rate.label, won=rate.won, lost=rate.lost, closed=rate.won + rate.lost,
                      win_rate=rate.rate, won_value=rate.won_value, lost_value=rate.lost_value)


def _report(actor: Actor, query: ReportQuery) -> ReportOut:
    zone = _viewer_zone()
    r = report_service.sales_report(get_session(), actor, query.pipeline_id, owner_id=query.owner_id,
                                    start=query.start, end=query.end, tz=zone)
    return ReportOut(
        pipeline_id=r.pipeline_id, start=r.start, end=r.end, timezone=zone.key, overall=_win(r.overall),
        by_owner=[_win(x) for x in r.by_owner], by_month=[_win(x) for x in r.by_month],
        by_pipeline=[_win(x) for x in r.by_pipeline],
        stages=[StageVelocityOut(**asdict(x)) for x in r.stages], funnel=[FunnelStepOut(**asdict(x)) for x in r.funnel],
        lost_reasons=[LostReasonOut(**asdict(x)) for x in r.lost_reasons],
    )


@route(bp, "/reports/sales", query=ReportQuery, response=ReportOut)
def sales_report(actor: Actor, query: ReportQuery) -> Any:
    """Win rate per pipeline, owner and month; days in each stage against its target; the funnel."""
    return _report(actor, query).model_dump(mode="json")


CSV_HEADERS: dict[str, tuple[tuple[str, str], ...]] = {
    "by_owner": (("label", "Owner"), ("won", "Won"), ("lost", "Lost"), ("win_rate", "Win rate"),
                 ("won_value", "Won value"), ("lost_value", "Lost value")),
    "by_month": (("label", "Month"), ("won", "Won"), ("lost", "Lost"), ("win_rate", "Win rate"),
                 ("won_value", "Won value"), ("lost_value", "Lost value")),
    "by_pipeline": (("label", "Pipeline"), ("won", "Won"), ("lost", "Lost"), ("win_rate", "Win rate"),
                    ("won_value", "Won value"), ("lost_value", "Lost value")),
    "stages": (("number", "Stage number"), ("name", "Stage"), ("target_days", "Target days"),
               ("avg_days", "Average days"), ("stays", "Stays"), ("late", "Late stays"), ("open_now", "Open now"),
               ("overdue_now", "Overdue now")),
    "funnel": (("number", "Stage number"), ("name", "Stage"), ("reached", "Reached"), ("lost_here", "Lost here"),
               ("conversion_to_next", "Conversion to next stage")),
    "lost_reasons": (("reason", "Lost reason"), ("count", "Deals"), ("value", "Value")),
}


def csv_cell(value: Any) -> str:
    """A cell as text, with formula-like text (=, +, -, @, tab, CR) made inert by a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = str(value)
        return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
    return str(value)


@route(bp, "/reports/sales.csv", query=ReportCsvQuery, response=str, media_type="text/csv")
def sales_report_csv(actor: Actor, query: ReportCsvQuery) -> Any:
    """One table of the sales report as CSV (a spreadsheet opens it as text, never as formulas)."""
    report = _report(actor, query).model_dump()
    out = io.StringIO()
    writer = csv.writer(out)
    columns = CSV_HEADERS[query.table]
    writer.writerow([title for _key, title in columns])
    for row in report[query.table]:
        writer.writerow([csv_cell(row[key]) for key, _title in columns])
    name = f"sales-{query.table.replace('_', '-')}-pipeline-{query.pipeline_id}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
