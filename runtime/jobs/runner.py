"""Running jobs: claim one, run it chunk by chunk (one transaction each), renew the lease, report progress.

Invariants:
    * A chunk's work, the job's progress, its resume cursor and its lease
      renewal commit together; a job that lost its lease (another process
      took it over after a stall) stops at once without writing.
    * A chunk that raises is retried (twice) from the same cursor; then, or
      at once for `JobFailed`, the job fails with a plain message kept on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from models import Job
from models import clock
from models.db import transaction
from models.errors import DomainError
from runtime.jobs import bulk
from runtime.jobs import imports
from runtime.jobs import queue

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0
RETRIES = 2
Chunk = Callable[[Session, Job], bool]
HANDLERS: dict[str, Chunk] = {
    "import": imports.run_chunk,
    "bulk_tag": bulk.run_tag_chunk,
    "export": bulk.run_export_chunk,
}
Progress = Callable[[int, int | None], None]


def run_job(sessions: sessionmaker[Session], job_id: int, worker_id: str, *, lease_seconds: float = LEASE_SECONDS,
            progress: Progress | None = None, stop: Callable[[], bool] | None = None) -> str:
    """Run a claimed job to its end (or until it is no longer ours); return its status."""
    failures = 0
    while True:
        if stop is not None and stop():
            return "running"  # the lease runs out; whoever claims the job next resumes it
        try:
            with transaction(sessions) as session:
                job = _locked(session, job_id)
                if job is None or job.status != "running" or job.lease_owner != worker_id:
                    return job.status if job is not None else "gone"
                finished = HANDLERS[job.kind](session, job)
                if finished:
                    queue.finish(session, job)
                else:
                    job.lease_until = clock.now() + timedelta(seconds=lease_seconds)
                    queue.announce(session, job)
                status, done, total = job.status, job.done, job.total
        except (queue.JobFailed, DomainError) as exc:
            message = exc.message if isinstance(exc, DomainError) else str(exc)
            return _fail(sessions, job_id, worker_id, message)
        except Exception as exc:
            failures += 1
            log.exception("job %s: a chunk failed (%s of %s tries)", job_id, failures, RETRIES + 1)
            if failures > RETRIES:
                return _fail(sessions, job_id, worker_id, f"the job failed: {type(exc).__name__}: {exc}")
            continue
        failures = 0
        if progress is not None:
            progress(done, total)
        if status != "running":
            return status


def _locked(session: Session, job_id: int) -> Job | None:
    query = select(Job).where(Job.id == job_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalar(query)


def _fail(sessions: sessionmaker[Session], job_id: int, worker_id: str, message: str) -> str:
    with transaction(sessions) as session:
        job = _locked(session, job_id)
        if job is None or job.lease_owner != worker_id:
            return job.status if job is not None else "gone"
        queue.fail(session, job, message)
    return "failed"


def run_pending(sessions: sessionmaker[Session], worker_id: str, *, lease_seconds: float = LEASE_SECONDS,
                stop: Callable[[], bool] | None = None) -> int:
    """Claim and run jobs until none is waiting (the runtime's jobs loop); return how many ran."""
    ran = 0
    while stop is None or not stop():
        job_id = queue.claim_job(sessions, worker_id, lease_seconds)
        if job_id is None:
            return ran
        run_job(sessions, job_id, worker_id, lease_seconds=lease_seconds, stop=stop)
        ran += 1
    return ran


