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
    #: The config key the issue is about (the canvas marks that field).
    field: str | None = None
    #: The decision or split path the issue is about, and where in its rules ("all.1.any.0").
    branch_id: str | None = None
    rule: str | None = None

    def to_json(self) -> dict[str, t.Any]:
        """Return the API form ``{node_id, step_id, code, message, severity}`` (+ ``field``, ``branch_id``,
        ``rule`` when set)."""
        out: dict[str, t.Any] = {
            "node_id": self.node_id,
            "step_id": self.step_id,
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
        }
        for key in ("field", "branch_id", "rule"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


def issue(code: str, message: str, severity: Severity = "error", *, field: str | None = None) -> Issue:
    """Return an Issue not yet located on a node (validation fills the ids)."""
    return Issue(None, None, code, message, severity, field=field)


def stage_issues(
    refs: Refs, stage_id: int, pipeline_id: int | None, *, field: str = "stage_id"
) -> list[Issue]:
    """Check that a stage exists and, when a pipeline is given, belongs to it."""
    owner = refs.stage_pipeline(stage_id)
    if owner is None:
        return [issue("unknown_stage", f"The chosen stage no longer exists (stage #{stage_id}): choose another",
                      field=field)]
    if pipeline_id is not None and owner != pipeline_id:
        return [issue("unknown_stage", "The chosen stage is not in the chosen pipeline: choose one of its stages",
                      field=field)]
    return []


def pipeline_issues(refs: Refs, pipeline_id: int | None) -> list[Issue]:
    """Check that a pipeline exists (None means 'any pipeline')."""
    if pipeline_id is not None and not refs.pipeline_exists(pipeline_id):
        return [issue("unknown_pipeline",
                      f"The chosen pipeline no longer exists (pipeline #{pipeline_id}): choose another",
                      field="pipeline_id")]
    return []


def user_issues(refs: Refs, user: object, *, field: str) -> list[Issue]:
    """Check a user reference; symbolic values such as 'owner' are always fine."""
    if isinstance(user, int) and not isinstance(user, bool) and not refs.user_exists(user):
        return [issue("unknown_user", f"The chosen user no longer exists (user #{user}): choose another",
                      field=field)]
    return []


def tag_issues(refs: Refs, tag: str) -> list[Issue]:
    """Check that a tag exists."""
    if not refs.tag_exists(tag):
        return [issue("unknown_tag", f"There is no tag “{tag}” yet: check its spelling, or create it first",
                      field="tag")]
    return []
