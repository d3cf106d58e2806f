"""The recorder: settles delivery outcomes continuously, as senders report them.

Senders (SMTP connections, webhook threads) call `report` the moment a
message is accepted or fails; a recording thread commits everything reported
since its last commit in one short transaction (`settle_many`), over and over.

Invariants:
    * An accepted message is recorded within one commit's time of its
      acceptance, never at the end of a batch: a crash re-sends only messages
      that were accepted but not yet recorded ("in flight").
    * A sending thread never gets more than ``window`` accepted messages ahead
      of their record: `report` blocks it until the recorder catches up, so
      in flight ≤ threads × window, whatever the database is doing.
    * A failed commit is retried (the rows stay leased by us meanwhile); if the
      database stays away, the rows' leases lapse and another pass re-sends
      them — with the same key.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from datetime import datetime

from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from runtime.config import RuntimeConfig
from runtime.delivery.base import Claimed
from runtime.delivery.settle import Outcome
from runtime.delivery.settle import classify
from runtime.delivery.settle import settle_many
from runtime.faults import maybe_crash

log = logging.getLogger(__name__)

COMMIT_RETRIES = 5
COALESCE_SECONDS = 0.004


class Recorder:
    """Collects outcomes from any thread and commits them in a background thread."""

    def __init__(self, session_factory: sessionmaker[Session], *, worker_id: str, config: RuntimeConfig,
                 now: datetime | None = None) -> None:
        self.session_factory = session_factory
        self.worker_id = worker_id
        self.config = config
        self.now = now
        self.window = max(1, config.delivery_window)
        self.statuses: dict[int, str | None] = {}
        self.reported: set[int] = set()
        self._cond = threading.Condition()
        self._queue: list[tuple[Claimed, Outcome, int]] = []
        self._unrecorded: dict[int, int] = defaultdict(int)
        self._closing = False
        self._last_commit = 0.0
        self._thread = threading.Thread(target=self._run, name="outbox-recorder", daemon=True)
        self._thread.start()

    def report(self, item: Claimed, error: BaseException | None) -> None:
        """An item's delivery ended; wait while this thread has `window` accepted items unrecorded."""
        outcome = classify(error)
        if outcome.verdict == "sent":
            maybe_crash("after_send")  # accepted by the server, not yet recorded
        me = threading.get_ident()
        with self._cond:
            self.reported.add(item.id)
            self._queue.append((item, outcome, me))
            self._unrecorded[me] += 1
            self._cond.notify_all()
            while self._unrecorded[me] >= self.window and self._thread.is_alive():
                self._cond.wait(timeout=1.0)

    def close(self) -> None:
        """Record everything reported so far, then stop the recording thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                # Commit at most every COALESCE_SECONDS: the outcomes reported meanwhile share
                # one transaction (senders stay ≤ window ahead, so "promptly" still holds).
                until = self._last_commit + COALESCE_SECONDS
                while not self._closing and (pause := until - time.monotonic()) > 0:
                    self._cond.wait(timeout=pause)
                batch, self._queue = self._queue, []
            self._last_commit = time.monotonic()
            statuses = self._commit([(item, outcome) for item, outcome, _ in batch])
            with self._cond:
                self.statuses.update(statuses)
                for _, _, thread in batch:
                    self._unrecorded[thread] -= 1
                self._cond.notify_all()

    def _commit(self, results: list[tuple[Claimed, Outcome]]) -> dict[int, str | None]:
        for attempt in range(COMMIT_RETRIES):
            try:
                statuses = settle_many(self.session_factory, results, worker_id=self.worker_id,
                                       config=self.config, now=self.now)
            except Exception:
                log.exception("recording %d delivery outcomes failed (try %d)", len(results), attempt + 1)
                time.sleep(min(0.1 * 2**attempt, 2.0))
                continue
            for item, outcome in results:
                if outcome.verdict == "sent":
                    log.debug("outbox %s %s delivered", item.kind, item.key)
                else:
                    log.warning("outbox %s %s -> %s: %s", item.kind, item.key, statuses.get(item.id), outcome.error)
            return statuses
        log.error("gave up recording %d outcomes; their leases will lapse and they will be retried", len(results))
        return {item.id: None for item, _ in results}
