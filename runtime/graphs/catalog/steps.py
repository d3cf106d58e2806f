"""Step types: timers that park a sequence run, and actions with one effect each.

Invariants:
    * An action's ``execute`` calls exactly one effect method of the
      :class:`StepContext` (plus ``ctx.render`` for merge fields), so the engine
      can make each step's effect atomic with the step's completion.
    * A timer's ``due_at`` is pure apart from reading ``ctx.now``,
      ``ctx.timezone`` and ``ctx.contact_field``; it returns aware UTC or None
      ("continue now").
    * Text fields with the ``merge_text`` widget are rendered through
      ``ctx.render`` as plain text (``html=False``): the delivery layer owns any
      HTML conversion and escaping.
"""

from __future__ import annotations

import json
import typing as t
from collections.abc import Mapping
from datetime import date
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from pydantic import Field
from pydantic import field_validator
from pydantic import model_validator

from runtime.graphs import timers
from runtime.graphs.catalog.base import NO_NAMES
from runtime.graphs.catalog.base import ActionStep
from runtime.graphs.catalog.base import ConfigModel
from runtime.graphs.catalog.base import Issue
from runtime.graphs.catalog.base import Names
from runtime.graphs.catalog.base import Refs
from runtime.graphs.catalog.base import StepContext
from runtime.graphs.catalog.base import TimerStep
from runtime.graphs.catalog.base import issue
from runtime.graphs.catalog.base import person_label
from runtime.graphs.catalog.base import pipeline_issues
from runtime.graphs.catalog.base import register_step
from runtime.graphs.catalog.base import short
from runtime.graphs.catalog.base import stage_issues
from runtime.graphs.catalog.base import stage_label
from runtime.graphs.catalog.base import tag_issues
from runtime.graphs.catalog.base import thaw
from runtime.graphs.catalog.base import user_issues

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


def _merge_text(title: str, *, textarea: bool = False, **kw: t.Any) -> t.Any:
    """A text field that may contain merge fields."""
    return Field(
        title=title,
        json_schema_extra={"widget": "merge_text", "multiline": textarea},
        **kw,
    )


# --- timers ------------------------------------------------------------------


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
    amount: int = Field(gt=0, title="Wait")
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


# --- actions -----------------------------------------------------------------


class SendEmailConfig(ConfigModel):
    subject: str = _merge_text("Subject", min_length=1)
    body: str = _merge_text("Body", textarea=True, min_length=1)
    to: t.Literal["contact"] = Field("contact", title="To")


@register_step
class SendEmail(ActionStep[SendEmailConfig]):
    """Queue an email to the contact (delivered by the outbox relay)."""

    type = "send_email"
    label = "Send email"
    help = "Send an email to the contact. Subject and body may use merge fields."
    icon = "mail"
    group = "Communication"
    Config = SendEmailConfig
    outbox_kind = "email"

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        c = self.parse(config)
        to, name = ctx.contact_field("email"), ctx.contact_field("name")
        ctx.enqueue("email", {"to": to, "to_name": name, "subject": ctx.render(c.subject), "text": ctx.render(c.body)})

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"Email “{short(self.parse(config).subject)}”"


class TagStepConfig(ConfigModel):
    tag: str = Field(min_length=1, title="Tag", json_schema_extra={"widget": "tag"})


@register_step
class ApplyTag(ActionStep[TagStepConfig]):
    """Apply a tag to the contact."""

    type = "apply_tag"
    label = "Apply tag"
    help = "Apply a tag to the contact (this can satisfy Tag Applied goals)."
    icon = "tag"
    group = "Contact"
    Config = TagStepConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        ctx.apply_tag(self.parse(config).tag)

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"Apply tag “{short(self.parse(config).tag, 30)}”"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        return tag_issues(refs, self.parse(config).tag)


@register_step
class RemoveTag(ActionStep[TagStepConfig]):
    """Remove a tag from the contact."""

    type = "remove_tag"
    label = "Remove tag"
    help = "Remove a tag from the contact."
    icon = "tag-off"
    group = "Contact"
    Config = TagStepConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        ctx.remove_tag(self.parse(config).tag)

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"Remove tag “{short(self.parse(config).tag, 30)}”"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        return tag_issues(refs, self.parse(config).tag)


