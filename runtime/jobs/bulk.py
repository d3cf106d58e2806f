"""Bulk actions on a selection or a segment: apply or remove a tag, export to CSV — chunk by chunk.

Invariants:
    * A segment is read with the rules it had when the job started (editing
      it meanwhile does not change the job), in pages of contact ids (keyset:
      contacts matching when their page is reached).
    * Tags go through `apply_tag_many` / `remove_tag_many`: each contact's
      goals fire exactly as for a single tag, matched set-wise per chunk.
    * An export never opens a spreadsheet formula: a cell starting with
      = + - @ (or a tab or carriage return) is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import typing as t

from sqlalchemy import Table
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.orm import Session

from models import Contact
from models import ContactTag
from models import Job
from models import Tag
from models import clock
from models.access import Actor
from models.contacts import apply_tag_many
from models.contacts import remove_tag_many
from models.contacts import tag_name
from models.errors import Invalid
from models.sets import chunks
from models.sets import dialect
from models.sets import one_of
from runtime import segments
from runtime.graphs.rules import parse_rules
from runtime.jobs import queue
from runtime.jobs.imports import job_actor
from runtime.segment_sql import contacts_where

CONTACTS_PER_CHUNK = 5000
MAX_SELECTION = 100_000
ACTIONS = ("apply_tag", "remove_tag")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CONTACT = t.cast(Table, Contact.__table__)
EXPORT_COLUMNS = ("id", "email", "first_name", "last_name", "timezone", "owner_id", "created_at", "tags")


def _selection(session: Session, actor: Actor, contact_ids: t.Sequence[int] | None,
               segment_id: int | None) -> dict[str, t.Any]:
    """The job parameters naming its contacts: a list of ids, or a segment's rules as they are now."""
    if (contact_ids is None) == (segment_id is None):
        raise Invalid("Choose contacts or a segment (one of the two)", code="no_selection",
                      details={"field": "contact_ids"})
    if segment_id is not None:
        segment = segments.get_segment(session, actor, segment_id)
        return {"segment_id": segment.id, "segment_name": segment.name, "rules": segment.rules}
    ids = sorted(set(t.cast(t.Sequence[int], contact_ids)))
    if not ids:
        raise Invalid("Choose at least one contact", code="no_selection", details={"field": "contact_ids"})
    if len(ids) > MAX_SELECTION:
        raise Invalid(f"Choose at most {MAX_SELECTION:,} contacts, or save them as a segment",
                      code="selection_too_large", details={"field": "contact_ids"})
    return {"contact_ids": ids}


def start_bulk_tag(session: Session, actor: Actor, action: str, tag: str, *,
                   contact_ids: t.Sequence[int] | None = None, segment_id: int | None = None) -> Job:
    """Queue applying or removing a tag for a selection or a segment."""
    if action not in ACTIONS:
        raise Invalid("Choose to apply or to remove the tag", code="unknown_action", details={"field": "action"})
    params = {"action": action, "tag": tag_name(tag), **_selection(session, actor, contact_ids, segment_id)}
    return queue.create_job(session, actor, "bulk_tag", params)


def start_export(session: Session, actor: Actor, *, contact_ids: t.Sequence[int] | None = None,
                 segment_id: int | None = None) -> Job:
    """Queue a CSV export of a selection or a segment."""
    params = {"file_name": f"contacts-{clock.now().strftime('%Y%m%d-%H%M')}.csv",
              **_selection(session, actor, contact_ids, segment_id)}
    return queue.create_job(session, actor, "export", params)


def _count(session: Session, job: Job) -> int:
    if "contact_ids" in job.params:
        return len(job.params["contact_ids"])
    where = contacts_where(parse_rules(job.params["rules"]), dialect(session))
    return int(session.scalar(select(func.count()).select_from(CONTACT).where(where)) or 0)


