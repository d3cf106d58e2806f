"""What every schema module shares: id, money and time types, the response and PATCH bases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from typing import Any
from typing import ClassVar
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from pydantic import AfterValidator
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import PlainSerializer
from pydantic import StringConstraints
from pydantic import ValidationInfo
from pydantic import WithJsonSchema
from pydantic import field_validator

from builder.api.base import MAX_INT
from builder.api.base import Body

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


def _isoformat(moment: datetime) -> str:
    return moment.isoformat()


IsoTimestamp = Annotated[datetime, PlainSerializer(_isoformat, return_type=str),
                         WithJsonSchema({"type": "string", "format": "date-time"})]
"""A moment written by `datetime.isoformat()` (`...+00:00`): how the runtime's replies have always written it.

(Fields typed plain `datetime` are written by pydantic, `...Z`; both are RFC 3339.)
"""


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def only_when(description: str) -> Any:
    """A reply key that is left out, never null, where it does not apply.

    Declare it `name: T | SkipJsonSchema[None] = only_when("...")`: the
    document shows an optional `T` (no null, no default), and the reply shapes
    with `exclude_unset`, so the key is absent unless the source set it.
    """
    return Field(default=None, description=description, json_schema_extra=_no_default)


def _open_object(schema: dict[str, Any], model: type[BaseModel]) -> None:
    schema.pop("additionalProperties", None)


class Out(BaseModel):
    """Base of response models, read from ORM rows, dicts or keyword arguments.

    A key the model does not declare is refused (a domain dict that grows a key
    fails the tests until its schema says so), yet the document leaves objects
    open: replies may gain fields later (DESIGN.md §5), so clients must ignore
    unknown ones.
    """

    model_config = ConfigDict(from_attributes=True, extra="forbid", json_schema_extra=_open_object)


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
