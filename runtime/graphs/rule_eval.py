"""Evaluating a parsed rule set (`runtime.graphs.rules`) against one contact's `Facts`.

Invariants: pure (facts come in as a value); the semantics are the ones the
rules module's docstring states, and segments' SQL reproduces them (a property
test holds the two equal).
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime

from runtime.graphs.rules import FieldSpec
from runtime.graphs.rules import Group
from runtime.graphs.rules import as_date
from runtime.graphs.rules import field_spec
from runtime.graphs.rules import is_number


@dataclass(frozen=True)
class Facts:
    """What rules may know about one contact at one moment."""

    tags: frozenset[str] = frozenset()
    contact: Mapping[str, t.Any] = field(default_factory=dict)
    fields: Mapping[str, t.Any] = field(default_factory=dict)
    #: The contact's most recent open opportunity (or the one on the path); None without one.
    opportunity: Mapping[str, t.Any] | None = None
    email_opened: bool = False
    email_clicked: bool = False

    def value(self, spec: FieldSpec) -> t.Any:
        """The field's value for this contact (None when missing)."""
        where = spec.source[0]
        if where == "tags":
            return sorted(self.tags)
        if where == "contact":
            return self.contact.get(spec.source[1])
        if where == "fields":
            return self.fields.get(spec.source[1])
        if where == "opportunity":
            return None if self.opportunity is None else self.opportunity.get(spec.source[1])
        return self.email_opened if spec.source[1] == "opened" else self.email_clicked


@dataclass(frozen=True)
class Checked:
    """One rule's outcome, for the Evaluate tester: what it wanted, what it found."""

    field: str
    op: str
    value: t.Any
    actual: t.Any
    result: bool

    def to_json(self) -> dict[str, t.Any]:
        """``{field, op, value, actual, result}`` with JSON-safe values."""
        return {"field": self.field, "op": self.op, "value": self.value, "actual": _jsonable(self.actual),
                "result": self.result}


def _jsonable(value: t.Any) -> t.Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _empty(value: t.Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _compare(kind: str, op: str, actual: t.Any, wanted: t.Any) -> bool:
    """One op on one value, by the module's semantics (missing: only empty and ne hold)."""
    if op == "empty":
        return _empty(actual)
    if op == "not_empty":
        return not _empty(actual)
    if op == "has":
        return isinstance(actual, list) and wanted in actual
    if op == "not_has":
        return not (isinstance(actual, list) and wanted in actual)
    if _empty(actual):
        return op == "ne"
    if op == "contains":
        return not isinstance(actual, (dict, list)) and str(wanted).lower() in _text(actual)
    left, right = _comparable(kind, actual, wanted)
    if left is None or right is None:
        return op == "ne"
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if type(left) is not type(right) or isinstance(left, str):
        return False  # ordering needs two numbers or two dates
    return bool({"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op])


def _comparable(kind: str, actual: t.Any, wanted: t.Any) -> tuple[t.Any, t.Any]:
    if kind == "number":
        return (float(actual) if is_number(actual) else None), float(wanted)
    if kind == "date":
        return as_date(actual), as_date(wanted)
    if kind == "boolean":
        return bool(actual), bool(wanted)
    if kind == "id":
        return (actual if isinstance(actual, int) else None), wanted
    if kind == "any":
        if is_number(actual) and is_number(wanted):
            return float(actual), float(wanted)
        if isinstance(actual, (dict, list)):
            return None, None
        if not isinstance(wanted, str) and not is_number(wanted):
            return None, None
        if as_date(wanted) is not None and as_date(actual) is not None and not is_number(wanted):
            return as_date(actual), as_date(wanted)
    return _text(actual), str(wanted).lower()


def _text(value: t.Any) -> str:
    """A value as lower-case text (booleans as ``true``/``false``, numbers as Python writes them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower()


def evaluate(group: Group, facts: Facts) -> tuple[bool, list[Checked]]:
    """Whether a rule set holds for the facts, and every rule's outcome (all are evaluated)."""
    checked: list[Checked] = []
    return _evaluate(group, facts, checked), checked


def _evaluate(group: Group, facts: Facts, checked: list[Checked]) -> bool:
    results = []
    for item in group.items:
        if isinstance(item, Group):
            results.append(_evaluate(item, facts, checked))
            continue
        spec = field_spec(item.field)
        assert spec is not None  # parse_rules checked it
        actual = facts.value(spec)
        result = _compare(spec.kind, item.op, actual, item.value)
        checked.append(Checked(item.field, item.op, item.value, actual, result))
        results.append(result)
    return all(results) if group.mode == "all" else any(results)
