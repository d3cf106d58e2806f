"""Saved segments: named rule sets (the rule language of decisions), counted and listed live in SQL.

Invariants:
    * A segment's rules are checked by the rule language (`parse_rules`)
      before anything is written; the problems come back in plain words with
      where they are (``details.problems``).
    * Membership is never stored: a segment is evaluated in SQL when counted,
      listed or acted on (`runtime.segment_sql`), with the same semantics as
      the decisions' Python evaluator.
    * Marketers and admins manage segments (they start campaigns with them).
"""

from __future__ import annotations

import typing as t

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Contact
from models import Segment
from models import clock
from models.access import Actor
from models.access import require_role
from models.errors import Conflict
from models.errors import Invalid
from models.errors import NotFound
from models.sets import dialect
from runtime.graphs.rules import OP_LABELS
from runtime.graphs.rules import Group
from runtime.graphs.rules import RuleError
from runtime.graphs.rules import describe
from runtime.graphs.rules import fields_json
from runtime.graphs.rules import parse_rules
from runtime.graphs.rules import rules_json
from runtime.segment_sql import CONTACT
from runtime.segment_sql import contacts_where

MANAGERS = ("marketer",)  # admins always pass require_role
MAX_NAME = 200


def parse_or_422(rules: object) -> Group:
    """The parsed rule set, or Invalid with every problem (path, code, message)."""
    try:
        return parse_rules(rules)
    except RuleError as exc:
        problems = [{"path": p.path, "code": p.code, "message": p.message} for p in exc.problems]
        raise Invalid(problems[0]["message"], code="invalid_rules", details={"problems": problems}) from exc


def _name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise Invalid(f"Give the segment a name of 1 to {MAX_NAME} characters", code="invalid_name",
                      details={"field": "name"})
    return name


def _unique_name(session: Session, name: str, segment_id: int | None = None) -> None:
    clash = session.scalar(select(Segment.id).where(Segment.name == name))
    if clash is not None and clash != segment_id:
        raise Conflict(f"A segment called “{name}” exists already; choose another name", code="segment_name_taken",
                       details={"field": "name"})


def create_segment(session: Session, actor: Actor, name: str, rules: object) -> Segment:
    """Save a new segment.

    Raises:
        Forbidden: the actor is not a marketer or admin.
        Invalid: no name, or the rules have problems.
        Conflict: another segment has this name.
    """
    require_role(actor, *MANAGERS)
    name = _name(name)
    group = parse_or_422(rules)
    _unique_name(session, name)
    now = clock.now()
    segment = Segment(name=name, rules=rules_json(group), created_by_id=actor.user_id, created_at=now,
                      updated_at=now)
    session.add(segment)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # a concurrent save took the name
        raise Conflict(f"A segment called “{name}” exists already; choose another name",
                       code="segment_name_taken", details={"field": "name"}) from exc
    return segment


def get_segment(session: Session, actor: Actor, segment_id: int) -> Segment:
    """A segment by id, or NotFound."""
    require_role(actor, *MANAGERS)
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound("no such segment")
    return segment


def list_segments(session: Session, actor: Actor) -> list[Segment]:
    """Every segment by name."""
    require_role(actor, *MANAGERS)
    return list(session.scalars(select(Segment).order_by(Segment.name)))


def update_segment(session: Session, actor: Actor, segment_id: int, *, name: str | None = None,
                   rules: object = None) -> Segment:
    """Rename a segment and/or change its rules (checked as on creation)."""
    segment = get_segment(session, actor, segment_id)
    if name is not None:
        name = _name(name)
        _unique_name(session, name, segment.id)
        segment.name = name
    if rules is not None:
        segment.rules = rules_json(parse_or_422(rules))
    segment.updated_at = clock.now()
    session.flush()
    return segment


def delete_segment(session: Session, actor: Actor, segment_id: int) -> None:
    """Delete a segment (its contacts are not touched)."""
    session.delete(get_segment(session, actor, segment_id))
    session.flush()


def segment_group(segment: Segment) -> Group:
    """A stored segment's parsed rules."""
    return parse_rules(segment.rules)


def count_matching(session: Session, group: Group) -> int:
    """How many contacts the rules hold for, now."""
    where = contacts_where(group, dialect(session))
    return int(session.scalar(select(func.count()).select_from(CONTACT).where(where)) or 0)


def count_rules(session: Session, actor: Actor, rules: object) -> int:
    """How many contacts an unsaved rule set holds for (the segment builder's live count)."""
    require_role(actor, *MANAGERS)
    return count_matching(session, parse_or_422(rules))


def matching_contacts(session: Session, group: Group, *, limit: int = 100, offset: int = 0) -> list[Contact]:
    """The contacts the rules hold for, by id."""
    where = contacts_where(group, dialect(session))
    return list(session.scalars(select(Contact).where(where).order_by(Contact.id).limit(limit).offset(offset)))


def matching_ids(session: Session, group: Group, *, after: int = 0, limit: int = 5000) -> list[int]:
    """The next `limit` ids of matching contacts after id `after` (keyset pages for bulk jobs)."""
    where = contacts_where(group, dialect(session))
    return list(session.scalars(select(CONTACT.c.id).where(where, CONTACT.c.id > after)
                                .order_by(CONTACT.c.id).limit(limit)))


def segment_json(session: Session, segment: Segment, *, count: bool = True) -> dict[str, t.Any]:
    """``{id, name, rules, count}`` (count evaluated now)."""
    out: dict[str, t.Any] = {"id": segment.id, "name": segment.name, "rules": segment.rules,
                             "description": describe(segment_group(segment)),
                             "created_at": segment.created_at, "updated_at": segment.updated_at}
    if count:
        out["count"] = count_matching(session, segment_group(segment))
    return out


def rule_fields(actor: Actor) -> list[dict[str, t.Any]]:
    """The fields segment rules can test, for the segment builder."""
    require_role(actor, *MANAGERS)
    return [{**entry, "op_labels": {op: OP_LABELS[op] for op in entry["ops"]}} for entry in fields_json()]
