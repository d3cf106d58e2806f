"""Pure, DST-safe time arithmetic for timer steps.

Invariants:
    * Every function takes and returns *aware* datetimes; results are in UTC.
      A naive input raises ``ValueError`` (a naive time is always a bug here).
    * Minutes and hours are elapsed time. Days and weeks are calendar days in
      the given zone: the wall-clock time is kept across a DST change.
    * A wall-clock time that does not exist (spring-forward gap) is moved
      forward by the gap's length (02:30 → 03:30 in Europe/Berlin); an
      ambiguous one (fall-back) resolves to its first occurrence (``fold=0``).
    * Weekdays are numbered like Python: Monday = 0 … Sunday = 6.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

Unit = t.Literal["minutes", "hours", "days", "weeks"]
Direction = t.Literal["before", "after"]


class WindowLike(t.Protocol):
    """A weekday/hour window, e.g. the ``delay`` step's ``window`` config."""

    @property
    def weekdays(self) -> Sequence[int]: ...

    @property
    def start_hour(self) -> int: ...

    @property
    def end_hour(self) -> int: ...


def _require_aware(dt: datetime) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: timers need aware datetimes")


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """Return the UTC instant of a wall-clock time in ``tz`` (gap → forward, overlap → first)."""
    # fold=0 gives the pre-transition offset: for a gap that lands after the
    # gap by its length, for an overlap it picks the first occurrence.
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def add_delay(now: datetime, amount: int, unit: Unit, tz: ZoneInfo | None = None) -> datetime:
    """Return ``now`` plus a delay.

    Args:
        now: aware current time.
        amount: how many units (may be 0).
        unit: ``minutes``/``hours`` (elapsed) or ``days``/``weeks`` (calendar,
            wall clock kept in ``tz``).
        tz: zone for calendar units; UTC when omitted.

    Returns:
        The aware UTC due time.
    """
    _require_aware(now)
    if unit == "minutes":
        return (now + timedelta(minutes=amount)).astimezone(UTC)
    if unit == "hours":
        return (now + timedelta(hours=amount)).astimezone(UTC)
    days = amount * 7 if unit == "weeks" else amount
    if unit not in ("days", "weeks"):
        raise ValueError(f"unknown delay unit {unit!r}")
    zone = tz or ZoneInfo("UTC")
    local = now.astimezone(zone).replace(tzinfo=None)
    return localize(local + timedelta(days=days), zone)


def _window_parts(window: WindowLike | Mapping[str, t.Any]) -> tuple[frozenset[int], int, int]:
    if isinstance(window, Mapping):
        return (
            frozenset(int(d) for d in window["weekdays"]),
            int(window["start_hour"]),
            int(window["end_hour"]),
        )
    return frozenset(window.weekdays), window.start_hour, window.end_hour


def _wall(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """Return the UTC instant of ``hour``:00 on ``day`` in ``tz`` (hour 24 = next midnight)."""
    if hour >= 24:
        return localize(datetime.combine(day + timedelta(days=1), time()), tz)
    return localize(datetime.combine(day, time(hour)), tz)


def apply_window(dt: datetime, window: WindowLike | Mapping[str, t.Any], tz: ZoneInfo) -> datetime:
    """Return the first moment at or after ``dt`` inside the window.

    Args:
        dt: aware candidate time.
        window: allowed weekdays (Mon=0) and ``[start_hour, end_hour)`` local hours.
        tz: the zone the window is read in.

    Returns:
        ``dt`` itself (in UTC) when already inside, else the next window opening.

    Raises:
        ValueError: naive ``dt`` or a window that never opens.
    """
    _require_aware(dt)
    weekdays, start_hour, end_hour = _window_parts(window)
    if not weekdays or not 0 <= start_hour < end_hour <= 24:
        raise ValueError(f"empty window {weekdays}/{start_hour}-{end_hour}")
    dt = dt.astimezone(UTC)
    local_day = dt.astimezone(tz).date()
    # Start one day back: an instant just after local midnight may still be
    # inside yesterday's window only if end_hour is 24, which _wall handles.
    for offset in range(-1, 9):
        day = local_day + timedelta(days=offset)
        if day.weekday() not in weekdays:
            continue
        start, end = _wall(day, start_hour, tz), _wall(day, end_hour, tz)
        if start <= dt < end:
            return dt
        if dt < start:
            return start
    raise ValueError("window never opens")  # unreachable with a non-empty weekday set


def _as_local(value: object, tz: ZoneInfo, hour: int) -> datetime | None:
    """Turn a date/datetime/ISO string into an aware local datetime, or None."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = (
                datetime.fromisoformat(text)
                if ("T" in text or " " in text)
                else date.fromisoformat(text)
            )
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return localize(value, tz).astimezone(tz)
        return value.astimezone(tz)
    if isinstance(value, date):
        return localize(datetime.combine(value, time(hour)), tz).astimezone(tz)
    return None


def _anniversary(day: date, year: int) -> date:
    """Return ``day`` moved to ``year``; 29 February becomes 28 February in common years."""
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


def next_field_date(
    now: datetime,
    date_value: object,
    offset_days: int,
    direction: Direction,
    yearly: bool,
    tz: ZoneInfo,
    *,
    hour: int = 9,
) -> datetime | None:
    """Return when a date/field timer fires.

    Args:
        now: aware current time.
        date_value: a ``date``, ``datetime`` or ISO string (a contact field or
            a fixed date). A date without time fires at ``hour``:00 local.
        offset_days: days before or after the date.
        direction: ``before`` or ``after``.
        yearly: fire on the next anniversary (birthdays, renewals);
            29 February fires on 28 February in common years.
        tz: zone for reading dates and keeping the wall-clock time.
        hour: local hour for date-only values.

    Returns:
        The aware UTC time, or None when the date is missing/unreadable, or
        (not yearly) already past — the contact then proceeds at once rather
        than waiting forever.
    """
    _require_aware(now)
    local = _as_local(date_value, tz, hour)
    if local is None:
        return None
    shift = timedelta(days=offset_days if direction == "after" else -offset_days)
    wall = local.replace(tzinfo=None)
    if not yearly:
        due = localize(wall + shift, tz)
        return due if due >= now.astimezone(UTC) else None
    base_year = now.astimezone(tz).year
    for year in range(base_year - 1, base_year + 3):
        moved = datetime.combine(_anniversary(wall.date(), year), wall.time())
        due = localize(moved + shift, tz)
        if due >= now.astimezone(UTC):
            return due
    return None  # unreachable: some anniversary within 3 years is ahead
