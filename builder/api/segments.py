"""Saved segments (DESIGN.md §6.4): rule sets in the language of decisions, counted and listed live."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint
from pydantic import Field

from builder.api.base import Body
from builder.api.base import Query
from builder.api.base import route
from builder.db import commit
from builder.db import get_session
from builder.schemas.common import Out
from builder.schemas.contacts import ContactOut
from models.access import Actor
from runtime import segments as segment_service

bp = Blueprint("api_segments", __name__, url_prefix="/api/v1")


class SegmentCreate(Body):
    name: str = Field(max_length=200)
    rules: dict[str, Any]


class SegmentPatch(Body):
    name: str | None = Field(default=None, max_length=200)
    rules: dict[str, Any] | None = None


class RulesBody(Body):
    rules: dict[str, Any]


class MembersQuery(Query):
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class SegmentOut(Out):
    id: int
    name: str
    rules: dict[str, Any] = Field(description="The rule set (DESIGN.md §6.2): {all|any: [{field, op, value} | group]}.")
    description: str
    count: int
    created_at: datetime
    updated_at: datetime


class SegmentListed(Out):
    id: int
    name: str
    rules: dict[str, Any] = Field(description="The rule set (DESIGN.md §6.2): {all|any: [{field, op, value} | group]}.")
    description: str
    created_at: datetime
    updated_at: datetime


class CountOut(Out):
    count: int


class FieldOut(Out):
    name: str
    label: str
    kind: str
    ops: list[str]
    choices: list[str]
    op_labels: dict[str, str]


@route(bp, "/segments", response=list[SegmentListed])
def list_segments(actor: Actor) -> Any:
    """Every segment by name (counts are read one by one: GET /segments/{id})."""
    session = get_session()
    return [segment_service.segment_json(session, s, count=False)
            for s in segment_service.list_segments(session, actor)]


@route(bp, "/segments", ("POST",), body=SegmentCreate, response=SegmentOut, status=201)
def create_segment(actor: Actor, body: SegmentCreate) -> Any:
    """Save a segment (its rules are checked; problems come back in plain words)."""
    session = get_session()
    segment = segment_service.create_segment(session, actor, body.name, body.rules)
    commit()
    return segment_service.segment_json(session, segment)


@route(bp, "/segments/fields", response=list[FieldOut])
def segment_fields(actor: Actor) -> Any:
    """The fields rules can test, with their labels and comparisons (custom fields are typed in)."""
    return segment_service.rule_fields(actor)


@route(bp, "/segments/count", ("POST",), body=RulesBody, response=CountOut)
def count_rules(actor: Actor, body: RulesBody) -> Any:
    """How many contacts an unsaved rule set holds for (the segment builder's live count)."""
    return {"count": segment_service.count_rules(get_session(), actor, body.rules)}


@route(bp, "/segments/<int:segment_id>", response=SegmentOut)
def get_segment(actor: Actor, segment_id: int) -> Any:
    """A segment with its current count."""
    session = get_session()
    return segment_service.segment_json(session, segment_service.get_segment(session, actor, segment_id))


@route(bp, "/segments/<int:segment_id>", ("PATCH",), body=SegmentPatch, response=SegmentOut)
def update_segment(actor: Actor, segment_id: int, body: SegmentPatch) -> Any:
    """Rename a segment or change its rules."""
    session = get_session()
    segment = segment_service.update_segment(session, actor, segment_id, name=body.name, rules=body.rules)
    commit()
    return segment_service.segment_json(session, segment)


@route(bp, "/segments/<int:segment_id>", ("DELETE",), status=204)
def delete_segment(actor: Actor, segment_id: int) -> None:
    """Delete a segment (its contacts stay)."""
    segment_service.delete_segment(get_session(), actor, segment_id)
    commit()


@route(bp, "/segments/<int:segment_id>/contacts", query=MembersQuery, response=list[ContactOut])
def segment_contacts(actor: Actor, segment_id: int, query: MembersQuery) -> Any:
    """The contacts in a segment now, by id."""
    session = get_session()
    segment = segment_service.get_segment(session, actor, segment_id)
    rows = segment_service.matching_contacts(session, segment_service.segment_group(segment),
                                             limit=query.limit, offset=query.offset)
    return rows
