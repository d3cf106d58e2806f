"""What the catalog needs from the outside world, as protocols: references, names, a running step.

The validator passes `Refs`, the canvas's summaries `Names`, the step loop
(and the simulator) a `StepContext`; the catalog never reaches further.
"""

from __future__ import annotations

import typing as t
from datetime import datetime
from zoneinfo import ZoneInfo


@t.runtime_checkable
class Refs(t.Protocol):
    """What validation needs to know about the CRM: do referenced things exist."""

    def pipeline_exists(self, pipeline_id: int) -> bool: ...

    def stage_pipeline(self, stage_id: int) -> int | None: ...

    def user_exists(self, user_id: int) -> bool: ...

    def tag_exists(self, tag: str) -> bool: ...


@t.runtime_checkable
class Names(t.Protocol):
    """Display names for ids in configs, so summaries read "Moved into Qualified", not "stage #2"."""

    def stage(self, stage_id: int) -> tuple[str, str] | None:
        """(stage name, pipeline name), or None for an unknown stage."""
        ...

    def pipeline(self, pipeline_id: int) -> str | None: ...

    def user(self, user_id: int) -> str | None: ...


class NoNames:
    """Names that knows no names: summaries fall back to ids ("stage #2")."""

    def stage(self, stage_id: int) -> tuple[str, str] | None:
        return None

    def pipeline(self, pipeline_id: int) -> str | None:
        return None

    def user(self, user_id: int) -> str | None:
        return None


NO_NAMES = NoNames()


class StepContext(t.Protocol):
    """The runtime's side of a running step: one method per kind of effect."""

    now: datetime  # aware UTC
    contact_id: int

    def render(self, template: str, *, html: bool = False) -> str: ...

    def apply_tag(self, tag: str) -> None: ...

    def remove_tag(self, tag: str) -> None: ...

    def create_task(
        self, title: str, description: str, assignee: str | int, due_in_days: int
    ) -> None: ...

    def create_note(self, body: str) -> None: ...

    def create_opportunity(
        self, pipeline_id: int, stage_id: int, title: str, value: float | None
    ) -> None: ...

    def move_opportunity(self, stage_id: int) -> None: ...

    def assign_owner(self, user: str | int) -> None: ...

    def set_field(self, field: str, value: object) -> None: ...

    def notify_user(self, user: str | int, message: str) -> None: ...

    def skip(self, reason: str) -> None:
        """Do nothing for this contact, saying why (shown in the sequence history)."""
        ...

    def enqueue(self, kind: str, payload: dict[str, t.Any]) -> None:
        """Queue an outside effect for the transport registered for `kind` (once per run and step)."""
        ...

    def contact_field(self, name: str) -> object: ...

    def timezone(self, which: str) -> ZoneInfo: ...
