"""The rule language of decisions and segments (DESIGN.md §6.2): fields, parse, check and describe.

A rule set is a group ``{"all": [...]}`` or ``{"any": [...]}`` whose items are
rules ``{"field", "op", "value"}`` or nested groups. Fields: ``tags``,
``contact.<column>``, ``contact.fields.<key>`` (custom fields),
``opportunity.<column>`` (the contact's opportunity), ``email.opened`` and
``email.clicked`` (any email of the campaign). Ops: has, not_has, eq, ne, gt,
gte, lt, lte, contains, empty, not_empty.

Invariants:
    * Pure: facts come in as a `Facts` value; nothing here reads a database.
      `runtime.graphs.rule_eval` evaluates parsed rules in Python; segments
      compile them to SQL (`runtime.segments`), and a property test holds the
      two evaluations equal.
    * Semantics, the same everywhere: text comparisons ignore case (Unicode
      lower case, which SQL can reproduce); a missing value is ``empty``, is
      ``ne`` anything, and fails every other op; numbers compare as numbers
      and dates by calendar day — a text is a date when it starts with a valid
      ``YYYY-MM-DD``; a custom field compares as a number when both sides are
      numbers, as a date when both are dates, else as text; a list or object
      value contains nothing and equals nothing.
    * `check_rules` says what is wrong in plain words naming fields by their
      labels; `parse_rules` refuses what `check_rules` reports.
"""

from __future__ import annotations

import math
import re
import typing as t
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime

Kind = t.Literal["tags", "text", "number", "date", "boolean", "id", "any"]

OP_LABELS: dict[str, str] = {
    "has": "has", "not_has": "does not have", "eq": "is", "ne": "is not", "gt": "is more than",
    "gte": "is at least", "lt": "is less than", "lte": "is at most", "contains": "contains",
    "empty": "is empty", "not_empty": "is not empty",
}
OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "tags": ("has", "not_has", "empty", "not_empty"),
    "text": ("eq", "ne", "contains", "empty", "not_empty"),
    "number": ("eq", "ne", "gt", "gte", "lt", "lte", "empty", "not_empty"),
    "date": ("eq", "ne", "gt", "gte", "lt", "lte", "empty", "not_empty"),
    "boolean": ("eq", "ne"),
    "id": ("eq", "ne", "empty", "not_empty"),
    "any": ("eq", "ne", "gt", "gte", "lt", "lte", "contains", "empty", "not_empty"),
}
NO_VALUE_OPS = frozenset({"empty", "not_empty"})
CUSTOM_PREFIX = "contact.fields."
MAX_DEPTH = 5
MAX_RULES = 100


@dataclass(frozen=True)
class FieldSpec:
    """A field rules can test: its name, label (for people), kind and the column it reads."""

    name: str
    label: str
    kind: Kind
    #: Where the value lives: ("tags",), ("contact", column), ("opportunity", column), ("email", what).
    source: tuple[str, ...]
    choices: tuple[str, ...] = ()

    def to_json(self) -> dict[str, t.Any]:
        """The field picker's entry."""
        return {"name": self.name, "label": self.label, "kind": self.kind, "ops": list(OPS_BY_KIND[self.kind]),
                "choices": list(self.choices)}


