"""The job queue: creating jobs, reading them back, their files, claiming them with a lease.

Invariants:
    * A job is a `job` row; its parameters, resume cursor, progress and
      failed rows are rows too, and its files (an uploaded CSV, an export)
      are `job_file_chunk` rows any runtime process can read.
    * One process holds a job at a time: claiming takes a lease (PostgreSQL:
      ``FOR UPDATE SKIP LOCKED``); a job whose lease ran out (its process
      died) is claimed again and resumes at its committed cursor.
    * Marketers and admins start jobs; a job is visible to whoever started
      it and to admins (others get 404).
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from models import Job
from models import JobFileChunk
from models import JobRowError
from models import clock
from models import events
from models.access import Actor
from models.access import require_role
from models.db import transaction
from models.errors import NotFound
from runtime.notices import JobChanged

CHUNK_BYTES = 1 << 20
FAILED_ROWS_SHOWN = 1000
MAX_CLAIMS = 5  # a job whose process died this often is failed, not retried forever
STARTERS = ("marketer",)  # admins always pass require_role


class JobFailed(Exception):
    """A job cannot go on (its file is unreadable, its segment is gone, …): it fails with this message."""


def announce(session: Session, job: Job) -> None:
    """Tell the job's page (after commit) how far the job is."""
    events.notice(session, JobChanged(job_id=job.id, status=job.status, done=job.done, total=job.total))


def create_job(session: Session, actor: Actor, kind: str, params: dict[str, t.Any], *,
               total: int | None = None) -> Job:
    """Queue a job for the runtime (marketers and admins)."""
    require_role(actor, *STARTERS)
    job = Job(kind=kind, status="queued", params=params, cursor={}, total=total, created_by_id=actor.user_id,
              created_at=clock.now())
    session.add(job)
    session.flush()
    announce(session, job)
    return job


def get_job(session: Session, actor: Actor, job_id: int) -> Job:
    """A job its starter (or an admin) may see, else NotFound."""
    job = session.get(Job, job_id)
    if job is None or not (actor.is_admin or (actor.user_id is not None and job.created_by_id == actor.user_id)):
        raise NotFound("no such job")
    return job


def failed_rows(session: Session, job_id: int, limit: int = FAILED_ROWS_SHOWN) -> list[dict[str, t.Any]]:
    """The first failed rows of a job, by row number: [{row, message}]."""
    rows = session.execute(select(JobRowError.row, JobRowError.message).where(JobRowError.job_id == job_id)
                           .order_by(JobRowError.row, JobRowError.id).limit(limit))
    return [{"row": row, "message": message} for row, message in rows]


def job_json(session: Session, job: Job) -> dict[str, t.Any]:
    """``{id, kind, status, total, done, created, updated, failed_rows}`` plus what the page shows."""
    return {
        "id": job.id, "kind": job.kind, "status": job.status, "total": job.total, "done": job.done,
        "created": job.created, "updated": job.updated, "failed": job.failed,
        "failed_rows": failed_rows(session, job.id), "error": job.error,
        "action": job.params.get("action"), "tag": job.params.get("tag"),
        "file_name": job.params.get("file_name"),
        "download": job.kind == "export" and job.status == "done",
        "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at,
    }


def add_row_errors(session: Session, job: Job, errors: t.Sequence[tuple[int, str]]) -> None:
    """Record failed rows (the job goes on) and count them."""
    if errors:
        session.execute(insert(JobRowError), [{"job_id": job.id, "row": row, "message": message[:500]}
                                              for row, message in errors])
        job.failed += len(errors)


# --- files ------------------------------------------------------------------------------------------


def write_file(session: Session, job_id: int, part: str, stream: t.BinaryIO, *, first_seq: int = 0) -> int:
    """Store a stream as the job's file `part`, 1 MiB per row (constant memory); return its size."""
    size, seq = 0, first_seq
    while True:
        data = stream.read(CHUNK_BYTES)
        if not data:
            return size
        session.execute(insert(JobFileChunk).values(job_id=job_id, part=part, seq=seq, data=data))
        size += len(data)
        seq += 1


def append_file(session: Session, job_id: int, part: str, data: bytes) -> None:
    """Add one piece at the end of the job's file `part`."""
    seq = session.scalar(select(func.coalesce(func.max(JobFileChunk.seq) + 1, 0)).where(
        JobFileChunk.job_id == job_id, JobFileChunk.part == part))
    session.execute(insert(JobFileChunk).values(job_id=job_id, part=part, seq=seq, data=data))


def drop_file(session: Session, job_id: int, part: str) -> None:
    """Delete the job's file `part`."""
    session.execute(delete(JobFileChunk).where(JobFileChunk.job_id == job_id, JobFileChunk.part == part))


def read_file(session: Session, job_id: int, part: str, offset: int = 0) -> Iterator[bytes]:
    """The job's file `part` from a byte offset, one stored piece at a time.

    An uploaded file is stored in pieces of `CHUNK_BYTES`, so an offset finds its piece at once.
    """
    seq, skip = divmod(offset, CHUNK_BYTES)
    while True:
        data = session.scalar(select(JobFileChunk.data).where(
            JobFileChunk.job_id == job_id, JobFileChunk.part == part, JobFileChunk.seq == seq))
        if data is None:
            return
        yield bytes(data[skip:]) if skip else bytes(data)
        seq, skip = seq + 1, 0


def file_pieces_of(sessions: sessionmaker[Session], job_id: int, part: str) -> Iterator[bytes]:
    """The job's file `part`, every piece read in a session of its own (for streaming a download)."""
    seq = 0
    while True:
        with sessions() as session:
            data = session.scalar(select(JobFileChunk.data).where(
                JobFileChunk.job_id == job_id, JobFileChunk.part == part, JobFileChunk.seq == seq))
            session.rollback()
        if data is None:
            return
        yield bytes(data)
        seq += 1


# --- claiming ------------------------------------------------------------------------------------------


def claim_job(sessions: sessionmaker[Session], worker_id: str, lease_seconds: float,
              now: datetime | None = None, job_id: int | None = None) -> int | None:
    """Take the oldest queued job, or one whose lease ran out (or `job_id` itself); return its id."""
    now = now or clock.now()
    with transaction(sessions) as session:
        query = select(Job).where(Job.status.in_(("queued", "running")),
                                  or_(Job.lease_until.is_(None), Job.lease_until < now))
        if job_id is not None:
            query = query.where(Job.id == job_id)
        query = query.order_by(Job.id).limit(1)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        job = session.scalar(query)
        if job is None:
            return None
        job.attempts += 1
        if job.attempts > MAX_CLAIMS:
            fail(session, job, f"the job stopped {MAX_CLAIMS} times without finishing; start it again")
            return None
        job.lease_owner, job.lease_until = worker_id, now + timedelta(seconds=lease_seconds)
        if job.status == "queued":
            job.status, job.started_at = "running", now
        announce(session, job)
        return job.id


def fail(session: Session, job: Job, message: str) -> None:
    """End a job as failed with a plain message."""
    job.status, job.error, job.finished_at = "failed", message[:2000], clock.now()
    job.lease_owner = job.lease_until = None
    announce(session, job)


def finish(session: Session, job: Job) -> None:
    """End a job as done."""
    job.status, job.finished_at = "done", clock.now()
    job.lease_owner = job.lease_until = None
    announce(session, job)
