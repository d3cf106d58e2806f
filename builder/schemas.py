"""Request and response schemas of the API (pydantic v2), shared with OpenAPI."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Annotated
from typing import Any
from typing import ClassVar
from typing import Literal
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from pydantic import AfterValidator
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import EmailStr
from pydantic import Field
from pydantic import StringConstraints
from pydantic import ValidationInfo
from pydantic import field_validator

from builder.api.base import MAX_INT
from builder.api.base import Body
from builder.api.base import Query

Id = Annotated[int, Field(ge=1, le=MAX_INT)]
Count = Annotated[int, Field(ge=0, le=MAX_INT)]
Money = Annotated[float, Field(ge=0, le=999_999_999_999.99)]  # NUMERIC(14, 2)
Password = Annotated[str, StringConstraints(strip_whitespace=False)]  # spaces are part of a password


def _known_zone(name: str) -> str:
    """An IANA time zone name the runtime can use (timer windows, due dates)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name like Europe/Berlin)") from exc
    return name


TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_known_zone)]


class Out(BaseModel):
    """Base of response models, read from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


def _drop_null(schema: dict[str, Any], model: type[BaseModel]) -> None:
    nullable: frozenset[str] = getattr(model, "nullable", frozenset())
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf")
        if name in nullable or not options:
            continue
        rest = [o for o in options if o.get("type") != "null"]
        prop.pop("anyOf")
        prop.pop("default", None)
        if len(rest) == 1:
            prop.update(rest[0])
        else:
            prop["anyOf"] = rest


class Patch(Body):
    """Base of PATCH bodies: a field may be left out, but null only where it means "clear"."""

    model_config = ConfigDict(json_schema_extra=_drop_null)
    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may be left out but cannot be null")
        return value


# --- auth and users -------------------------------------------------------

class TokenRequest(Body):
    username: str = Field(min_length=1, max_length=80)
    password: Password = Field(min_length=1, max_length=200)
    label: str = Field(default="", max_length=120)


class UserOut(Out):
    id: int
    username: str
    name: str
    email: str
    role: str
    daily_task_capacity: int
    team_id: int | None
    active: bool


class TokenOut(BaseModel):
    token: str
    expires_at: datetime
    user: UserOut


class TokenInfo(Out):
    id: int
    label: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class UserCreate(Body):
    username: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: Password = Field(min_length=8, max_length=200)
    role: Literal["admin", "marketer", "rep"]
    name: str = Field(default="", max_length=120)
    email: str = Field(default="", max_length=254)
    daily_task_capacity: int = Field(default=10, ge=1, le=500)
    team: str | None = Field(default=None, max_length=120)


class UserPatch(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"team_id"})  # null = no team
    role: Literal["admin", "marketer", "rep"] | None = None
    name: str | None = Field(default=None, max_length=120)
    email: str | None = Field(default=None, max_length=254)
    daily_task_capacity: int | None = Field(default=None, ge=1, le=500)
    timezone: TimeZone | None = None
    active: bool | None = None
    password: Password | None = Field(default=None, min_length=8, max_length=200)
    team_id: Id | None = None


# --- contacts --------------------------------------------------------------

class ContactCreate(Body):
    email: EmailStr
    first_name: str = Field(default="", max_length=120)
    last_name: str = Field(default="", max_length=120)
    phone: str = Field(default="", max_length=40)
    fields: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    timezone: TimeZone | None = None
    owner_id: Id | None = None


class ContactPatch(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"timezone", "owner_id"})

    email: EmailStr | None = None
    first_name: str | None = Field(default=None, max_length=120)
    last_name: str | None = Field(default=None, max_length=120)
    phone: str | None = Field(default=None, max_length=40)
    fields: dict[str, Any] | None = None
    timezone: TimeZone | None = None
    owner_id: Id | None = None


class ContactQuery(Query):
    q: str = ""
    tag: str | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    offset: Count = 0


class TagBody(Body):
    tag: str = Field(min_length=1, max_length=120)


class ContactOut(Out):
    id: int
    email: str
    first_name: str
    last_name: str
    name: str
    phone: str = ""
    email_status: Literal["subscribed", "unsubscribed", "bounced"] = "subscribed"
    fields: dict[str, Any]
    timezone: str | None
    owner_id: int | None
    tags: list[str]
    created_at: datetime


# --- pipelines -------------------------------------------------------------

class ChecklistSpec(Body):
    text: str = Field(min_length=1, max_length=300)
    required: bool = False


class StageSpec(Body):
    number: Count
    name: str = Field(min_length=1, max_length=120)
    target_days: int = Field(default=7, ge=0, le=3650)
    probability: int = Field(default=0, ge=0, le=100)
    checklist: list[ChecklistSpec] = Field(default_factory=list)


class StagePatch(Patch):
    number: Count | None = None
    name: str | None = Field(default=None, min_length=1, max_length=120)
    target_days: int | None = Field(default=None, ge=0, le=3650)
    probability: int | None = Field(default=None, ge=0, le=100)
    checklist: list[ChecklistSpec] | None = None


class PipelineCreate(Body):
    name: str = Field(min_length=1, max_length=120)
    kind: Literal["leads", "sales", "fulfillment"]
    template: Literal["sales_workflow", "fulfillment"] | None = None
    stages: list[StageSpec] = Field(default_factory=list)


class ChecklistItemOut(Out):
    id: int
    text: str
    required: bool


class StageOut(Out):
    id: int
    pipeline_id: int
    number: int
    name: str
    target_days: int
    probability: int
    checklist: list[ChecklistItemOut]


class PipelineOut(Out):
    id: int
    name: str
    kind: str
    stages: list[StageOut]


class StageForecastOut(Out):
    stage_id: int
    number: int
    name: str
    probability: int
    count: int
    value: float
    weighted_value: float
    overdue: int


class ForecastOut(BaseModel):
    pipeline_id: int
    stages: list[StageForecastOut]
    total_value: float
    total_weighted_value: float
    total_overdue: int


class ForecastQuery(Query):
    owner_id: Id | None = None


# --- opportunities ---------------------------------------------------------

class ProductSpec(Body):
    name: str = Field(min_length=1, max_length=200)
    quantity: int = Field(default=1, ge=1, le=MAX_INT)
    special_price: Money | None = None


class OpportunityCreate(Body):
    title: str = Field(min_length=1, max_length=200)
    contact_id: Id
    pipeline_id: Id
    stage_id: Id
    owner_id: Id | None = None
    value: Money | None = None
    next_action_date: date | None = None
    next_action_note: str = Field(default="", max_length=2000)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    products: list[ProductSpec] = Field(default_factory=list)


class OpportunityPatch(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"owner_id", "next_action_date"})
    title: str | None = Field(default=None, min_length=1, max_length=200)
    stage_id: Id | None = None
    owner_id: Id | None = None
    value: Money | None = None
    next_action_date: date | None = None
    next_action_note: str | None = Field(default=None, max_length=2000)
    custom_fields: dict[str, Any] | None = None
    products: list[ProductSpec] | None = None


class OpportunityQuery(Query):
    pipeline_id: Id | None = None
    stage_id: Id | None = None
    owner_id: Id | None = None
    contact_id: Id | None = None
    overdue: bool | None = None
    q: str = ""
    limit: int = Field(default=500, ge=1, le=5000)
    offset: Count = 0


class ChecklistBody(Body):
    done: bool


class NoteBody(Body):
    body: str = Field(min_length=1, max_length=10000)


class ShareBody(Body):
    user_id: Id | None = None
    team_id: Id | None = None


class OpportunityOut(Out):
    id: int
    title: str
    contact_id: int
    contact_name: str
    owner_id: int | None
    owner_name: str | None
    pipeline_id: int
    stage_id: int
    stage_name: str
    value: float
    next_action_date: date | None
    next_action_note: str
    custom_fields: dict[str, Any]
    stage_entered_at: datetime
    days_in_stage: float
    overdue: bool
    created_source: str
    created_at: datetime
    updated_at: datetime


class HistoryOut(Out):
    id: int
    from_stage_id: int | None
    to_stage_id: int
    from_stage_name: str | None = None
    to_stage_name: str | None = None
    moved_at: datetime
    moved_by_id: int | None
    moved_by_name: str | None = None
    owner_id: int | None
    owner_name: str | None = None
    days_in_previous_stage: float | None
    source: str


class NoteOut(Out):
    id: int
    body: str
    author_id: int | None
    source: str
    created_at: datetime


class ShareOut(Out):
    id: int
    user_id: int | None
    team_id: int | None
    shared_at: datetime


class ProductOut(Out):
    id: int
    name: str
    quantity: int
    special_price: float | None


# --- tasks -----------------------------------------------------------------

class TaskQuery(Query):
    assignee_id: Id | None = None
    open: bool | None = None
    opportunity_id: Id | None = None
    contact_id: Id | None = None


class TaskCreate(Body):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=5000)
    assignee_id: Id | None = None
    due_date: date | None = None
    contact_id: Id | None = None
    opportunity_id: Id | None = None


class TaskPatch(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"due_date", "assignee_id"})
    completed: bool | None = None
    title: str | None = Field(default=None, min_length=1, max_length=300)
    due_date: date | None = None
    assignee_id: Id | None = None


class TaskOut(Out):
    id: int
    title: str
    description: str
    contact_id: int | None
    opportunity_id: int | None
    assignee_id: int | None
    due_date: date | None
    completed_at: datetime | None
    created_at: datetime
    source: str