Assignee = t.Literal["owner", "round_robin"] | int


class CreateTaskConfig(ConfigModel):
    title: str = _merge_text("Title", min_length=1)
    description: str = _merge_text("Description", textarea=True, default="")
    assignee: Assignee = Field(
        "owner",
        title="Assign to",
        description="The opportunity/contact owner, round robin, or a user.",
        json_schema_extra={"widget": "assignee"},
    )
    due_in_days: int = Field(
        0,
        ge=0,
        title="Due in (days)",
        description="Moved to the first later day on which the assignee has capacity.",
    )


@register_step
class CreateTask(ActionStep[CreateTaskConfig]):
    """Create a task for a user about the contact."""

    type = "create_task"
    label = "Create task"
    help = "Create a task with a relative due date, respecting each user's daily task capacity."
    icon = "check-square"
    group = "Tasks & notes"
    Config = CreateTaskConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        c = self.parse(config)
        ctx.create_task(ctx.render(c.title), ctx.render(c.description), c.assignee, c.due_in_days)

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        c = self.parse(config)
        due = f"in {c.due_in_days}d" if c.due_in_days else "today"
        return f"Task “{short(c.title, 34)}” → {person_label(names, c.assignee)}, due {due}"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        return user_issues(refs, self.parse(config).assignee, field="assignee")


class CreateNoteConfig(ConfigModel):
    body: str = _merge_text("Note", textarea=True, min_length=1)


@register_step
class CreateNote(ActionStep[CreateNoteConfig]):
    """Add a note to the contact's record."""

    type = "create_note"
    label = "Create note"
    help = "Record a note on the contact (and its current opportunity)."
    icon = "sticky-note"
    group = "Tasks & notes"
    Config = CreateNoteConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        ctx.create_note(ctx.render(self.parse(config).body))

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"Note “{short(self.parse(config).body)}”"


class CreateOpportunityConfig(ConfigModel):
    pipeline_id: int = Field(title="Pipeline", json_schema_extra={"widget": "pipeline"})
    stage_id: int = Field(
        title="Stage", json_schema_extra={"widget": "stage", "depends_on": "pipeline_id"}
    )
    title: str = _merge_text("Title", min_length=1)
    value: float | None = Field(None, ge=0, title="Value")


@register_step
class CreateOpportunity(ActionStep[CreateOpportunityConfig]):
    """Create an opportunity for the contact (satisfies 'moved into' its stage)."""

    type = "create_opportunity"
    label = "Create opportunity"
    help = (
        "Create an opportunity in a pipeline stage. Unlike one made by hand, it "
        "satisfies Stage Moved goals for 'moved into' that stage."
    )
    icon = "briefcase"
    group = "Opportunities"
    Config = CreateOpportunityConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        c = self.parse(config)
        ctx.create_opportunity(c.pipeline_id, c.stage_id, ctx.render(c.title), c.value)

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        c = self.parse(config)
        return f"New opportunity “{short(c.title, 30)}” in {stage_label(names, c.stage_id)}"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        c = self.parse(config)
        return pipeline_issues(refs, c.pipeline_id) or stage_issues(refs, c.stage_id, c.pipeline_id)


class MoveOpportunityConfig(ConfigModel):
    stage_id: int = Field(title="Stage", json_schema_extra={"widget": "stage"})


@register_step
class MoveOpportunity(ActionStep[MoveOpportunityConfig]):
    """Move the contact's current opportunity to another stage."""

    type = "move_opportunity"
    label = "Move opportunity"
    help = "Move the contact's opportunity to a stage (recorded in its sales history)."
    icon = "arrow-right"
    group = "Opportunities"
    Config = MoveOpportunityConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        ctx.move_opportunity(self.parse(config).stage_id)

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"Move opportunity to {stage_label(names, self.parse(config).stage_id)}"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        return stage_issues(refs, self.parse(config).stage_id, None)


