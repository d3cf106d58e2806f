"""Validation findings located on a node (and step), and the shared reference checks."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from runtime.graphs.catalog.ports import Refs

Severity = t.Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One validation finding, located on a node and optionally a step."""

    node_id: str | None
    step_id: str | None
    code: str
    message: str
    severity: Severity = "error"

    def to_json(self) -> dict[str, t.Any]:
        """Return the API form ``{node_id, step_id, code, message, severity}``."""
        return {
            "node_id": self.node_id,
            "step_id": self.step_id,
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
        }


def issue(code: str, message: str, severity: Severity = "error") -> Issue:
    """Return an Issue not yet located on a node (validation fills the ids)."""
    return Issue(None, None, code, message, severity)


def stage_issues(
    refs: Refs, stage_id: int, pipeline_id: int | None, *, field: str = "stage_id"
) -> list[Issue]:
    """Check that a stage exists and, when a pipeline is given, belongs to it."""
    owner = refs.stage_pipeline(stage_id)
    if owner is None:
        return [issue("unknown_stage", f"{field}: stage {stage_id} does not exist")]
    if pipeline_id is not None and owner != pipeline_id:
        return [
            issue(
                "unknown_stage",
                f"{field}: stage {stage_id} is not in pipeline {pipeline_id}",
            )
        ]
    return []


def pipeline_issues(refs: Refs, pipeline_id: int | None) -> list[Issue]:
    """Check that a pipeline exists (None means 'any pipeline')."""
    if pipeline_id is not None and not refs.pipeline_exists(pipeline_id):
        return [issue("unknown_pipeline", f"pipeline_id: pipeline {pipeline_id} does not exist")]
    return []


def user_issues(refs: Refs, user: object, *, field: str) -> list[Issue]:
    """Check a user reference; symbolic values such as 'owner' are always fine."""
    if isinstance(user, int) and not isinstance(user, bool) and not refs.user_exists(user):
        return [issue("unknown_user", f"{field}: user {user} does not exist")]
    return []


def tag_issues(refs: Refs, tag: str) -> list[Issue]:
    """Check that a tag exists."""
    if not refs.tag_exists(tag):
        return [issue("unknown_tag", f"tag: tag {tag!r} does not exist")]
    return []
