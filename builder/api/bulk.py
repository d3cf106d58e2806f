"""Contacts at scale (DESIGN.md §6.4): CSV import, bulk actions, background jobs and their files."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated
from typing import Any
from typing import Literal

from flask import Blueprint
from flask import Response
from flask import request
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import WithJsonSchema
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from builder.api.base import Body
from builder.api.base import route
from builder.db import commit
from builder.db import database
from builder.db import get_session
from builder.errors import error_response
from builder.schemas.common import Id
from builder.schemas.common import Out
from models.access import Actor
from models.contact_import import COLUMN_FIELDS
from models.errors import Invalid
from runtime.jobs import bulk
from runtime.jobs import imports
from runtime.jobs import queue

bp = Blueprint("api_bulk", __name__, url_prefix="/api/v1")

UPLOAD_LIMIT = imports.MAX_UPLOAD_BYTES + 256 * 1024  # the file plus the form around it
Upload = Annotated[Any, WithJsonSchema({"type": "string", "format": "binary"})]


class Form(BaseModel):
    """Base of multipart bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class ImportForm(Form):
    file: Upload = None
    mapping: str = Field(default="{}", description='JSON {"<csv column>": "<field name>" | null}')
    tags: str = Field(default="[]", description="JSON list of tags to apply to every imported contact")


class PreviewForm(Form):
    file: Upload = None


class JobStarted(Out):
    job_id: int


class FailedRow(Out):
    row: int
    message: str


class JobOut(Out):
    id: int
    kind: Literal["import", "bulk_tag", "export"]
    status: Literal["queued", "running", "done", "failed"]
    total: int | None
    done: int
    created: int
    updated: int
    failed: int
    failed_rows: list[FailedRow]
    error: str | None
    action: str | None
    tag: str | None
    file_name: str | None
    download: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class FieldChoice(Out):
    name: str
    label: str


class PreviewOut(Out):
    columns: list[str]
    delimiter: str
    sample: list[list[str]]
    mapping: dict[str, str | None]
    fields: list[FieldChoice]


class BulkBody(Body):
    action: Literal["apply_tag", "remove_tag", "export"]
    tag: str | None = Field(default=None, max_length=120)
    contact_ids: list[Id] | None = Field(default=None, max_length=bulk.MAX_SELECTION)
    segment_id: Id | None = None


@bp.url_value_preprocessor
def _allow_uploads(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    # Before any before_request hook reads the form (the CSRF check does): imports may carry 50 MB.
    if endpoint == f"{bp.name}.import_contacts":
        request.max_content_length = UPLOAD_LIMIT


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> Any:
    return error_response(413, "file_too_large", imports.TOO_LARGE,
                          {"field": "file", "limit_bytes": imports.MAX_UPLOAD_BYTES})


def _file(form: ImportForm | PreviewForm) -> FileStorage:
    if not isinstance(form.file, FileStorage) or not form.file.filename:
        raise Invalid("Choose a CSV file to import", code="no_file", details={"field": "file"})
    return form.file


def _json_field(text: str, name: str, label: str, kind: type) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, kind):
        raise Invalid(f"The {label} could not be read; choose it again", code=f"invalid_{name}",
                      details={"field": name})
    return value


@route(bp, "/contacts/import", ("POST",), form=ImportForm, response=JobStarted, status=202)
def import_contacts(actor: Actor, form: ImportForm) -> Any:
    """Start importing a CSV file (up to 50 MB) into contacts, matched by email; a background job."""
    upload = _file(form)
    mapping = _json_field(form.mapping, "mapping", "column mapping", dict)
    tags = _json_field(form.tags, "tags", "list of tags", list)
    if not all(isinstance(v, str) or v is None for v in mapping.values()) or not all(isinstance(t, str) for t in tags):
        raise Invalid("The column mapping could not be read; choose it again", code="invalid_mapping",
                      details={"field": "mapping"})
    job = imports.start_upload(get_session(), actor, upload.stream, upload.filename or "contacts.csv", mapping, tags)
    commit()
    return {"job_id": job.id}


@route(bp, "/contacts/import/preview", ("POST",), form=PreviewForm, response=PreviewOut)
def preview_import(actor: Actor, form: PreviewForm) -> Any:
    """Read a CSV file's header and first rows, and suggest a mapping (nothing is stored)."""
    data = imports.preview(actor, _file(form).stream)
    data["fields"] = [{"name": k, "label": v} for k, v in COLUMN_FIELDS.items()]
    return data


@route(bp, "/contacts/bulk", ("POST",), body=BulkBody, response=JobStarted, status=202)
def bulk_action(actor: Actor, body: BulkBody) -> Any:
    """Apply or remove a tag, or export to CSV, for chosen contacts or a segment; a background job."""
    session = get_session()
    if body.action == "export":
        job = bulk.start_export(session, actor, contact_ids=body.contact_ids, segment_id=body.segment_id)
    else:
        if not body.tag or not body.tag.strip():
            raise Invalid("Type the tag to apply or remove", code="no_tag", details={"field": "tag"})
        job = bulk.start_bulk_tag(session, actor, body.action, body.tag, contact_ids=body.contact_ids,
                                  segment_id=body.segment_id)
    commit()
    return {"job_id": job.id}


@route(bp, "/jobs/<int:job_id>", response=JobOut)
def get_job(actor: Actor, job_id: int) -> Any:
    """A background job's progress, counts and failed rows (its starter and admins)."""
    session = get_session()
    return queue.job_json(session, queue.get_job(session, actor, job_id))


@route(bp, "/jobs/<int:job_id>/file", response=str, media_type="text/csv")
def download(actor: Actor, job_id: int) -> Any:
    """The CSV an export job wrote (streamed)."""
    job = queue.get_job(get_session(), actor, job_id)
    if job.kind != "export" or job.status != "done":
        raise Invalid("The export is not finished yet", code="not_ready")
    name = str(job.params.get("file_name") or "contacts.csv")
    pieces = queue.file_pieces_of(database().sessions, job.id, "output")
    return Response(pieces, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff"})
