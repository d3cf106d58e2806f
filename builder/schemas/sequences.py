"""Follow-up sequence runs: a contact's history, and pausing, resuming or stopping one by hand."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from builder.api.base import Body
from builder.schemas.common import IsoTimestamp
from builder.schemas.common import Out
from runtime.execution.runs import Status


class RunPatch(Body):
    status: Literal["paused", "active", "stopped"]


class SkippedStepOut(Out):
    """A step that did nothing, and why (e.g. an email to an unsubscribed contact)."""

    step_id: str
    step_type: str
    at: IsoTimestamp
    reason: str


class SequenceRunOut(Out):
    """One row of a contact's follow-up sequence history (oldest first): a run of one sequence node, or a pass
    through a decision or split (``kind: "decision"``, status ``branched`` or ``left``; its id is not a run id)."""

    kind: Literal["sequence", "decision"]
    id: int
    campaign_id: int
    campaign_name: str
    node_id: str
    name: str = Field(description="The sequence's name.")
    status: Status | Literal["branched", "left"]
    waiting: bool = Field(description="Active but parked on a timer that is not due yet.")
    started_at: IsoTimestamp
    ended_at: IsoTimestamp | None
    current_step: str | None = Field(description="The id of the step an open or failed run is at.")
    current_step_type: str | None
    current_step_summary: str | None = Field(description="The catalog's one-line summary of that step.")
    step_index: int
    next_due_at: IsoTimestamp | None = Field(description="When an open run continues.")
    attempts: int
    last_error: str | None
    stop_reason: str | None
    opportunity_id: int | None
    branch_node_id: str | None = Field(description="The decision or split whose path started the run (or was passed).")
    branch_id: str | None = Field(description="That path's id (None: the contact left, matching no path).")
    skipped: list[SkippedStepOut] = Field(description="Steps of the run that did nothing, and why.")


class RunStatusOut(Out):
    """The run after the change."""

    id: int
    status: Status
    due_at: IsoTimestamp | None
