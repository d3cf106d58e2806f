"""The runtime's loops on an APScheduler 3.11 BackgroundScheduler.

Invariants:
    * APScheduler holds NO contact state: its MemoryJobStore holds five loop
      jobs (tick, relay, reaper, overdue, jobs), re-created at every start.
      Background jobs (imports, bulk actions) are `job` rows: the jobs loop
      claims one with a lease and runs it chunk by chunk; a job queued by a
      commit kicks the loop at once.  Pending
      timers are `sequence_run` rows; outbox messages are `outbox` rows.  A
      restart therefore loses nothing, and a run that fell due while the
      process was down is claimed by the first tick (the tick and the relay
      run once immediately at start).
    * Every job has ``max_instances=1`` (a loop never overlaps itself),
      ``coalesce=True`` (a backlog of missed runs collapses into one) and no
      misfire limit (a late run still runs, it is never skipped).
    * ``wake()`` never loses a wake-up: it either kicks the tick job to run
      now, or, when a tick is already running or already kicked, leaves a flag
      that the running tick checks before it finishes, so work committed
      while a tick is mid-way is picked up by another pass of that same tick.
    * Delivery runs in a thread of its own (`runtime.delivery.loop`): the
      "relay" job only nudges it, so it never overlaps itself or is skipped,
      and a busy tick cannot starve delivery (nor delivery the tick). A tick
      that executed anything wakes it at once, so an email step goes out
      within milliseconds; the relay interval bounds the wait otherwise.
    * A loop body that raises is logged and retried at its next interval; it
      never kills the scheduler thread.
    * The worker id (``host:pid:random``) is unique per process and names the
      leases this process takes.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime

from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.jobstores.base import JobLookupError  # type: ignore[import-untyped]
from apscheduler.jobstores.memory import MemoryJobStore  # type: ignore[import-untyped]
from apscheduler.schedulers import SchedulerNotRunningError  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from models import events
from models.db import transaction
from models.events import Event
from models.overdue import record_overdue
from runtime.config import RuntimeConfig
from runtime.delivery.loop import DeliveryLoop
from runtime.execution import step_loop
from runtime.execution.claim import reap_leases
from runtime.jobs.runner import run_pending
from runtime.notices import JobChanged
from runtime.notices import RunsDue

log = logging.getLogger(__name__)

OVERDUE_SECONDS = 60.0
LOOPS = ("tick", "relay", "reaper", "overdue", "jobs")


def make_worker_id() -> str:
    """A lease owner name unique to this process: ``host:pid:random`` (≤ 64 chars)."""
    host = socket.gethostname()[:40] or "host"
    return f"{host}:{os.getpid()}:{secrets.token_hex(4)}"


class RuntimeLoops:
    """The tick, outbox relay, lease reaper and overdue checker of one process."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        config: RuntimeConfig,
        *,
        worker_id: str | None = None,
        overdue_seconds: float = OVERDUE_SECONDS,
        reaper_seconds: float | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.config = config
        self.worker_id = worker_id or make_worker_id()
        self.overdue_seconds = overdue_seconds
        self.reaper_seconds = reaper_seconds or max(1.0, config.lease_seconds / 2)
        self.counts: dict[str, int] = dict.fromkeys(LOOPS, 0)
        self.processed: dict[str, int] = dict.fromkeys(LOOPS, 0)
        self._lock = threading.Lock()
        self._ticking = False
        self._kicked = False
        self._wake_pending = False
        self.delivery = DeliveryLoop(session_factory, config, self.worker_id, on_pass=self._count_relay)
        self._stopping = threading.Event()
        self._started = False
        self._scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(max_workers=len(LOOPS))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )

    # -- lifecycle -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True between start() and shutdown()."""
        return self._started and not self._stopping.is_set()

    def start(self) -> None:
        """(Re)create the loop jobs, start the scheduler thread, hear commits (to wake the tick)."""
        if self._started:
            return
        now = datetime.now(UTC)
        jobs: list[tuple[str, Callable[[], None], float, bool]] = [
            ("tick", self.tick, self.config.tick_seconds, True),
            ("relay", self.delivery.wake, self.config.relay_seconds, False),
            ("reaper", self.reap, self.reaper_seconds, False),
            ("overdue", self.check_overdue, self.overdue_seconds, False),
            ("jobs", self.run_jobs, self.config.tick_seconds, True),
        ]
        for job_id, func, seconds, at_once in jobs:
            # Omitting next_run_time lets APScheduler compute it (None would mean "paused").
            first: dict[str, datetime] = {"next_run_time": now} if at_once else {}
            self._scheduler.add_job(
                func,
                "interval",
                seconds=seconds,
                id=job_id,
                name=f"stagecraft.{job_id}",
                replace_existing=True,
                **first,
            )
        for name in ("apscheduler.executors.default", "apscheduler.scheduler"):
            quiet = logging.getLogger(name)
            if quiet.level == logging.NOTSET:  # "Running job …" every second is noise, not news
                quiet.setLevel(logging.WARNING)
        self._scheduler.start()
        self.delivery.start()
        self._started = True
        events.subscribe(self.on_commit, first=True)  # waking the tick goes before live pushes
        log.info("runtime loops started as %s", self.worker_id)

    def shutdown(self, wait: bool = True) -> None:
        """Stop hearing commits and stop the scheduler (waiting for running loops)."""
        if not self._started or self._stopping.is_set():
            return
        self._stopping.set()
        events.unsubscribe(self.on_commit)
        self._scheduler.shutdown(wait=wait)
        self.delivery.stop(wait=wait)
        log.info("runtime loops of %s stopped", self.worker_id)

    # -- waking ----------------------------------------------------------------------

    def on_commit(self, committed: Sequence[Event]) -> None:
        """After-commit subscriber: wake the tick when a transaction made runs due now."""
        if any(isinstance(event, RunsDue) for event in committed):
            self.wake()
        if any(isinstance(event, JobChanged) and event.status == "queued" for event in committed):
            self._kick("jobs")

    def wake(self) -> None:
        """Run the tick now (called after a commit that created due-now work)."""
        with self._lock:
            self._wake_pending = True
            if self._ticking or self._kicked or not self.running:
                return
            self._kicked = True
        try:
            self._scheduler.modify_job("tick", next_run_time=datetime.now(UTC))
        except Exception as exc:  # never fail the caller's commit: the interval still runs the tick
            with self._lock:
                self._kicked = False
            expected = isinstance(exc, (JobLookupError, SchedulerNotRunningError))
            log.log(logging.DEBUG if expected else logging.ERROR, "wake failed", exc_info=True)

    # -- loop bodies -----------------------------------------------------------------

    def tick(self) -> None:
        """Execute due runs, batch after batch, until none is due; repeat if woken meanwhile."""
        with self._lock:
            self._ticking = True
            self._kicked = False
        try:
            while not self._stopping.is_set():
                with self._lock:
                    self._wake_pending = False
                if self._guard("tick", self._drain_runs):
                    self._kick_relay()  # steps may have written outbox rows: deliver them now
                with self._lock:
                    if not self._wake_pending or self._stopping.is_set():
                        self._ticking = False
                        return
        finally:
            with self._lock:
                self._ticking = False

    def _drain_runs(self) -> int:
        total = 0
        while not self._stopping.is_set():
            n = step_loop.run_due(self.session_factory, worker_id=self.worker_id, config=self.config)
            total += n
            if n < self.config.batch_size:
                break
        return total

    def relay(self) -> None:
        """Deliver due outbox rows in this thread, batch after batch, until a batch comes back short."""
        self._guard("relay", self.delivery.drain)

    def _count_relay(self, n: int) -> None:
        with self._lock:
            self.counts["relay"] += 1
            self.processed["relay"] += n

    def reap(self) -> None:
        """Free expired leases (of workers that died holding them)."""
        self._guard("reaper", lambda: reap_leases(self.session_factory))

    def check_overdue(self) -> None:
        """Emit stage_overdue events for opportunities past their target days."""

        def check() -> int:
            with transaction(self.session_factory) as session:
                return record_overdue(session)

        self._guard("overdue", check)

    def run_jobs(self) -> None:
        """Run queued background jobs (and ones whose process died) to their end."""
        self._guard("jobs", lambda: run_pending(self.session_factory, self.worker_id,
                                                stop=self._stopping.is_set))

    def _kick(self, job_id: str) -> None:
        if not self.running:
            return
        try:
            self._scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))
        except Exception as exc:  # shutting down: the interval covers it
            expected = isinstance(exc, (JobLookupError, SchedulerNotRunningError))
            log.log(logging.DEBUG if expected else logging.ERROR, "%s kick failed", job_id, exc_info=True)

    def run_once(self) -> dict[str, int]:
        """Run every loop body once in this thread (tests, `worker --once`); return counts."""
        before = dict(self.processed)
        self.tick()
        self.relay()
        if not self.running:
            self.delivery.close_senders()  # no loop thread to reuse the connections
        self.reap()
        self.check_overdue()
        self.run_jobs()
        return {name: self.processed[name] - before[name] for name in LOOPS}

    def _kick_relay(self) -> None:
        if self.running:
            self.delivery.wake()

    def _guard(self, name: str, body: Callable[[], int]) -> int:
        try:
            n = body()
        except Exception:  # the database may be briefly away: try again next interval
            log.exception("%s loop failed", name)
            return 0
        with self._lock:
            self.counts[name] += 1
            self.processed[name] += n
        return n
