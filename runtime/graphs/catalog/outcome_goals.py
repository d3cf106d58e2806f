"""The goal type of outcomes: an opportunity is won or lost (DESIGN.md §6.6).

Invariant: a win is a stage move into the pipeline's final stage, so a win also
satisfies "moved into <final stage>" goals; this goal type hears the
`opportunity_closed` event recorded right after that move (or after a loss).
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from pydantic import Field

from runtime.graphs.catalog.base import EventKey
from runtime.graphs.catalog.base import GoalType
from runtime.graphs.catalog.base import register_goal
from runtime.graphs.catalog.fields import ConfigModel
from runtime.graphs.catalog.goals import Cfg
from runtime.graphs.catalog.issues import Issue
from runtime.graphs.catalog.issues import pipeline_issues
from runtime.graphs.catalog.ports import NO_NAMES
from runtime.graphs.catalog.ports import Names
from runtime.graphs.catalog.ports import Refs


class OpportunityClosedConfig(ConfigModel):
    pipeline_id: int | None = Field(
        None,
        title="Pipeline",
        description="Only opportunities in this pipeline (empty = any pipeline).",
        json_schema_extra={"widget": "pipeline"},
    )
    outcome: t.Literal["won", "lost"] = Field(
        "won",
        title="Outcome",
        description="Won (moved into the pipeline's final stage) or lost (from any stage).",
        json_schema_extra={"option_labels": {"won": "Won", "lost": "Lost"}},
    )


@register_goal
class OpportunityClosed(GoalType[OpportunityClosedConfig]):
    """An opportunity is won or lost (onboarding after a win, win-back after a loss)."""

    type = "opportunity_closed"
    label = "Opportunity won or lost"
    help = (
        "Satisfied when an opportunity is won (moved into its pipeline's final stage) "
        "or lost (closed as lost from any stage, with a reason)."
    )
    icon = "flag"
    group = "Opportunities"
    Config = OpportunityClosedConfig
    event_types = frozenset({"opportunity_closed"})

    def index_key(self, config: Cfg) -> EventKey:
        return ("opportunity_closed", self.parse(config).outcome)

    @classmethod
    def keys_for_event(cls, event: Mapping[str, t.Any]) -> list[EventKey]:
        outcome = event.get("outcome")
        if event.get("type") != "opportunity_closed" or outcome not in ("won", "lost"):
            return []
        return [("opportunity_closed", outcome)]

    def matches(self, config: Cfg, event: Mapping[str, t.Any]) -> bool:
        c = self.parse(config)
        if c.pipeline_id is not None and event.get("pipeline_id") != c.pipeline_id:
            return False
        return self.index_key(c) in self.keys_for_event(event)

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        c = self.parse(config)
        verb = "Deal won" if c.outcome == "won" else "Deal lost"
        if c.pipeline_id is None:
            return verb
        return f"{verb} · {names.pipeline(c.pipeline_id) or f'pipeline #{c.pipeline_id}'}"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        return pipeline_issues(refs, self.parse(config).pipeline_id)
