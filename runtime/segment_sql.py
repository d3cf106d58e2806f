"""Rule sets (`runtime.graphs.rules`) compiled to a SQL condition on contacts: segments.

The rules are parsed once by the rule language itself; this module only says
the same thing in SQL, rule by rule, so that a contact is in a segment exactly
when `rules.evaluate` would say the rule set holds for it (a hypothesis test
holds the two equal on SQLite and PostgreSQL).

Where the facts come from:
    * ``tags``: the contact's tags (``contact_tag`` ⋈ ``tag``), names compared exactly;
    * ``contact.<column>``: the contact's column — a field whose column does not
      exist (yet) is missing, as an absent fact is for `evaluate`;
    * ``contact.fields.<key>``: the key of the contact's JSON custom fields, by
      its JSON type (text, number, true/false, list, object, null);
    * ``opportunity.<column>``: the contact's most recent open opportunity (the
      highest id; "open" once opportunities have an outcome);
    * ``email.opened`` / ``email.clicked``: the event log has an ``email_opened`` /
      ``link_clicked`` event of the contact (any campaign: a segment has none).

Invariants:
    * Every rule compiles to a condition that is never NULL (SQL's unknown
      would turn a ``ne`` into a silent miss): missing values are tested first.
    * Text is compared in lower case with the same lower-casing as Python's
      ``str.lower`` (a registered function on SQLite, ICU on PostgreSQL).
    * No user text is ever spliced into SQL: values and JSON keys are bound.
"""

from __future__ import annotations

import typing as t
from datetime import date

from sqlalchemy import Date
from sqlalchemy import Float
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import cast
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import not_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.sql import ColumnElement

from models import Contact
from models import ContactTag
from models import DomainEvent
from models import Opportunity
from models import Tag
from runtime.graphs import rules as rule_language
from runtime.graphs.rules import FieldSpec
from runtime.graphs.rules import Group
from runtime.graphs.rules import Rule

Bool = ColumnElement[bool]
CONTACT = t.cast(Table, Contact.__table__)
OPPORTUNITY = t.cast(Table, Opportunity.__table__)
_EMAIL_EVENTS = {"opened": "email_opened", "clicked": "link_clicked"}


def contacts_where(group: Group, dialect: str) -> Bool:
    """The condition on the ``contact`` table under which `group` holds for a contact."""
    parts = [_item(item, dialect) for item in group.items]
    return and_(*parts) if group.mode == "all" else or_(*parts)


def _item(item: Rule | Group, dialect: str) -> Bool:
    if isinstance(item, Group):
        return contacts_where(item, dialect)
    spec = rule_language.field_spec(item.field)
    assert spec is not None  # parse_rules checked it
    return _rule(spec, item.op, item.value, dialect)


def _rule(spec: FieldSpec, op: str, wanted: t.Any, dialect: str) -> Bool:
    where = spec.source[0]
    if where == "tags":
        return _tags(op, wanted)
    if where == "email":
        happened = exists().where(DomainEvent.contact_id == CONTACT.c.id,
                                  DomainEvent.type == _EMAIL_EVENTS[spec.source[1]])
        holds = happened if bool(wanted) else not_(happened)
        return holds if op == "eq" else not_(holds)
    if where == "fields":
        return _JsonField(spec.source[1], dialect).rule(op, wanted)
    column = _column(where, spec.source[1])
    if column is None:  # not a column (yet): the value is missing
        return true() if op in ("empty", "ne") else false()
    return _typed_rule(spec.kind, op, wanted, column, dialect)


def _tags(op: str, wanted: t.Any) -> Bool:
    tagged = select(ContactTag.contact_id).where(ContactTag.contact_id == CONTACT.c.id)
    if op in ("has", "not_has"):
        having = exists(tagged.join(Tag, Tag.id == ContactTag.tag_id).where(Tag.name == wanted))
        return having if op == "has" else not_(having)
    return not_(exists(tagged)) if op == "empty" else exists(tagged)


