"""Timer steps: they park a sequence run until a time, computed in the contact's (or a given) time zone.

Invariant: a timer's ``due_at`` is pure apart from reading ``ctx.now``,
``ctx.timezone`` and ``ctx.contact_field``; it returns aware UTC or None
("continue now").
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from pydantic import Field
from pydantic import field_validator
from pydantic import model_validator

from runtime.graphs import timers
from runtime.graphs.catalog.base import TimerStep
from runtime.graphs.catalog.base import register_step
from runtime.graphs.catalog.fields import ConfigModel
from runtime.graphs.catalog.ports import NO_NAMES
from runtime.graphs.catalog.ports import Names
from runtime.graphs.catalog.ports import StepContext

Cfg = Mapping[str, t.Any] | BaseModel

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _check_zone(value: str) -> str:
    """Accept 'contact', 'account' or a real IANA zone name."""
    if value in ("contact", "account"):
        return value
    try:
        ZoneInfo(value)
    except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


class Window(ConfigModel):
    weekdays: list[int] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4],
        min_length=1,
        title="Days",
        description="Allowed weekdays, Monday = 0 … Sunday = 6.",
        json_schema_extra={"widget": "weekday_set"},
    )
    start_hour: int = Field(9, ge=0, le=23, title="From hour")
    end_hour: int = Field(17, ge=1, le=24, title="Until hour")
    timezone: str = Field(
        "contact",
        title="Time zone",
        description="'contact', 'account' or an IANA zone name such as Europe/Berlin.",
    )

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(d < 0 or d > 6 for d in value):
            raise ValueError("weekdays must be between 0 (Monday) and 6 (Sunday)")
        return sorted(set(value))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)

    @model_validator(mode="after")
    def _hours(self) -> Window:
        if self.start_hour >= self.end_hour:
            raise ValueError("start_hour must be before end_hour")
        return self

    def describe(self) -> str:
        """Return e.g. 'Mon–Fri 9:00–17:00'."""
        days = self.weekdays
        if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
            day_text = f"{_DAY_NAMES[days[0]]}–{_DAY_NAMES[days[-1]]}"
        else:
            day_text = ",".join(_DAY_NAMES[d] for d in days)
        return f"{day_text} {self.start_hour}:00–{self.end_hour}:00"


class DelayConfig(ConfigModel):
    amount: int = Field(gt=0, title="Wait", json_schema_extra={"hint": "Type how long to wait"})
    unit: t.Literal["minutes", "hours", "days", "weeks"] = Field("days", title="Unit")
    window: Window | None = Field(
        None,
        title="Only within",
        description="After the wait, hold until the next allowed weekday/hour window.",
        json_schema_extra={"widget": "window"},
    )


@register_step
class Delay(TimerStep[DelayConfig]):
    """Wait a while, optionally until the next weekday/hour window."""

    type = "delay"
    label = "Delay"
    help = (
        "Wait a number of minutes, hours, days or weeks. Days and weeks keep the "
        "wall-clock time across daylight-saving changes. An optional window holds "
        "the contact until the next allowed weekday and hour."
    )
    icon = "hourglass"
    group = "Timers"
    Config = DelayConfig

    def due_at(self, ctx: StepContext, config: Cfg) -> datetime | None:
        c = self.parse(config)
        tz = ctx.timezone(c.window.timezone if c.window else "contact")
        due = timers.add_delay(ctx.now, c.amount, c.unit, tz)
        if c.window is not None:
            due = timers.apply_window(due, c.window, tz)
        return due

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        c = self.parse(config)
        unit = c.unit[:-1] if c.amount == 1 else c.unit
        text = f"Wait {c.amount} {unit}"
        return f"{text}, then {c.window.describe()}" if c.window else text


class WaitUntilConfig(ConfigModel):
    date: str | None = Field(
        None,
        title="Date",
        description="A fixed ISO date or date-time (leave empty to use a contact field).",
        json_schema_extra={"widget": "datetime"},
    )
    field: str | None = Field(
        None, title="Contact field", description="A contact date field, e.g. 'birthday'."
    )
    offset_days: int = Field(0, ge=0, title="Offset (days)")
    direction: t.Literal["before", "after"] = Field("after", title="Before/after")
    yearly: bool = Field(False, title="Every year", description="Fire on the next anniversary.")
    hour: int = Field(9, ge=0, le=23, title="Hour", description="Local hour for date-only values.")
    timezone: str = Field("contact", title="Time zone")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)

    @field_validator("date")
    @classmethod
    def _date(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            if "T" in value or " " in value.strip():
                datetime.fromisoformat(value)
            else:
                date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError("date must be an ISO date or date-time") from exc
        return value

    @model_validator(mode="after")
    def _one_source(self) -> WaitUntilConfig:
        if (self.date is None) == (self.field is None or self.field == ""):
            raise ValueError("set exactly one of date or field")
        return self


@register_step
class WaitUntil(TimerStep[WaitUntilConfig]):
    """Wait until a fixed date or a date in a contact field (field timer)."""

    type = "wait_until"
    label = "Wait until date"
    help = (
        "Wait until a fixed date, or a date held in a contact field, optionally "
        "some days before or after it, optionally every year. A missing or "
        "already-past date lets the contact continue at once."
    )
    icon = "calendar"
    group = "Timers"
    Config = WaitUntilConfig

    def due_at(self, ctx: StepContext, config: Cfg) -> datetime | None:
        c = self.parse(config)
        value: object = c.date if c.date is not None else ctx.contact_field(c.field or "")
        return timers.next_field_date(
            ctx.now,
            value,
            c.offset_days,
            c.direction,
            c.yearly,
            ctx.timezone(c.timezone),
            hour=c.hour,
        )

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        c = self.parse(config)
        what = c.date if c.date is not None else f"contact field '{c.field}'"
        prefix = f"{c.offset_days} days {c.direction} " if c.offset_days else ""
        suffix = " (every year)" if c.yearly else ""
        return f"Wait until {prefix}{what}{suffix}"