def _next_ids(session: Session, job: Job) -> list[int]:
    """The next page of the job's contacts after its cursor."""
    after = int(job.cursor.get("after", 0))
    if "contact_ids" in job.params:
        ids: list[int] = job.params["contact_ids"]
        start = int(job.cursor.get("index", 0))
        return ids[start:start + CONTACTS_PER_CHUNK]
    where = contacts_where(parse_rules(job.params["rules"]), dialect(session))
    return list(session.scalars(select(CONTACT.c.id).where(where, CONTACT.c.id > after)
                                .order_by(CONTACT.c.id).limit(CONTACTS_PER_CHUNK)))


def _advance(job: Job, ids: list[int]) -> bool:
    """Move the cursor past a page; True when it was the last."""
    index = int(job.cursor.get("index", 0)) + len(ids)
    job.cursor = {"after": ids[-1] if ids else int(job.cursor.get("after", 0)), "index": index}
    job.done += len(ids)
    return len(ids) < CONTACTS_PER_CHUNK


def run_tag_chunk(session: Session, job: Job) -> bool:
    """Tag (or untag) the next page of contacts; True when done."""
    if job.total is None:
        job.total = _count(session, job)
        return job.total == 0
    ids = _next_ids(session, job)
    if ids:
        actor = job_actor(session, job)
        many = apply_tag_many if job.params["action"] == "apply_tag" else remove_tag_many
        job.updated += len(many(session, actor, ids, job.params["tag"]))
    return _advance(job, ids)


def safe_cell(value: t.Any) -> str:
    """A cell as text that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _field_keys(session: Session, job: Job) -> list[str]:
    """Every custom field key of the job's contacts (the export's extra columns)."""
    if dialect(session) == "postgresql":
        keys = select(func.json_object_keys(CONTACT.c.fields)).distinct()
        keys = keys.where(func.json_typeof(CONTACT.c.fields) == "object")
    else:
        each = func.json_each(CONTACT.c.fields).table_valued("key")
        keys = select(each.c.key).distinct().select_from(CONTACT.join(each, true()))
    if "contact_ids" in job.params:
        found: set[str] = set()
        for part in chunks(job.params["contact_ids"]):
            found.update(session.scalars(keys.where(one_of(dialect(session), CONTACT.c.id, part))))
        return sorted(found)
    where = contacts_where(parse_rules(job.params["rules"]), dialect(session))
    return sorted(session.scalars(keys.where(where)))


def run_export_chunk(session: Session, job: Job) -> bool:
    """Write the next page of contacts to the export; True when done."""
    if job.total is None:
        job.total = _count(session, job)
        keys = _field_keys(session, job)
        job.cursor = {"after": 0, "index": 0, "keys": keys}
        _write(session, job, [[*EXPORT_COLUMNS, *keys]], bom=True)
        return False
    keys = list(job.cursor.get("keys", []))
    ids = _next_ids(session, job)
    rows: list[list[t.Any]] = []
    if ids:
        tags: dict[int, list[str]] = {}
        for contact_id, name in session.execute(
            select(ContactTag.contact_id, Tag.name).join(Tag, Tag.id == ContactTag.tag_id)
            .where(one_of(dialect(session), ContactTag.contact_id, ids)).order_by(Tag.name)
        ):
            tags.setdefault(contact_id, []).append(name)
        for c in session.execute(select(CONTACT).where(one_of(dialect(session), CONTACT.c.id, ids))
                                 .order_by(CONTACT.c.id)):
            fields = c.fields or {}
            rows.append([c.id, c.email, c.first_name, c.last_name, c.timezone, c.owner_id,
                         c.created_at.isoformat(), "; ".join(tags.get(c.id, [])), *(fields.get(k) for k in keys)])
    _write(session, job, rows, bom=False)
    finished = _advance(job, ids)
    job.cursor = {**job.cursor, "keys": keys}
    return finished


def _write(session: Session, job: Job, rows: list[list[t.Any]], *, bom: bool) -> None:
    if not rows:
        return
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    data = out.getvalue().encode("utf-8")
    queue.append_file(session, job.id, "output", (b"\xef\xbb\xbf" if bom else b"") + data)