def _column(where: str, name: str) -> ColumnElement[t.Any] | None:
    """The contact's column, or its latest open opportunity's (None when there is no such column)."""
    if where == "contact":
        return CONTACT.c.get(name)
    column = OPPORTUNITY.c.get(name)
    if column is None:
        return None
    latest = select(column).where(OPPORTUNITY.c.contact_id == CONTACT.c.id)
    outcome = OPPORTUNITY.c.get("outcome")
    if outcome is not None:
        latest = latest.where(outcome == "open")
    return latest.order_by(OPPORTUNITY.c.id.desc()).limit(1).scalar_subquery()


def lower(value: ColumnElement[t.Any], dialect: str) -> ColumnElement[str]:
    """Python's ``str.lower`` in SQL: a registered function on SQLite, ICU's lower case on PostgreSQL."""
    if dialect == "postgresql":
        return func.lower(value.collate("und-x-icu"))
    return t.cast(ColumnElement[str], func.sc_lower(value))


def _contains(text: ColumnElement[t.Any], wanted: str, dialect: str) -> Bool:
    needle = literal(wanted.lower(), String)
    return func.strpos(lower(text, dialect), needle) > 0 if dialect == "postgresql" else (
        func.instr(lower(text, dialect), needle) > 0)


def _compare(left: ColumnElement[t.Any], op: str, right: t.Any) -> Bool:
    return t.cast(Bool, {"eq": left == right, "ne": left != right, "gt": left > right, "gte": left >= right,
                         "lt": left < right, "lte": left <= right}[op])


def _day(value: ColumnElement[t.Any], dialect: str) -> ColumnElement[t.Any]:
    """The calendar day of a date or (UTC) timestamp column."""
    return cast(value, Date) if dialect == "postgresql" else func.date(value)


def _typed_rule(kind: str, op: str, wanted: t.Any, column: ColumnElement[t.Any], dialect: str) -> Bool:
    """A rule on a typed column (text, number, id, date)."""
    empty = column.is_(None) if kind != "text" else or_(column.is_(None), column == "")
    if op == "empty":
        return empty
    if op == "not_empty":
        return not_(empty)
    if kind == "text":
        if op == "contains":
            return and_(not_(empty), _contains(column, str(wanted), dialect))
        same = lower(column, dialect) == literal(str(wanted).lower(), String)
    elif kind == "date":
        day = rule_language.as_date(wanted)
        left = _day(column, dialect)
        right: t.Any = literal(day, Date) if dialect == "postgresql" else literal(t.cast(date, day).isoformat())
        if op not in ("eq", "ne"):
            return and_(not_(empty), _compare(left, op, right))
        same = left == right
    else:  # number, id
        right = float(wanted) if kind == "number" else int(wanted)
        if op not in ("eq", "ne"):
            return and_(not_(empty), _compare(column, op, right))
        same = column == right
    hit = and_(not_(empty), same)
    return hit if op == "eq" else not_(hit)


