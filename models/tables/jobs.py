"""Background jobs (imports, bulk actions, exports): their state, failed rows and files.

Invariant: a job's whole state lives in these rows (parameters, resume cursor,
progress, lease); a process that dies mid-job loses nothing, and the next
runtime process that claims the job resumes it at its cursor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from models.tables.base import Base
from models.tables.base import utcnow

JOB_KINDS = ("import", "bulk_tag", "export")
JOB_STATUSES = ("queued", "running", "done", "failed")


class Job(Base):
    """One background job: what to do, how far it got, who holds it."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_status_lease", "status", "lease_until"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Where to resume (a byte offset and row number, a contact id, ...), committed with each chunk.
    cursor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    total: Mapped[int | None]
    done: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]


class JobRowError(Base):
    """A row of a job's input that could not be used, and why (the job goes on)."""

    __tablename__ = "job_row_error"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"), index=True)
    row: Mapped[int]
    message: Mapped[str] = mapped_column(String(500))


class JobFileChunk(Base):
    """A piece of a job's file (the uploaded CSV, the export), so any runtime process can read it."""

    __tablename__ = "job_file_chunk"
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"), primary_key=True)
    part: Mapped[str] = mapped_column(String(16), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
