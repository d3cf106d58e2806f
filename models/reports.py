"""Sales reports: win rate per pipeline, owner and month; days in each stage against its target; the funnel.

Definitions (docs/NOTES.md says why):
- **Win rate** = won / (won + lost) over deals *closed* in the period (their close date in
  the viewer's time zone); open deals do not count. None when nothing closed.
- **Days in stage** come from the sales history: each finished stay in a stage (a move out
  of it, a win out of it, or a loss in it) with its real duration, counted when the stay
  ended in the period. A stay is *late* when it lasted longer than the stage's target days
  (stages with no target or 100 % probability have none). ``overdue_now`` counts the open
  deals past the target today.
- **Funnel**: deals *created* in the period; a deal has reached a stage when it was ever
  in that stage or a later one (moves can skip stages). Conversion from a stage to the
  next = reached(next) / reached(stage).
- Everything respects what the viewer may see; ``owner_id`` narrows to one owner's deals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import selectinload

from models import Opportunity
from models import Pipeline
from models import StageMove
from models import clock
from models.access import Actor
from models.access import visible_opportunities
from models.errors import Invalid
from models.pipelines import get_pipeline
from models.pipelines import is_overdue

STAY_KINDS = ("move", "won", "lost")


@dataclass(frozen=True)
class WinRate:
    """Won and lost deals of a group, with the win rate."""

    key: str | int | None
    label: str
    won: int
    lost: int
    won_value: float
    lost_value: float

    @property
    def rate(self) -> float | None:
        """won / (won + lost), or None when nothing closed."""
        closed = self.won + self.lost
        return round(self.won / closed, 4) if closed else None


@dataclass(frozen=True)
class StageVelocity:
    """Time spent in one stage against its target."""

    stage_id: int
    number: int
    name: str
    target_days: int
    stays: int
    avg_days: float | None
    late: int
    open_now: int
    overdue_now: int


@dataclass(frozen=True)
class FunnelStep:
    """How many deals reached a stage, and how many of them went on to the next."""

    stage_id: int
    number: int
    name: str
    reached: int
    lost_here: int
    conversion_to_next: float | None


@dataclass(frozen=True)
class LostReason:
    """Lost deals with one reason."""

    reason: str
    count: int
    value: float


@dataclass(frozen=True)
class SalesReport:
    """Every figure of the reports page for one pipeline, period and owner."""

    pipeline_id: int
    start: date | None
    end: date | None
    overall: WinRate
    by_owner: list[WinRate]
    by_month: list[WinRate]
    by_pipeline: list[WinRate]
    stages: list[StageVelocity]
    funnel: list[FunnelStep]
    lost_reasons: list[LostReason]


def _local(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _within(day: date, start: date | None, end: date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def _owner_label(opp: Opportunity) -> str:
    return (opp.owner.name or opp.owner.username) if opp.owner is not None else "Unassigned"


def _rates(groups: dict[str | int | None, list[Opportunity]], labels: dict[str | int | None, str]) -> list[WinRate]:
    return [_rate(key, labels[key], deals) for key, deals in groups.items()]


def _rate(key: str | int | None, label: str, deals: Iterable[Opportunity]) -> WinRate:
    won = [o for o in deals if o.outcome == "won"]
    lost = [o for o in deals if o.outcome == "lost"]
    return WinRate(key, label, len(won), len(lost), round(sum(float(o.value or 0) for o in won), 2),
                   round(sum(float(o.value or 0) for o in lost), 2))


def _closed_in(deals: Iterable[Opportunity], start: date | None, end: date | None, tz: ZoneInfo) -> list[Opportunity]:
    return [o for o in deals if o.outcome != "open" and o.closed_at is not None
            and _within(_local(o.closed_at, tz), start, end)]


def _visible(session: Session, actor: Actor, owner_id: int | None, pipeline_id: int | None) -> list[Opportunity]:
    query = visible_opportunities(actor, select(Opportunity)).options(selectinload(Opportunity.owner))
    if pipeline_id is not None:
        query = query.where(Opportunity.pipeline_id == pipeline_id)
    if owner_id is not None:
        query = query.where(Opportunity.owner_id == owner_id)
    return list(session.scalars(query.order_by(Opportunity.id)))


def sales_report(
    session: Session,
    actor: Actor,
    pipeline_id: int,
    *,
    owner_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
    tz: ZoneInfo | None = None,
) -> SalesReport:
    """The sales report of a pipeline for the actor (period bounds are inclusive local dates).

    Raises:
        NotFound: no such pipeline.
        Invalid: the period ends before it starts.
    """
    if start is not None and end is not None and end < start:
        raise Invalid("The period must end on or after its first day", code="invalid_period",
                      details={"field": "end"})
    tz = tz or ZoneInfo("UTC")
    pipeline = get_pipeline(session, pipeline_id)
    everywhere = _visible(session, actor, owner_id, None)
    deals = [o for o in everywhere if o.pipeline_id == pipeline_id]
    closed = _closed_in(deals, start, end, tz)

    by_owner: dict[str | int | None, list[Opportunity]] = defaultdict(list)
    owner_labels: dict[str | int | None, str] = {}
    by_month: dict[str | int | None, list[Opportunity]] = defaultdict(list)
    for opp in closed:
        by_owner[opp.owner_id].append(opp)
        owner_labels[opp.owner_id] = _owner_label(opp)
        assert opp.closed_at is not None
        month = _local(opp.closed_at, tz).strftime("%Y-%m")
        by_month[month].append(opp)
    owner_rows = sorted(_rates(by_owner, owner_labels), key=lambda r: (r.key is None, r.label.casefold()))
    month_rows = _rates({m: by_month[m] for m in sorted(by_month, key=str)}, {m: str(m) for m in by_month})

    names: dict[int, str] = {pid: name for pid, name in session.execute(select(Pipeline.id, Pipeline.name))}
    pipeline_ids = sorted({o.pipeline_id for o in everywhere} | {pipeline_id})
    by_pipeline: dict[str | int | None, list[Opportunity]] = {pid: [] for pid in pipeline_ids}
    for opp in _closed_in(everywhere, start, end, tz):
        by_pipeline[opp.pipeline_id].append(opp)
    pipeline_rows = _rates(by_pipeline, {pid: names.get(pid, f"#{pid}") for pid in pipeline_ids})

    moves = _history(session, [o.id for o in deals])
    return SalesReport(
        pipeline_id=pipeline.id, start=start, end=end,
        overall=_rate(pipeline.id, pipeline.name, closed),
        by_owner=owner_rows, by_month=month_rows, by_pipeline=pipeline_rows,
        stages=_velocity(pipeline, deals, moves, start, end, tz),
        funnel=_funnel(pipeline, deals, moves, start, end, tz),
        lost_reasons=_lost_reasons(closed),
    )


def _history(session: Session, opportunity_ids: list[int]) -> dict[int, list[StageMove]]:
    out: dict[int, list[StageMove]] = defaultdict(list)
    for start in range(0, len(opportunity_ids), 500):
        chunk = opportunity_ids[start:start + 500]
        for move in session.scalars(select(StageMove).where(StageMove.opportunity_id.in_(chunk))
                                    .order_by(StageMove.id)):
            out[move.opportunity_id].append(move)
    return out


def _velocity(pipeline: Pipeline, deals: list[Opportunity], moves: dict[int, list[StageMove]],
              start: date | None, end: date | None, tz: ZoneInfo) -> list[StageVelocity]:
    stays: dict[int, list[float]] = defaultdict(list)
    for opp in deals:
        for move in moves.get(opp.id, []):
            if (move.kind in STAY_KINDS and move.from_stage_id is not None and move.days_in_previous_stage is not None
                    and _within(_local(move.moved_at, tz), start, end)):
                stays[move.from_stage_id].append(move.days_in_previous_stage)
    now = clock.now()
    rows = []
    for stage in pipeline.stages:
        days = stays.get(stage.id, [])
        has_target = stage.target_days > 0 and stage.probability < 100
        open_here = [o for o in deals if o.outcome == "open" and o.stage_id == stage.id]
        rows.append(StageVelocity(
            stage.id, stage.number, stage.name, stage.target_days, len(days),
            round(sum(days) / len(days), 2) if days else None,
            sum(1 for d in days if d > stage.target_days) if has_target else 0,
            len(open_here), sum(1 for o in open_here if is_overdue(o, stage, now)),
        ))
    return rows


def _funnel(pipeline: Pipeline, deals: list[Opportunity], moves: dict[int, list[StageMove]],
            start: date | None, end: date | None, tz: ZoneInfo) -> list[FunnelStep]:
    order = {s.id: i for i, s in enumerate(pipeline.stages)}
    reached = [0] * len(pipeline.stages)
    lost_here = [0] * len(pipeline.stages)
    for opp in deals:
        if not _within(_local(opp.created_at, tz), start, end):
            continue
        visited = {m.to_stage_id for m in moves.get(opp.id, [])} | {opp.stage_id}
        furthest = max((order[s] for s in visited if s in order), default=0)
        for i in range(furthest + 1):
            reached[i] += 1
        if opp.outcome == "lost":
            lost_here[order[opp.stage_id]] += 1
    steps = []
    for i, stage in enumerate(pipeline.stages):
        following = reached[i + 1] if i + 1 < len(reached) else None
        conversion = round(following / reached[i], 4) if following is not None and reached[i] else None
        steps.append(FunnelStep(stage.id, stage.number, stage.name, reached[i], lost_here[i], conversion))
    return steps


def _lost_reasons(closed: list[Opportunity]) -> list[LostReason]:
    groups: dict[str, list[Opportunity]] = defaultdict(list)
    for opp in closed:
        if opp.outcome == "lost":
            groups[opp.close_reason or "No reason given"].append(opp)
    rows = [LostReason(reason, len(opps), round(sum(float(o.value or 0) for o in opps), 2))
            for reason, opps in groups.items()]
    return sorted(rows, key=lambda r: (-r.count, -r.value, r.reason))