class _JsonField:
    """One key of the contact's JSON custom fields, by its JSON type, in the dialect's terms."""

    def __init__(self, key: str, dialect: str) -> None:
        fields = CONTACT.c.fields
        self.dialect = dialect
        self.type: ColumnElement[t.Any]
        self.text: ColumnElement[t.Any]
        self.number_text: ColumnElement[t.Any]
        self.length: ColumnElement[t.Any]
        self.empty_object: Bool
        self.kinds: dict[str, tuple[str, ...]]
        if dialect == "postgresql":
            node = fields.op("->")(literal(key, String))
            self.type = func.json_typeof(node)
            # ->> on json (not jsonb) gives a value's text as written: a number's literal too.
            self.raw: ColumnElement[t.Any] = fields.op("->>", return_type=String)(literal(key, String))
            self.text = self.number_text = self.raw
            self.length = case((self.type == "array", func.json_array_length(node)), else_=None)
            self.empty_object = and_(self.type == "object", cast(node, _JSONB()) == cast(literal("{}"), _JSONB()))
            self.kinds = {"text": ("string",), "number": ("number",), "bool": ("boolean",), "array": ("array",),
                          "object": ("object",), "null": ("null",)}
        else:
            path = literal('$."' + key + '"', String)
            self.type = func.json_type(fields, path)
            self.text = func.json_extract(fields, path, type_=String)
            self.number_text = fields.op("->", return_type=String)(path)  # a number's literal, as JSON wrote it
            self.length = func.json_array_length(fields, path)
            self.empty_object = and_(self.type == "object", fields.op("->", return_type=String)(path) == "{}")
            self.kinds = {"text": ("text",), "number": ("integer", "real"), "bool": ("true", "false"),
                          "array": ("array",), "object": ("object",), "null": ("null",)}

    def of(self, kind: str) -> Bool:
        return self.type.in_(self.kinds[kind])

    def number(self) -> ColumnElement[t.Any]:
        if self.dialect == "postgresql":
            return case((self.of("number"), cast(self.raw, Float)), else_=None)
        return self.text

    def as_text(self) -> ColumnElement[t.Any]:
        """What the rule language reads as text: a text, a number as JSON wrote it, true/false."""
        if self.dialect == "postgresql":
            return self.raw  # ->> gives exactly that
        return case((self.of("text"), self.text), (self.of("number"), self.number_text),
                    (self.type == "true", "true"), else_="false")

    def empty(self) -> Bool:
        return or_(self.type.is_(None), self.of("null"), and_(self.of("text"), self.text == ""),
                   and_(self.of("array"), self.length == 0), self.empty_object)

    def date_text(self) -> tuple[Bool, ColumnElement[t.Any]]:
        """(the value is a text starting with a valid YYYY-MM-DD, that day as 'YYYY-MM-DD')."""
        text = self.text
        head = func.substr(text, 1, 10)
        if self.dialect == "postgresql":
            shaped = text.op("~")(literal("^[0-9]{4}-[0-9]{2}-[0-9]{2}", String))
        else:
            shaped = head.op("GLOB")(literal("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]", String))
        year = cast(func.substr(text, 1, 4), Integer)
        month = cast(func.substr(text, 6, 2), Integer)
        day = cast(func.substr(text, 9, 2), Integer)
        leap = or_(and_(year % 4 == 0, year % 100 != 0), year % 400 == 0)
        last = case((month.in_((4, 6, 9, 11)), 30), (month == 2, case((leap, 29), else_=28)), else_=31)
        valid = and_(year >= 1, month.between(1, 12), day >= 1, day <= last)
        is_date = case((and_(self.of("text"), shaped), valid), else_=False)
        return is_date, head

    def rule(self, op: str, wanted: t.Any) -> Bool:
        empty = self.empty()
        if op == "empty":
            return empty
        if op == "not_empty":
            return not_(empty)
        scalar = or_(self.of("text"), self.of("number"), self.of("bool"))
        if op == "contains":
            return and_(not_(empty), scalar, _contains(self.as_text(), str(wanted), self.dialect))
        number = rule_language.is_number(wanted)
        wanted_day = rule_language.as_date(wanted) if isinstance(wanted, str) else None
        is_date, day = self.date_text() if wanted_day is not None else (false(), CONTACT.c.id)
        if op in ("gt", "gte", "lt", "lte"):
            if number:
                hit = and_(self.of("number"), _compare(self.number(), op, float(wanted)))
            elif wanted_day is not None:
                hit = and_(is_date, _compare(day, op, wanted_day.isoformat()))
            else:  # text is not ordered; a yes/no value is only ever "not equal"
                hit = false()
            return and_(not_(empty), hit)
        same_text: Bool = lower(self.as_text(), self.dialect) == literal(str(wanted).lower(), String)
        if number:
            same = or_(and_(self.of("number"), self.number() == float(wanted)),
                       and_(or_(self.of("text"), self.of("bool")), same_text))
        elif isinstance(wanted, str):
            same = and_(scalar, same_text)
            if wanted_day is not None:
                same = or_(and_(is_date, day == wanted_day.isoformat()),
                           and_(not_(is_date), scalar, same_text))
        else:
            same = false()
        hit = and_(not_(empty), same)
        return hit if op == "eq" else not_(hit)


def _JSONB() -> t.Any:  # noqa: N802 - a type factory, read like a type
    from sqlalchemy.dialects.postgresql import JSONB

    return JSONB()

