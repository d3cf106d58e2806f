"""The one source of "now" for models, services and the runtime.

Invariant: every timestamp the product stores comes from `now()`, so tests and
benchmarks can swap in a `FakeClock` and move time without sleeping.
"""

from __future__ import annotations

import threading
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that can tell the current aware UTC time."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """Return the current time, aware UTC."""
        return datetime.now(UTC)


class FakeClock:
    """A clock that moves only when told to (tests, benchmarks)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the fake current time."""
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> datetime:
        """Move time forward by a `timedelta(**delta)` and return the new now."""
        with self._lock:
            self._now = self._now + timedelta(**delta)
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to an aware moment."""
        with self._lock:
            self._now = moment.astimezone(UTC)


_clock: Clock = SystemClock()


def now() -> datetime:
    """Return "now" from the installed clock (aware UTC)."""
    return _clock.now()


def set_clock(clock: Clock) -> Clock:
    """Install a clock; return the previous one so callers can restore it."""
    global _clock
    previous, _clock = _clock, clock
    return previous