FIELDS: dict[str, FieldSpec] = {f.name: f for f in (
    FieldSpec("tags", "Tags", "tags", ("tags",)),
    FieldSpec("contact.email", "Email", "text", ("contact", "email")),
    FieldSpec("contact.first_name", "First name", "text", ("contact", "first_name")),
    FieldSpec("contact.last_name", "Last name", "text", ("contact", "last_name")),
    FieldSpec("contact.timezone", "Time zone", "text", ("contact", "timezone")),
    FieldSpec("contact.owner_id", "Contact owner", "id", ("contact", "owner_id")),
    FieldSpec("contact.created_at", "Contact created", "date", ("contact", "created_at")),
    FieldSpec("contact.email_status", "Email status", "text", ("contact", "email_status"),
              ("subscribed", "unsubscribed", "bounced")),
    FieldSpec("opportunity.title", "Deal title", "text", ("opportunity", "title")),
    FieldSpec("opportunity.value", "Deal value", "number", ("opportunity", "value")),
    FieldSpec("opportunity.pipeline_id", "Deal pipeline", "id", ("opportunity", "pipeline_id")),
    FieldSpec("opportunity.stage_id", "Deal stage", "id", ("opportunity", "stage_id")),
    FieldSpec("opportunity.owner_id", "Deal owner", "id", ("opportunity", "owner_id")),
    FieldSpec("opportunity.outcome", "Deal outcome", "text", ("opportunity", "outcome"), ("open", "won", "lost")),
    FieldSpec("opportunity.expected_close_date", "Expected close date", "date",
              ("opportunity", "expected_close_date")),
    FieldSpec("opportunity.next_action_date", "Next action date", "date", ("opportunity", "next_action_date")),
    FieldSpec("opportunity.created_source", "Deal created by", "text", ("opportunity", "created_source"),
              ("user", "campaign")),
    FieldSpec("email.opened", "Opened an email of this campaign", "boolean", ("email", "opened")),
    FieldSpec("email.clicked", "Clicked a link in an email of this campaign", "boolean", ("email", "clicked")),
)}


def field_spec(name: str) -> FieldSpec | None:
    """The spec of a field name; custom fields are ``contact.fields.<key>`` (a key without quotes or backslashes)."""
    spec = FIELDS.get(name)
    if spec is None and name.startswith(CUSTOM_PREFIX) and len(name) > len(CUSTOM_PREFIX):
        key = name[len(CUSTOM_PREFIX):]
        if '"' in key or "\\" in key:
            return None
        spec = FieldSpec(name, f"Custom field “{key}”", "any", ("fields", key))
    return spec


# --- parsed form ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One test of one field."""

    field: str
    op: str
    value: t.Any = None


@dataclass(frozen=True)
class Group:
    """All (or any) of its items must hold."""

    mode: t.Literal["all", "any"]
    items: tuple[Rule | Group, ...]


@dataclass(frozen=True)
class Problem:
    """What is wrong with a rule set, where (a path such as "all.1.any.0"), in plain words."""

    path: str
    code: str
    message: str


class RuleError(ValueError):
    """A rule set that `check_rules` finds problems in."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_DATE_PREFIX = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def as_date(value: object) -> date | None:
    """A date, a datetime's (UTC) day, or the day a text starts with (``YYYY-MM-DD…``); else None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE_PREFIX.match(value):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _value_problem(spec: FieldSpec, op: str, value: object) -> str | None:
    """What is wrong with a rule's value for its field and op (None when fine)."""
    if op in NO_VALUE_OPS:
        return None
    label = f"“{spec.label}”"
    if spec.kind in ("tags", "text"):
        if not isinstance(value, str) or not value.strip():
            return f"Type the {'tag' if spec.kind == 'tags' else 'text'} {label} is compared with"
        if spec.choices and op in ("eq", "ne") and value not in spec.choices:
            return f"{label} is one of {', '.join(spec.choices)}"
        return None
    if spec.kind == "number":
        return None if is_number(value) else f"{label} is compared with a number: type one"
    if spec.kind == "id":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"Choose the {spec.label.lower()} to compare with"
    if spec.kind == "date":
        return None if as_date(value) is not None else f"{label} is compared with a date (YYYY-MM-DD)"
    if spec.kind == "boolean":
        return None if isinstance(value, bool) else f"{label} is compared with yes or no"
    if op in ("gt", "gte", "lt", "lte") and not (is_number(value) or as_date(value) is not None):
        return f"{label} “{OP_LABELS[op]}” needs a number or a date"
    if value is None or isinstance(value, (dict, list)) or (isinstance(value, str) and not value.strip()):
        return f"Type the value {label} is compared with"
    return None


def check_rules(data: object, path: str = "") -> list[Problem]:
    """Everything wrong with a rule set, each with where it is and what to do."""
    problems: list[Problem] = []
    _check_group(data, path, 0, problems, [0])
    return problems


