"""The forecast of one pipeline: open deals by stage, by owner and by expected close month; won and lost apart.

Invariants:
- only what the viewer may see counts (models.access.visible_opportunities), and the
  owner filter offers only owners of deals the viewer can see;
- open deals make the forecast; won and lost deals are reported apart (never in "open");
- weighted value = value x the stage's probability; overdue = open and past the stage's
  target days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import selectinload

from models import Opportunity
from models import clock
from models.access import Actor
from models.access import visible_opportunities
from models.pipelines import get_pipeline
from models.pipelines import is_overdue


@dataclass
class Figures:
    """Count, value and weighted value of a group of deals."""

    count: int = 0
    value: float = 0.0
    weighted_value: float = 0.0

    def add(self, value: float, probability: int) -> None:
        """Count one deal."""
        self.count += 1
        self.value += value
        self.weighted_value += value * probability / 100

    def rounded(self) -> Figures:
        """The same figures rounded to cents."""
        return Figures(self.count, round(self.value, 2), round(self.weighted_value, 2))


@dataclass(frozen=True)
class StageForecast:
    """Forecast figures of one stage (open deals)."""

    stage_id: int
    number: int
    name: str
    probability: int
    count: int
    value: float
    weighted_value: float
    overdue: int


@dataclass(frozen=True)
class OwnerForecast:
    """Open deals of one owner (None: unassigned)."""

    owner_id: int | None
    owner_name: str
    count: int
    value: float
    weighted_value: float


@dataclass(frozen=True)
class MonthForecast:
    """Open deals expected to close in one month ("2026-03"; None: no expected close date)."""

    month: str | None
    count: int
    value: float
    weighted_value: float


@dataclass
class Forecast:
    """The whole forecast of a pipeline for one viewer."""

    pipeline_id: int
    stages: list[StageForecast]
    by_owner: list[OwnerForecast]
    by_month: list[MonthForecast]
    won: Figures
    lost: Figures
    owners: list[tuple[int | None, str]] = field(default_factory=list)

    @property
    def total(self) -> Figures:
        """All open deals."""
        return Figures(sum(s.count for s in self.stages), round(sum(s.value for s in self.stages), 2),
                       round(sum(s.weighted_value for s in self.stages), 2))

    @property
    def total_overdue(self) -> int:
        """Open deals past their stage's target days."""
        return sum(s.overdue for s in self.stages)


def _owner_name(opp: Opportunity) -> str:
    return (opp.owner.name or opp.owner.username) if opp.owner is not None else "Unassigned"


def _owners(deals: Iterable[Opportunity]) -> list[tuple[int | None, str]]:
    seen = {o.owner_id: _owner_name(o) for o in deals}
    return sorted(seen.items(), key=lambda kv: (kv[0] is None, kv[1].casefold()))


def forecast(session: Session, actor: Actor, pipeline_id: int, owner_id: int | None = None) -> Forecast:
    """The forecast of a pipeline as the actor may see it, optionally for one owner's deals."""
    pipeline = get_pipeline(session, pipeline_id)
    stages = {s.id: s for s in pipeline.stages}
    query = visible_opportunities(actor, select(Opportunity).where(Opportunity.pipeline_id == pipeline_id)).options(
        selectinload(Opportunity.owner))
    visible = list(session.scalars(query))
    deals = [o for o in visible if owner_id is None or o.owner_id == owner_id]
    now = clock.now()
    per_stage = {sid: Figures() for sid in stages}
    overdue = dict.fromkeys(stages, 0)
    per_owner: dict[int | None, Figures] = {}
    owner_names: dict[int | None, str] = {}
    per_month: dict[str | None, Figures] = {}
    won, lost = Figures(), Figures()
    for opp in deals:
        stage = stages[opp.stage_id]
        value = float(opp.value or 0)
        if opp.outcome == "won":
            won.add(value, 100)
            continue
        if opp.outcome == "lost":
            lost.add(value, 0)
            continue
        per_stage[stage.id].add(value, stage.probability)
        overdue[stage.id] += is_overdue(opp, stage, now)
        per_owner.setdefault(opp.owner_id, Figures()).add(value, stage.probability)
        owner_names[opp.owner_id] = _owner_name(opp)
        month = _month(opp.expected_close_date)
        per_month.setdefault(month, Figures()).add(value, stage.probability)
    stage_rows = []
    for stage in pipeline.stages:
        f = per_stage[stage.id].rounded()
        stage_rows.append(StageForecast(stage.id, stage.number, stage.name, stage.probability, f.count, f.value,
                                        f.weighted_value, overdue[stage.id]))
    owner_rows = [OwnerForecast(oid, owner_names[oid], *_figures(per_owner[oid]))
                  for oid, _name in _owners(o for o in deals if o.outcome == "open")]
    months = sorted(per_month, key=lambda m: (m is None, m or ""))
    month_rows = [MonthForecast(m, *_figures(per_month[m])) for m in months]
    return Forecast(pipeline_id, stage_rows, owner_rows, month_rows, won.rounded(),
                    Figures(lost.count, round(lost.value, 2), 0.0), _owners(visible))


def _figures(f: Figures) -> tuple[int, float, float]:
    r = f.rounded()
    return r.count, r.value, r.weighted_value


def _month(day: date | None) -> str | None:
    return f"{day.year:04d}-{day.month:02d}" if day is not None else None
