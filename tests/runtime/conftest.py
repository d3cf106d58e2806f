"""Fixtures for the pure runtime tests: static CRM refs and a recording step context."""

from __future__ import annotations

import typing as t
from datetime import UTC
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from runtime.graphs.merge import render
from runtime.graphs.validation import StaticRefs


class RecordingContext:
    """A StepContext fake that records every effect call as ``(method, args)``."""

    def __init__(
        self,
        now: datetime | None = None,
        values: dict[str, object] | None = None,
        fields: dict[str, object] | None = None,
        zones: dict[str, str] | None = None,
    ) -> None:
        self.now = now or datetime(2024, 6, 3, 12, 0, tzinfo=UTC)
        self.contact_id = 42
        self.values = values or {"contact.first_name": "Ada", "owner.name": "Grace"}
        self.fields = {"email": "ada@example.com", "name": "Ada Lovelace"} | (fields or {})
        self.zones = {"contact": "Europe/Berlin", "account": "America/New_York"} | (zones or {})
        self.calls: list[tuple[str, tuple[t.Any, ...]]] = []

    def render(self, template: str, *, html: bool = False) -> str:
        return render(template, self.values, html=html)

    def _record(self, name: str, *args: t.Any) -> None:
        self.calls.append((name, args))

    def apply_tag(self, tag: str) -> None:
        self._record("apply_tag", tag)

    def remove_tag(self, tag: str) -> None:
        self._record("remove_tag", tag)

    def create_task(
        self, title: str, description: str, assignee: str | int, due_in_days: int
    ) -> None:
        self._record("create_task", title, description, assignee, due_in_days)

    def create_note(self, body: str) -> None:
        self._record("create_note", body)

    def create_opportunity(
        self, pipeline_id: int, stage_id: int, title: str, value: float | None
    ) -> None:
        self._record("create_opportunity", pipeline_id, stage_id, title, value)

    def move_opportunity(self, stage_id: int) -> None:
        self._record("move_opportunity", stage_id)

    def assign_owner(self, user: str | int) -> None:
        self._record("assign_owner", user)

    def set_field(self, field: str, value: object) -> None:
        self._record("set_field", field, value)

    def notify_user(self, user: str | int, message: str) -> None:
        self._record("notify_user", user, message)

    def skip(self, reason: str) -> None:
        self._record("skip", reason)

    def enqueue(self, kind: str, payload: dict[str, t.Any]) -> None:
        self._record("enqueue", kind, payload)

    def contact_field(self, name: str) -> object:
        return self.fields.get(name)

    def timezone(self, which: str) -> ZoneInfo:
        return ZoneInfo(self.zones.get(which, which))


@pytest.fixture
def ctx() -> RecordingContext:
    """A recording StepContext at Monday 2024-06-03 12:00 UTC, contact in Europe/Berlin."""
    return RecordingContext()


@pytest.fixture
def refs() -> StaticRefs:
    """Pipeline 1 (stages 10–15), pipeline 2 (100–115), users 1–3, a few tags."""
    return StaticRefs(
        pipelines={1: {10, 11, 12, 13, 14, 15}, 2: {100, 105, 110, 115}},
        users={1, 2, 3},
        tags={"vip", "lead", "customer"},
    )
