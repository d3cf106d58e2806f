"""Publish validation: a list of small rules over a campaign graph.

Invariants:
    * Each rule is a pure function ``rule(ctx) -> list[Issue]`` (style B6.5);
      :data:`RULES` runs them in order and :func:`validate` splits the result
      into errors (block publishing) and warnings (shown, never blocking).
    * Rules never raise on any :class:`CampaignGraph`, however broken (it need
      not have come through ``parse_graph``); a rule that depends on another
      (refs need a valid config) skips what the earlier rule reported.
    * Notes are ignored. Decisions and splits are checked by
      `runtime.graphs.branch_checks`. A graph with no errors compiles
      (:func:`runtime.graphs.compiler.compile_graph` never raises on it).
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from runtime.graphs import branch_checks
from runtime.graphs import checks
from runtime.graphs.catalog.issues import Issue
from runtime.graphs.catalog.ports import Refs
from runtime.graphs.graph import CampaignGraph
from runtime.graphs.validation_context import ParsedConfig
from runtime.graphs.validation_context import ValidationContext

__all__ = [
    "RULES",
    "ParsedConfig",
    "Issue",
    "Refs",
    "StaticRefs",
    "ValidationContext",
    "ValidationResult",
    "validate",
]


@dataclass
class StaticRefs:
    """In-memory :class:`Refs` for tests and benches: pipelines map to their stage ids."""

    pipelines: dict[int, set[int]] = field(default_factory=dict)
    users: set[int] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)

    def pipeline_exists(self, pipeline_id: int) -> bool:
        """Return True if the pipeline exists."""
        return pipeline_id in self.pipelines

    def stage_pipeline(self, stage_id: int) -> int | None:
        """Return the stage's pipeline id, or None for no such stage."""
        # A scan rather than a cached index: tests mutate ``pipelines`` freely.
        return next((p for p, stages in self.pipelines.items() if stage_id in stages), None)

    def user_exists(self, user_id: int) -> bool:
        """Return True if the user exists."""
        return user_id in self.users

    def tag_exists(self, tag: str) -> bool:
        """Return True if the tag exists."""
        return tag in self.tags


@dataclass(frozen=True)
class ValidationResult:
    """Errors block publishing; warnings are advice."""

    errors: list[Issue]
    warnings: list[Issue]

    @property
    def valid(self) -> bool:
        """Return True when there are no errors."""
        return not self.errors

    def to_json(self) -> dict[str, t.Any]:
        """Return ``{valid, errors, warnings}`` as the API serves it."""
        return {
            "valid": self.valid,
            "errors": [i.to_json() for i in self.errors],
            "warnings": [i.to_json() for i in self.warnings],
        }


Rule = Callable[[ValidationContext], list[Issue]]


RULES: tuple[Rule, ...] = (
    checks.unique_ids,
    checks.no_dangling_edges,
    checks.edges_join_allowed_kinds,
    checks.no_cycles,
    checks.has_entry_goal,
    checks.sequences_reachable,
    checks.known_types,
    checks.configs_valid,
    checks.config_values_sane,
    checks.references_exist,
    checks.merge_fields_known,
    branch_checks.branch_ids_unique,
    branch_checks.paths_exist,
    branch_checks.decision_rules_valid,
    branch_checks.split_weights,
    branch_checks.branch_edges,
    branch_checks.paths_lead_somewhere,
    checks.sequences_not_empty,
    checks.no_email_bursts,
    checks.goals_lead_somewhere,
    branch_checks.otherwise_present,
)


def validate(graph: CampaignGraph, refs: Refs) -> ValidationResult:
    """Run every rule over ``graph``.

    Args:
        graph: a campaign graph (a draft; need not be sound).
        refs: lookups of pipelines, stages, users and tags.

    Returns:
        The errors (publishing blocked while any) and warnings.
    """
    ctx = ValidationContext(graph, refs)
    found = [issue for rule in RULES for issue in rule(ctx)]
    return ValidationResult(
        errors=[i for i in found if i.severity == "error"],
        warnings=[i for i in found if i.severity == "warning"],
    )
