"""The delivery loop: one thread of its own that drains the outbox, so the step loop cannot starve it.

APScheduler only nudges it (`wake`) on an interval, and the tick wakes it
when steps queued effects; the thread itself drains batch after batch until
a batch comes back short, then sleeps until the next wake or interval.

Invariants:
    * The loop holds no state a crash could lose: rows are leased and recorded
      in the database (`runtime.delivery.relay`).
    * Senders (SMTP connections, webhook pools) stay open between passes and
      are closed after ``IDLE_CLOSE_SECONDS`` without work, or at `stop`.
    * A pass that raises is logged and retried at the next wake; the thread never dies of it.
    * `drain` (the loop body) never runs twice at once in one process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from runtime.config import RuntimeConfig
from runtime.delivery.base import Sender
from runtime.delivery.relay import relay_outbox

log = logging.getLogger(__name__)

IDLE_CLOSE_SECONDS = 30.0


class DeliveryLoop:
    """Drains the outbox in its own thread; `wake()` asks for a pass now."""

    def __init__(self, session_factory: sessionmaker[Session], config: RuntimeConfig, worker_id: str,
                 on_pass: Callable[[int], None] | None = None) -> None:
        self.session_factory = session_factory
        self.config = config
        self.worker_id = worker_id
        self.on_pass = on_pass
        self.senders: dict[str, Sender] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._drain_lock = threading.Lock()
        self._idle_since = time.monotonic()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (it makes a first pass at once: a backlog goes out right after a restart)."""
        if self._thread is not None:
            return
        self._wake.set()
        self._thread = threading.Thread(target=self._run, name="stagecraft-delivery", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Ask for a pass as soon as the current one (if any) ends."""
        self._wake.set()

    def stop(self, wait: bool = True) -> None:
        """Finish the running pass, close the senders, stop the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and wait:
            self._thread.join(timeout=60)
        self._close_senders()

    def drain(self) -> int:
        """Deliver due rows batch after batch until a batch comes back short; return how many."""
        total = 0
        with self._drain_lock:
            while not self._stop.is_set():
                n = relay_outbox(self.session_factory, worker_id=self.worker_id, config=self.config,
                                 senders=self.senders)
                total += n
                if n < self.config.batch_size:
                    break
            if total:
                self._idle_since = time.monotonic()
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=self.config.relay_seconds)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                n = self.drain()
            except Exception:  # the database may be briefly away: the next wake retries
                log.exception("delivery pass failed")
                n = 0
            if self.on_pass is not None:
                self.on_pass(n)
            if self.senders and time.monotonic() - self._idle_since > IDLE_CLOSE_SECONDS:
                with self._drain_lock:
                    self._close_senders()

    def close_senders(self) -> None:
        """Close the kept connections now (after a one-off `drain` outside the thread)."""
        with self._drain_lock:
            self._close_senders()

    def _close_senders(self) -> None:
        senders, self.senders = self.senders, {}
        for sender in senders.values():
            try:
                sender.close()
            except Exception:  # closing is best effort
                log.debug("closing a sender failed", exc_info=True)
