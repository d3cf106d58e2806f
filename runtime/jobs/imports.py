"""The CSV import job: start it (file stored, header and mapping checked), then import it chunk by chunk.

Invariants:
    * Starting checks everything that can be checked before a row is read —
      the file is not empty, the mapping names columns of its header and maps
      the email, the tags are valid — and stores nothing when something is
      wrong.
    * Each chunk (5,000 rows) is one transaction: its contacts, its tags (with
      their goals, matched set-wise), its failed rows and the job's progress and
      resume offset commit together, so a crash repeats nothing and loses
      nothing.
    * Tags are applied with `apply_tag_many`: each contact's goals fire exactly
      as for a single tag.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

from sqlalchemy.orm import Session

from models import Job
from models import User
from models.access import Actor
from models.access import require_role
from models.contact_import import ImportRow
from models.contact_import import check_mapping
from models.contact_import import check_row
from models.contact_import import suggest_mapping
from models.contact_import import upsert_contacts
from models.contacts import apply_tag_many
from models.contacts import tag_name
from models.errors import Invalid
from models.errors import TooLarge
from runtime.jobs import queue
from runtime.jobs.csv_source import Header
from runtime.jobs.csv_source import NotCsv
from runtime.jobs.csv_source import count_records
from runtime.jobs.csv_source import file_pieces
from runtime.jobs.csv_source import is_blank
from runtime.jobs.csv_source import read_header
from runtime.jobs.csv_source import records

ROWS_PER_CHUNK = 5000
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
TOO_LARGE = "The file is larger than 50 MB: split it, or import it on the server with `stagecraft contacts import`"
SAMPLE_ROWS = 5


def preview(actor: Actor, stream: t.BinaryIO) -> dict[str, t.Any]:
    """The header, delimiter, first rows and a suggested mapping of (the start of) a CSV file (nothing stored)."""
    require_role(actor, *queue.STARTERS)
    head = stream.read(256 * 1024)
    header = read_header([head])
    if header is None:
        raise Invalid("The file is empty: choose a CSV file with a header row", code="empty_file",
                      details={"field": "file"})
    sample = [r.cells for r in records([head[header.data_offset:]], header.data_offset, header.delimiter, 2)
              if not r.error and not is_blank(r.cells)][:SAMPLE_ROWS]
    return {"columns": list(header.columns), "delimiter": header.delimiter, "sample": sample,
            "mapping": suggest_mapping(header.columns)}


def _header_or_422(stream: t.BinaryIO) -> Header:
    try:
        header = read_header([stream.read(256 * 1024)])
    except NotCsv:
        header = None
    stream.seek(0)
    if header is None:
        raise Invalid("The file is empty: choose a CSV file with a header row", code="empty_file",
                      details={"field": "file"})
    return header


def _params(header: Header, mapping: t.Mapping[str, str | None], tags: t.Sequence[str]) -> dict[str, t.Any]:
    return {"mapping": check_mapping(header.columns, mapping), "tags": sorted({tag_name(x) for x in tags}),
            "columns": list(header.columns), "delimiter": header.delimiter}


def start_upload(session: Session, actor: Actor, stream: t.BinaryIO, file_name: str,
                 mapping: t.Mapping[str, str | None], tags: t.Sequence[str]) -> Job:
    """Queue the import of an uploaded CSV (stored in the database, so any runtime process can run it).

    Raises:
        Invalid: empty file, a mapping that does not fit its header, a bad tag, a file over 50 MB.
    """
    header = _header_or_422(stream)
    params = {**_params(header, mapping, tags), "source": "upload", "file_name": file_name[:200]}
    job = queue.create_job(session, actor, "import", params)
    job.cursor = {"offset": header.data_offset, "row": 2}
    size = queue.write_file(session, job.id, "input", stream)
    if size > MAX_UPLOAD_BYTES:  # the caller rolls back: nothing of it stays
        raise TooLarge(TOO_LARGE, code="file_too_large", details={"field": "file", "limit_bytes": MAX_UPLOAD_BYTES})
    return job


def start_file(session: Session, actor: Actor, path: Path, mapping: t.Mapping[str, str | None],
               tags: t.Sequence[str]) -> Job:
    """Queue the import of a local file (the command line; no size limit, the file stays where it is)."""
    with open(path, "rb") as handle:
        header = _header_or_422(t.cast(t.BinaryIO, handle))
    params = {**_params(header, mapping, tags), "source": "file", "path": str(path.resolve()),
              "file_name": path.name}
    job = queue.create_job(session, actor, "import", params)
    job.cursor = {"offset": header.data_offset, "row": 2}
    return job


def _pieces(session: Session, job: Job, offset: int) -> t.Iterator[bytes]:
    if job.params["source"] == "file":
        path = job.params["path"]
        if not Path(path).is_file():
            raise queue.JobFailed(f"the file {path} is gone")
        return file_pieces(path, offset)
    return queue.read_file(session, job.id, "input", offset)


def job_actor(session: Session, job: Job) -> Actor:
    """Who the job acts for (its starter; the system when the user is gone)."""
    user = session.get(User, job.created_by_id) if job.created_by_id is not None else None
    return Actor.of(user) if user is not None else Actor(user_id=None, role="system")


def run_chunk(session: Session, job: Job) -> bool:
    """Import the next rows of the file (or count them first); True when the file is done."""
    try:
        return _run_chunk(session, job)
    except NotCsv as exc:
        raise queue.JobFailed(str(exc)) from exc


def _run_chunk(session: Session, job: Job) -> bool:
    cursor = job.cursor
    delimiter = job.params["delimiter"]
    if job.total is None:
        job.total = count_records(_pieces(session, job, cursor["offset"]), cursor["offset"], delimiter)
        return job.total == 0
    columns: list[str] = job.params["columns"]
    mapping: dict[str, str] = job.params["mapping"]
    good: list[ImportRow] = []
    errors: list[tuple[int, str]] = []
    offset, row, seen = cursor["offset"], cursor["row"], 0
    for record in records(_pieces(session, job, offset), offset, delimiter, row):
        offset, row = record.end, record.row + 1
        if record.error is None and is_blank(record.cells):
            continue
        seen += 1
        checked = record.error or check_row(record.row, dict(zip(columns, record.cells, strict=False)), mapping)
        if isinstance(checked, str):
            errors.append((record.row, checked))
        else:
            good.append(checked)
        if seen >= ROWS_PER_CHUNK:
            break
    upserted = upsert_contacts(session, good)
    actor = job_actor(session, job)
    for tag in job.params["tags"]:
        apply_tag_many(session, actor, upserted.contact_ids, tag)
    queue.add_row_errors(session, job, errors)
    job.created += upserted.created
    job.updated += upserted.updated
    job.done += seen
    job.cursor = {"offset": offset, "row": row}
    finished = seen < ROWS_PER_CHUNK
    if finished:
        job.total = job.done  # the count pass and the import agree unless the file changed meanwhile
        if job.params["source"] == "upload":
            queue.drop_file(session, job.id, "input")
    return finished