def _check_group(data: object, path: str, depth: int, out: list[Problem], count: list[int]) -> None:
    if not isinstance(data, Mapping) or len(data) != 1 or next(iter(data)) not in ("all", "any"):
        out.append(Problem(path, "invalid_group", "A group must say whether all or any of its rules must match"))
        return
    mode = next(iter(data))
    items = data[mode]
    where = f"{path}.{mode}" if path else mode
    if depth >= MAX_DEPTH:
        out.append(Problem(where, "too_deep", f"Groups can be nested {MAX_DEPTH} deep at most"))
        return
    if not isinstance(items, list) or not items:
        out.append(Problem(where, "empty_group", "Add at least one rule to this group"))
        return
    for index, item in enumerate(items):
        at = f"{where}.{index}"
        if isinstance(item, Mapping) and ("all" in item or "any" in item):
            _check_group(item, at, depth + 1, out, count)
            continue
        count[0] += 1
        if count[0] == MAX_RULES + 1:
            out.append(Problem(at, "too_many_rules", f"A rule set holds {MAX_RULES} rules at most"))
        _check_rule(item, at, out)


def _check_rule(item: object, at: str, out: list[Problem]) -> None:
    if not isinstance(item, Mapping) or set(item) - {"field", "op", "value"}:
        out.append(Problem(at, "invalid_rule", "A rule has a field, a comparison and (mostly) a value"))
        return
    name = item.get("field")
    spec = field_spec(name) if isinstance(name, str) else None
    if spec is None:
        message = "Choose what the rule checks" if not name else f"“{name}” is not a field rules can check"
        out.append(Problem(at, "unknown_field", message))
        return
    op = item.get("op")
    if op not in OPS_BY_KIND[spec.kind]:
        if op in OP_LABELS:
            message = f"“{spec.label}” can't be compared with “{OP_LABELS[str(op)]}”"
        else:
            message = f"Choose how “{spec.label}” is compared"
        out.append(Problem(at, "unknown_op", message))
        return
    problem = _value_problem(spec, str(op), item.get("value"))
    if problem:
        out.append(Problem(at, "invalid_value", problem))


def parse_rules(data: object) -> Group:
    """The parsed rule set.

    Raises:
        RuleError: `check_rules` found problems.
    """
    problems = check_rules(data)
    if problems:
        raise RuleError(problems)
    return _parse_group(t.cast(Mapping[str, t.Any], data))


def _parse_group(data: Mapping[str, t.Any]) -> Group:
    mode = t.cast(t.Literal["all", "any"], next(iter(data)))
    items: list[Rule | Group] = []
    for item in data[mode]:
        if "all" in item or "any" in item:
            items.append(_parse_group(item))
        else:
            items.append(Rule(item["field"], item["op"], item.get("value")))
    return Group(mode, tuple(items))


def rules_json(group: Group) -> dict[str, t.Any]:
    """The JSON form of a parsed rule set."""
    items: list[dict[str, t.Any]] = []
    for item in group.items:
        if isinstance(item, Group):
            items.append(rules_json(item))
        else:
            rule = {"field": item.field, "op": item.op}
            if item.op not in NO_VALUE_OPS:
                rule["value"] = item.value
            items.append(rule)
    return {group.mode: items}


def fields_used(group: Group) -> set[str]:
    """Every field a rule set reads."""
    out: set[str] = set()
    for item in group.items:
        out |= fields_used(item) if isinstance(item, Group) else {item.field}
    return out


def describe(group: Group, names: t.Callable[[str, t.Any], str] | None = None) -> str:
    """A one-line reading of a rule set ("Tags has “vip” and Deal value is at least 10000")."""
    parts = []
    for item in group.items:
        if isinstance(item, Group):
            parts.append(f"({describe(item, names)})")
            continue
        spec = field_spec(item.field)
        label = spec.label if spec else item.field
        if item.op in NO_VALUE_OPS:
            parts.append(f"{label} {OP_LABELS[item.op]}")
            continue
        shown = names(item.field, item.value) if names else None
        if not shown:
            shown = f"“{item.value}”" if isinstance(item.value, str) else str(item.value).lower()
        parts.append(f"{label} {OP_LABELS[item.op]} {shown}")
    return (" and " if group.mode == "all" else " or ").join(parts)


def fields_json() -> list[dict[str, t.Any]]:
    """The fields and their ops for the canvas's rule editor (custom fields are typed in)."""
    return [spec.to_json() for spec in FIELDS.values()]
