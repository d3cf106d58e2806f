"""Plain-word messages for config errors: the field by its canvas label, and what to do.

Pydantic says "stage_id: Field required"; a marketer needs "Choose the stage
this goal watches". A config field may carry its own ``hint`` (in
``json_schema_extra``) for when it is missing; otherwise the message follows
from the field's label, widget and the kind of error.
"""

from __future__ import annotations

import types
import typing as t

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

_CHOICE_WIDGETS = frozenset({"pipeline", "stage", "user", "assignee", "weekday_set"})


def _field_info(model: type[BaseModel], key: str) -> tuple[str, FieldInfo] | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return name, info
    return None


def _inner_model(annotation: t.Any) -> type[BaseModel] | None:
    """The pydantic model inside ``X | None`` (a nested form such as the delay window)."""
    candidates = t.get_args(annotation) if t.get_origin(annotation) in (t.Union, types.UnionType) else (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _label_of(name: str, info: FieldInfo) -> str:
    return info.title or name.replace("_", " ").capitalize()


def _locate(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[str, str, FieldInfo | None]:
    """(config key, field label, field info) for an error location; nested forms read "Window › From hour"."""
    labels: list[str] = []
    current: type[BaseModel] | None = model
    info: FieldInfo | None = None
    key = str(loc[0]) if loc else ""
    for part in loc:
        if current is None or not isinstance(part, str):
            break
        found = _field_info(current, part)
        if found is None:
            info = None
            labels.append(part)
            break
        name, info = found
        labels.append(_label_of(name, info))
        current = _inner_model(info.annotation)
    return key, " › ".join(labels) or "This setting", info


def _missing(label: str, info: FieldInfo | None) -> str:
    extra = info.json_schema_extra if info is not None and isinstance(info.json_schema_extra, dict) else {}
    hint = extra.get("hint")
    if isinstance(hint, str):
        return hint
    widget = extra.get("widget")
    if widget == "tag":
        return f"Type the {label.lower()}"
    if widget in _CHOICE_WIDGETS or (info is not None and t.get_origin(info.annotation) is t.Literal):
        return f"Choose the {label.lower()}"
    return f"Fill in “{label}”"


def config_error(model: type[BaseModel], err: ErrorDetails, what: str) -> tuple[str, str]:
    """``(config key, message)`` for one pydantic error of a ``Config`` model.

    Args:
        model: the goal or step type's ``Config``.
        err: one entry of ``ValidationError.errors()``.
        what: "goal" or "step", for "… is not a setting of this step".
    """
    loc = tuple(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    key, label, info = _locate(model, loc)
    quoted = f"“{label}”"
    if kind == "extra_forbidden":
        return key, f"“{loc[-1] if loc else key}” is not a setting of this {what}: remove it"
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return key, _missing(label, info)
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return key, f"{quoted} must be a whole number"
    if kind in ("float_parsing", "float_type", "decimal_parsing"):
        return key, f"{quoted} must be a number"
    if kind in ("bool_parsing", "bool_type"):
        return key, f"{quoted} must be yes or no"
    if kind == "greater_than_equal":
        return key, f"{quoted} must be {ctx.get('ge')} or more"
    if kind == "greater_than":
        return key, f"{quoted} must be more than {ctx.get('gt')}"
    if kind == "less_than_equal":
        return key, f"{quoted} must be {ctx.get('le')} or less"
    if kind == "less_than":
        return key, f"{quoted} must be less than {ctx.get('lt')}"
    if kind == "literal_error":
        return key, f"Choose one of the options for {quoted}"
    if kind == "string_too_long":
        return key, f"{quoted} is too long: keep it under {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return key, f"{quoted} needs at least {ctx.get('min_length')} characters"
    if kind in ("string_type", "int_type", "dict_type", "list_type", "model_type", "model_attributes_type"):
        return key, f"{quoted} has the wrong kind of value: set it again"
    message = str(err["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return key, f"{quoted}: {message[:1].lower()}{message[1:]}"


def merge_field_message(model: type[BaseModel], key: str, name: str) -> str:
    """The message for an unknown merge field ``{{name}}`` in the config field ``key``."""
    _key, label, _info = _locate(model, (key,))
    return (f"“{label}” uses {{{{{name}}}}}, which is not a merge field: pick one from “+ Merge field” "
            "or correct the spelling")
