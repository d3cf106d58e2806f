"""After-commit notices: live pushes to the web tier and waking the tick.

Invariant: nothing is announced before its transaction commits; a rolled back
change announces nothing.  The runtime never imports Flask: the web tier
registers a publish hook here (`set_publisher`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

Publisher = Callable[[str, str, dict[str, Any]], None]
"""publish(room, event_name, payload)"""

_publishers: list[Publisher] = []
_wakers: list[Callable[[], None]] = []
_lock = threading.Lock()


def set_publisher(publisher: Publisher) -> None:
    """Register a function that pushes (room, event, payload) to browsers."""
    with _lock:
        if publisher not in _publishers:
            _publishers.append(publisher)


def remove_publisher(publisher: Publisher) -> None:
    """Unregister a publisher."""
    with _lock:
        if publisher in _publishers:
            _publishers.remove(publisher)


def clear_publishers() -> None:
    """Forget every publisher and waker (tests)."""
    with _lock:
        _publishers.clear()
        _wakers.clear()


def add_waker(waker: Callable[[], None]) -> None:
    """Register a function that wakes the tick (a new run is due now)."""
    with _lock:
        if waker not in _wakers:
            _wakers.append(waker)


def remove_waker(waker: Callable[[], None]) -> None:
    """Unregister a waker."""
    with _lock:
        if waker in _wakers:
            _wakers.remove(waker)


def announce(session: Session, room: str, name: str, payload: dict[str, Any]) -> None:
    """Queue a push that goes out only if the session's transaction commits."""
    session.info.setdefault("notices", []).append((room, name, payload))


def wake_after_commit(session: Session) -> None:
    """Ask for the tick to run as soon as this transaction commits."""
    session.info["wake"] = True


@event.listens_for(Session, "after_commit")
def _flush_notices(session: Session) -> None:
    notices = session.info.pop("notices", [])
    wake = session.info.pop("wake", False)
    with _lock:
        publishers = list(_publishers)
        wakers = list(_wakers)
    for room, name, payload in notices:
        for publish in publishers:
            try:
                publish(room, name, payload)
            except Exception:  # a push is a hint; the client re-fetches on reconnect
                log.exception("publishing %s to %s failed", name, room)
    if wake:
        for waker in wakers:
            waker()


@event.listens_for(Session, "after_rollback")
def _drop_notices(session: Session) -> None:
    session.info.pop("notices", None)
    session.info.pop("wake", None)