class AssignOwnerConfig(ConfigModel):
    user_id: t.Literal["round_robin"] | int = Field(
        title="Owner",
        description="A user, or round robin among eligible users.",
        json_schema_extra={"widget": "user"},
    )


@register_step
class AssignOwner(ActionStep[AssignOwnerConfig]):
    """Assign an owner to the contact and its opportunity."""

    type = "assign_owner"
    label = "Assign owner"
    help = "Set the owner to a given user, or pick one round robin."
    icon = "user-check"
    group = "Contact"
    Config = AssignOwnerConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        ctx.assign_owner(self.parse(config).user_id)

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"Owner → {person_label(names, self.parse(config).user_id)}"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        return user_issues(refs, self.parse(config).user_id, field="user_id")


class SetFieldConfig(ConfigModel):
    field: str = Field(min_length=1, title="Field", description="Contact field name.")
    value: str | int | float | bool | None = Field(title="Value")


@register_step
class SetField(ActionStep[SetFieldConfig]):
    """Set a contact field to a fixed value."""

    type = "set_field"
    label = "Set field"
    help = "Set a contact field to a value (taken literally, no merge fields)."
    icon = "edit"
    group = "Contact"
    Config = SetFieldConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        c = self.parse(config)
        ctx.set_field(c.field, c.value)

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        c = self.parse(config)
        value = c.value if isinstance(c.value, str) else json.dumps(c.value)
        return f"Set {short(c.field, 20)} = “{short(value, 24)}”"


class HttpPostConfig(ConfigModel):
    url: str = Field(min_length=1, title="URL", description="http:// or https:// only.")
    payload: dict[str, t.Any] = Field(
        default_factory=dict,
        alias="json",
        title="JSON body",
        description="String values may use merge fields.",
    )


def _render_json(ctx: StepContext, value: object) -> t.Any:
    """Render merge fields in every string leaf of a JSON value."""
    if isinstance(value, str):
        return ctx.render(value)
    if isinstance(value, Mapping):
        return {str(k): _render_json(ctx, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_render_json(ctx, v) for v in value]
    return value


def _json_strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _json_strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _json_strings(v)]
    return []


@register_step
class HttpPost(ActionStep[HttpPostConfig]):
    """POST JSON to an outside URL (through the outbox, with an Idempotency-Key)."""

    type = "http_post"
    label = "HTTP post"
    help = "POST a JSON body to a URL. Delivered once, with an Idempotency-Key header."
    icon = "globe"
    group = "Integrations"
    Config = HttpPostConfig
    outbox_kind = "http_post"

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        c = self.parse(config)
        ctx.enqueue("http_post", {"url": c.url, "json": _render_json(ctx, thaw(c.payload))})

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"POST {short(self.parse(config).url)}"

    def check_values(self, config: Cfg) -> list[Issue]:
        url = self.parse(config).url
        try:
            parts = urlsplit(url)
        except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 literal)
            return [issue("invalid_url", f"url: {url!r} is not an http(s) URL")]
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            return [issue("invalid_url", f"url: {url!r} is not an http(s) URL")]
        return []

    def merge_texts(self, config: Cfg) -> list[tuple[str, str]]:
        c = self.parse(config)
        return [("url", c.url)] + [("json", s) for s in _json_strings(c.payload)]


class NotifyUserConfig(ConfigModel):
    user: t.Literal["owner"] | int = Field(
        "owner", title="User", json_schema_extra={"widget": "assignee"}
    )
    message: str = _merge_text("Message", textarea=True, min_length=1)


@register_step
class NotifyUser(ActionStep[NotifyUserConfig]):
    """Send an in-app notification to a user."""

    type = "notify_user"
    label = "Notify user"
    help = "Notify the owner or a given user (live on their board)."
    icon = "bell"
    group = "Communication"
    Config = NotifyUserConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        c = self.parse(config)
        ctx.notify_user(c.user, ctx.render(c.message))

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        c = self.parse(config)
        return f"Notify {person_label(names, c.user)}: “{short(c.message, 24)}”"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        return user_issues(refs, self.parse(config).user, field="user")
