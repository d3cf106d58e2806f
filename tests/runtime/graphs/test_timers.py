"""DST-safe timer arithmetic: delays, windows and (yearly) field dates."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from runtime.graphs.timers import add_delay
from runtime.graphs.timers import apply_window
from runtime.graphs.timers import localize
from runtime.graphs.timers import next_field_date

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS_9_17 = {"weekdays": [0, 1, 2, 3, 4], "start_hour": 9, "end_hour": 17}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_minutes_and_hours_are_elapsed_time_across_spring_forward() -> None:
    # 2024-03-31 00:30 UTC = 01:30 CET; two hours later it is 04:30 CEST.
    start = utc(2024, 3, 31, 0, 30)
    due = add_delay(start, 2, "hours", BERLIN)
    assert due == utc(2024, 3, 31, 2, 30)
    assert due.astimezone(BERLIN).hour == 4


def test_days_keep_wall_clock_across_spring_forward_and_fall_back() -> None:
    # Berlin 09:00 CET on Saturday 30 March → 09:00 CEST on Sunday (23 h later).
    sat = localize(datetime(2024, 3, 30, 9), BERLIN)
    due = add_delay(sat, 1, "days", BERLIN)
    assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2024, 3, 31, 9)
    assert due - sat == (utc(2024, 3, 31, 7) - utc(2024, 3, 30, 8))
    assert (due - sat).total_seconds() == 23 * 3600
    # New York 09:00 EDT on 2 November → 09:00 EST a week later (one hour longer).
    before = localize(datetime(2024, 11, 2, 9), NEW_YORK)
    after = add_delay(before, 1, "weeks", NEW_YORK)
    assert after.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2024, 11, 9, 9)
    assert (after - before).total_seconds() == 7 * 24 * 3600 + 3600
    assert after.tzinfo is UTC


def test_day_delay_into_a_nonexistent_time_moves_forward() -> None:
    # 02:30 does not exist in Berlin on 31 March 2024: it becomes 03:30 CEST.
    start = localize(datetime(2024, 3, 30, 2, 30), BERLIN)
    due = add_delay(start, 1, "days", BERLIN)
    assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2024, 3, 31, 3, 30)


def test_day_delay_into_an_ambiguous_time_takes_the_first() -> None:
    start = localize(datetime(2024, 10, 26, 2, 30), BERLIN)
    due = add_delay(start, 1, "days", BERLIN)
    assert due == utc(2024, 10, 27, 0, 30)  # 02:30 CEST, the first 02:30


def test_days_default_to_utc_and_naive_is_refused() -> None:
    assert add_delay(utc(2024, 1, 1, 12), 2, "days") == utc(2024, 1, 3, 12)
    with pytest.raises(ValueError, match="naive"):
        add_delay(datetime(2024, 1, 1), 1, "days")


def test_window_inside_before_after_and_weekend() -> None:
    # Wednesday 2024-06-05 in New York (EDT, UTC-4).
    inside = localize(datetime(2024, 6, 5, 10), NEW_YORK)
    assert apply_window(inside, WEEKDAYS_9_17, NEW_YORK) == inside
    early = localize(datetime(2024, 6, 5, 7), NEW_YORK)
    assert apply_window(early, WEEKDAYS_9_17, NEW_YORK) == localize(
        datetime(2024, 6, 5, 9), NEW_YORK
    )
    late = localize(datetime(2024, 6, 5, 17), NEW_YORK)  # end hour is exclusive
    assert apply_window(late, WEEKDAYS_9_17, NEW_YORK) == localize(
        datetime(2024, 6, 6, 9), NEW_YORK
    )
    friday_night = localize(datetime(2024, 6, 7, 22), NEW_YORK)
    assert apply_window(friday_night, WEEKDAYS_9_17, NEW_YORK) == utc(
        2024, 6, 10, 13
    )  # Monday 09:00 EDT


def test_window_is_read_in_its_own_zone() -> None:
    # Monday 06:00 UTC is 08:00 in Berlin (before 9) but 02:00 in New York.
    monday = utc(2024, 6, 3, 6)
    assert apply_window(monday, WEEKDAYS_9_17, BERLIN) == utc(2024, 6, 3, 7)
    assert apply_window(monday, WEEKDAYS_9_17, NEW_YORK) == utc(2024, 6, 3, 13)


def test_window_across_dst_changes() -> None:
    sunday_window = {"weekdays": [6], "start_hour": 2, "end_hour": 4}
    # Spring forward: 02:00 Berlin does not exist on 31 March; the window opens at 03:00 CEST.
    opens = apply_window(utc(2024, 3, 30, 12), sunday_window, BERLIN)
    assert opens == utc(2024, 3, 31, 1)
    assert opens.astimezone(BERLIN).hour == 3
    # Fall back: 02:00 happens twice on 27 October; the window opens at the first one.
    assert apply_window(utc(2024, 10, 26, 12), sunday_window, BERLIN) == utc(2024, 10, 27, 0)
    # A weekday window on the Monday after the change uses the new offset.
    assert apply_window(utc(2024, 3, 31, 20), WEEKDAYS_9_17, BERLIN) == utc(2024, 4, 1, 7)


def test_window_until_midnight_and_bad_windows() -> None:
    late = {"weekdays": [0], "start_hour": 20, "end_hour": 24}
    monday_2330 = localize(datetime(2024, 6, 3, 23, 30), BERLIN)
    assert apply_window(monday_2330, late, BERLIN) == monday_2330
    with pytest.raises(ValueError):
        apply_window(monday_2330, {"weekdays": [], "start_hour": 9, "end_hour": 17}, BERLIN)
    with pytest.raises(ValueError):
        apply_window(monday_2330, {"weekdays": [1], "start_hour": 9, "end_hour": 9}, BERLIN)


def test_field_date_fixed_offsets_and_missing() -> None:
    now = utc(2024, 6, 3, 12)
    assert next_field_date(now, "2024-07-01", 0, "after", False, BERLIN) == utc(2024, 7, 1, 7)
    assert next_field_date(now, date(2024, 7, 1), 3, "before", False, BERLIN) == utc(2024, 6, 28, 7)
    assert next_field_date(now, "2024-07-01", 2, "after", False, BERLIN, hour=0) == utc(
        2024, 7, 2, 22
    )
    assert next_field_date(now, datetime(2024, 7, 1, 15, 45), 0, "after", False, BERLIN) == utc(
        2024, 7, 1, 13, 45
    )
    assert (
        next_field_date(now, "2024-06-01", 0, "after", False, BERLIN) is None
    )  # past: proceed now
    assert next_field_date(now, None, 0, "after", False, BERLIN) is None
    assert next_field_date(now, "", 0, "after", False, BERLIN) is None
    assert next_field_date(now, "not a date", 0, "after", False, BERLIN) is None


def test_yearly_field_date_rolls_to_the_next_anniversary() -> None:
    now = utc(2024, 6, 3, 12)
    assert next_field_date(now, "1985-06-10", 0, "after", True, BERLIN) == utc(2024, 6, 10, 7)
    assert next_field_date(now, "1985-06-01", 0, "after", True, BERLIN) == utc(2025, 6, 1, 7)
    # A week before a birthday on 8 June: 1 June has passed, so next year's.
    assert next_field_date(now, "1985-06-08", 7, "before", True, BERLIN) == utc(2025, 6, 1, 7)
    # Winter birthday fires at 09:00 CET (UTC+1).
    assert next_field_date(now, "1985-12-24", 0, "after", True, BERLIN) == utc(2024, 12, 24, 8)


def test_yearly_feb_29() -> None:
    leap_birthday = "2000-02-29"
    # 2025 is a common year: 28 February.
    assert next_field_date(utc(2024, 6, 1), leap_birthday, 0, "after", True, NEW_YORK) == utc(
        2025, 2, 28, 14
    )
    # 2028 is a leap year: the real day.
    assert next_field_date(utc(2027, 3, 1), leap_birthday, 0, "after", True, NEW_YORK) == utc(
        2028, 2, 29, 14
    )
    # Just before it in a leap year.
    assert next_field_date(utc(2024, 2, 1), leap_birthday, 0, "after", True, NEW_YORK) == utc(
        2024, 2, 29, 14
    )
    # One day after a 29 February birthday, in a common year: 1 March.
    assert next_field_date(utc(2025, 1, 1), leap_birthday, 1, "after", True, NEW_YORK) == utc(
        2025, 3, 1, 14
    )
