"""Configs: the base model every type's ``Config`` derives from, and the canvas form fields
derived from it (so a new config field appears in the canvas with no browser code).
"""

from __future__ import annotations

import functools
import types
import typing as t
from collections.abc import Mapping
from datetime import date
from datetime import datetime

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined


class ConfigModel(BaseModel):
    """Base of every ``Config`` model: unknown keys are configuration errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def thaw(value: object) -> t.Any:
    """Return ``value`` with every mapping turned into a dict and sequence into a list.

    The compiled campaign stores configs frozen (MappingProxy / tuples); pydantic
    and JSON encoders want plain containers.
    """
    # Concrete types first: ABC isinstance checks dominate validation time.
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (dict, Mapping)):
        return {str(k): thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


# --- canvas field derivation -------------------------------------------------

# A widget hint overrides the field type derived from the annotation.
_WIDGET_TYPES: dict[str, str] = {
    "pipeline": "pipeline",
    "stage": "stage",
    "user": "user",
    "tag": "tag",
    "assignee": "assignee",
    "window": "window",
    "textarea": "text",
    "merge_text": "text",
    "weekday_set": "object",
    "date": "date",
    "datetime": "datetime",
    "form": "form",
    "link": "link",
}


def _strip_optional(annotation: t.Any) -> tuple[t.Any, bool]:
    """Split ``X | None`` into ``(X, True)``; other annotations pass through."""
    origin = t.get_origin(annotation)
    if origin in (t.Union, types.UnionType):
        args = [a for a in t.get_args(annotation) if a is not type(None)]
        nullable = len(args) != len(t.get_args(annotation))
        if len(args) == 1:
            return args[0], nullable
        return t.Union[tuple(args)], nullable  # noqa: UP007 - runtime construction
    return annotation, False


def _literal_values(annotation: t.Any) -> list[t.Any]:
    """Return every Literal value inside ``annotation`` (unions included)."""
    if t.get_origin(annotation) is t.Literal:
        return list(t.get_args(annotation))
    if t.get_origin(annotation) in (t.Union, types.UnionType):
        out: list[t.Any] = []
        for arg in t.get_args(annotation):
            out.extend(_literal_values(arg))
        return out
    return []


def _base_field_type(annotation: t.Any) -> str:
    """Map a Python annotation to a canvas field type."""
    if t.get_origin(annotation) is t.Annotated:
        annotation = t.get_args(annotation)[0]
    if t.get_origin(annotation) is t.Literal:
        return "select"
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return "integer"
    if annotation is float:
        return "number"
    if annotation is datetime:
        return "datetime"
    if annotation is date:
        return "date"
    if annotation is str:
        return "string"
    return "object"


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def field_specs(model: type[BaseModel]) -> list[dict[str, t.Any]]:
    """Derive the canvas form fields of a ``Config`` model.

    Args:
        model: a pydantic model; ``json_schema_extra`` may carry ``widget``,
            ``depends_on`` and ``option_labels``.

    Returns:
        ``[{name, label, type, required, help, default, options, ...}]`` in
        declaration order.
    """
    out: list[dict[str, t.Any]] = []
    for name, info in model.model_fields.items():
        out.append(_field_spec(name, info))
    return out


def _field_spec(name: str, info: FieldInfo) -> dict[str, t.Any]:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    inner, _nullable = _strip_optional(info.annotation)
    widget = extra.get("widget")
    ftype = _WIDGET_TYPES.get(str(widget)) if widget else None
    if ftype is None:
        ftype = _base_field_type(inner)
    elif widget == "merge_text" and not extra.get("multiline"):
        ftype = "string"
    labels = extra.get("option_labels")
    label_map: Mapping[str, t.Any] = labels if isinstance(labels, Mapping) else {}
    options = [
        {"value": v, "label": str(label_map.get(str(v), _label(str(v))))}
        for v in _literal_values(inner)
    ]
    default = info.get_default(call_default_factory=True)
    if default is PydanticUndefined:
        default = None
    elif isinstance(default, BaseModel):
        default = default.model_dump(mode="json")
    spec: dict[str, t.Any] = {
        "name": info.alias or name,
        "label": info.title or _label(info.alias or name),
        "type": ftype,
        "required": info.is_required(),
        "help": info.description or "",
        "default": default,
        "options": options,
    }
    if widget:
        spec["widget"] = widget
    if "depends_on" in extra:
        spec["depends_on"] = extra["depends_on"]
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        spec["fields"] = field_specs(inner)  # nested form, e.g. the delay window
    return spec


@functools.cache
def merge_text_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Return the attribute names of fields whose widget is ``merge_text``."""
    names: list[str] = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("widget") == "merge_text":
            names.append(name)
    return tuple(names)


def merge_text_field(title: str, *, textarea: bool = False, hint: str | None = None, **kw: t.Any) -> t.Any:
    """A config field holding text that may contain merge fields (rendered per contact).

    ``hint`` is the message shown while the field is empty ("Type the email's subject").
    """
    extra: dict[str, t.Any] = {"widget": "merge_text", "multiline": textarea}
    if hint:
        extra["hint"] = hint
    return Field(title=title, json_schema_extra=extra, **kw)
