"""Date arithmetic on the business's wall clock (core/wall_time.py), checked against the
written daylight-saving rules, with every expected instant written out in UTC.

Australia/Sydney: AEST is UTC+10, AEDT is UTC+11. In 2026 daylight saving ends on Sunday
5 April (03:00 AEDT becomes 02:00 AEST, at 16:00 UTC on the 4th: 02:00-03:00 happens twice)
and begins on Sunday 4 October (02:00 AEST becomes 03:00 AEDT, at 16:00 UTC on the 3rd:
02:00-03:00 does not happen).

Europe/London: GMT is UTC+0, BST is UTC+1. In 2026 summer time begins on Sunday 29 March
(01:00 GMT becomes 02:00 BST, at 01:00 UTC: 01:00-02:00 does not happen) and ends on Sunday
25 October (02:00 BST becomes 01:00 GMT, at 01:00 UTC: 01:00-02:00 happens twice).
"""

from __future__ import annotations

import datetime as dt

import pytest

from jobline.core import wall_time

SYDNEY = "Australia/Sydney"
LONDON = "Europe/London"
UTC = dt.UTC
TUESDAY = 1


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# ----------------------------------------------------------------------------- instant_at


@pytest.mark.parametrize(
    ("wall", "time_zone", "expected"),
    [
        # An ordinary winter and summer time in each zone.
        (dt.datetime(2026, 7, 1, 10, 0), SYDNEY, utc(2026, 7, 1, 0, 0)),
        (dt.datetime(2026, 1, 15, 10, 0), SYDNEY, utc(2026, 1, 14, 23, 0)),
        (dt.datetime(2026, 1, 15, 10, 0), LONDON, utc(2026, 1, 15, 10, 0)),
        (dt.datetime(2026, 7, 1, 10, 0), LONDON, utc(2026, 7, 1, 9, 0)),
    ],
)
def test_an_ordinary_wall_time_is_the_instant_of_its_offset(
    wall: dt.datetime, time_zone: str, expected: dt.datetime
) -> None:
    instant = wall_time.instant_at(wall, time_zone)
    assert instant == expected
    assert instant.utcoffset() == dt.timedelta(0)


def test_a_skipped_sydney_time_moves_forward_by_the_gap() -> None:
    # 02:30 on 4 Oct 2026 does not exist in Sydney; it is read as 03:30 AEDT.
    instant = wall_time.instant_at(dt.datetime(2026, 10, 4, 2, 30), SYDNEY)
    assert instant == utc(2026, 10, 3, 16, 30)
    local = wall_time.local(instant, SYDNEY)
    assert (local.date(), local.time()) == (dt.date(2026, 10, 4), dt.time(3, 30))
    assert local.utcoffset() == dt.timedelta(hours=11)


def test_a_skipped_london_time_moves_forward_by_the_gap() -> None:
    # 01:30 on 29 Mar 2026 does not exist in London; it is read as 02:30 BST.
    instant = wall_time.instant_at(dt.datetime(2026, 3, 29, 1, 30), LONDON)
    assert instant == utc(2026, 3, 29, 1, 30)
    assert wall_time.local(instant, LONDON).time() == dt.time(2, 30)


def test_a_repeated_sydney_time_is_the_first_of_the_two() -> None:
    # 02:30 on 5 Apr 2026 happens at 15:30 UTC (AEDT, UTC+11) and again at 16:30 UTC
    # (AEST); the first one is meant.
    instant = wall_time.instant_at(dt.datetime(2026, 4, 5, 2, 30), SYDNEY)
    assert instant == utc(2026, 4, 4, 15, 30)
    assert wall_time.local(instant, SYDNEY).utcoffset() == dt.timedelta(hours=11)


def test_a_repeated_london_time_is_the_first_of_the_two() -> None:
    # 01:30 on 25 Oct 2026 happens at 00:30 UTC (BST) and again at 01:30 UTC (GMT).
    instant = wall_time.instant_at(dt.datetime(2026, 10, 25, 1, 30), LONDON)
    assert instant == utc(2026, 10, 25, 0, 30)
    assert wall_time.local(instant, LONDON).utcoffset() == dt.timedelta(hours=1)


def test_instant_on_combines_a_date_and_a_time_on_the_wall_clock() -> None:
    assert wall_time.instant_on(dt.date(2026, 10, 4), dt.time(2, 30), SYDNEY) == utc(
        2026, 10, 3, 16, 30
    )
    assert wall_time.instant_on(dt.date(2026, 10, 5), dt.time(9, 0), SYDNEY) == utc(
        2026, 10, 4, 22, 0
    )


def test_local_shows_the_instant_on_the_business_clock() -> None:
    local = wall_time.local(utc(2026, 10, 12, 23, 0), SYDNEY)
    assert local.replace(tzinfo=None) == dt.datetime(2026, 10, 13, 10, 0)
    assert local.utcoffset() == dt.timedelta(hours=11)


# ----------------------------------------------------------------------------- add_days / weeks


def test_six_weeks_after_1_sep_10_00_in_sydney_is_13_oct_10_00_local() -> None:
    start = utc(2026, 9, 1, 0, 0)  # Tue 1 Sep 2026 10:00 AEST
    later = wall_time.add_weeks(start, 6, SYDNEY)
    # 13 Oct 2026 10:00 AEDT, not 11:00: 6 weeks less the hour skipped on 4 Oct.
    assert later == utc(2026, 10, 12, 23, 0)
    assert later - start == dt.timedelta(weeks=6) - dt.timedelta(hours=1)
    assert wall_time.local(later, SYDNEY).replace(tzinfo=None) == dt.datetime(2026, 10, 13, 10)


def test_six_weeks_before_keeps_the_wall_time_too() -> None:
    assert wall_time.add_weeks(utc(2026, 10, 12, 23, 0), -6, SYDNEY) == utc(2026, 9, 1, 0, 0)


def test_weeks_across_the_end_of_sydney_daylight_saving_keep_the_wall_time() -> None:
    # Tue 31 Mar 2026 10:00 AEDT, plus 2 weeks: Tue 14 Apr 2026 10:00 AEST (an hour more).
    later = wall_time.add_weeks(utc(2026, 3, 30, 23, 0), 2, SYDNEY)
    assert later == utc(2026, 4, 14, 0, 0)


def test_days_across_london_changes_keep_the_wall_time() -> None:
    # Sat 28 Mar 2026 09:00 GMT + 1 day = Sun 29 Mar 09:00 BST.
    assert wall_time.add_days(utc(2026, 3, 28, 9, 0), 1, LONDON) == utc(2026, 3, 29, 8, 0)
    # Sat 24 Oct 2026 09:00 BST + 1 day = Sun 25 Oct 09:00 GMT.
    assert wall_time.add_days(utc(2026, 10, 24, 8, 0), 1, LONDON) == utc(2026, 10, 25, 9, 0)


def test_a_day_later_landing_in_the_skipped_hour_moves_forward_by_the_gap() -> None:
    # Sat 3 Oct 2026 02:30 AEST + 1 day would be 02:30 on the 4th, which does not exist.
    assert wall_time.add_days(utc(2026, 10, 2, 16, 30), 1, SYDNEY) == utc(2026, 10, 3, 16, 30)


def test_a_day_later_landing_in_the_repeated_hour_is_the_first_of_the_two() -> None:
    # Sat 4 Apr 2026 02:30 AEDT + 1 day: 02:30 on the 5th happens twice; the first (AEDT).
    assert wall_time.add_days(utc(2026, 4, 3, 15, 30), 1, SYDNEY) == utc(2026, 4, 4, 15, 30)


def test_zero_days_is_the_same_instant() -> None:
    assert wall_time.add_days(utc(2026, 6, 1, 3, 17), 0, SYDNEY) == utc(2026, 6, 1, 3, 17)


# ----------------------------------------------------------------------------- next_weekday


@pytest.mark.parametrize(
    ("start", "time_zone", "expected"),
    [
        # Tue 29 Sep 2026 10:00 AEST -> Tue 6 Oct 2026 10:00 AEDT.
        (utc(2026, 9, 29, 0, 0), SYDNEY, utc(2026, 10, 5, 23, 0)),
        # Thu 1 Oct 2026 10:00 AEST -> Tue 6 Oct 2026 10:00 AEDT.
        (utc(2026, 10, 1, 0, 0), SYDNEY, utc(2026, 10, 5, 23, 0)),
        # Tue 31 Mar 2026 10:00 AEDT -> Tue 7 Apr 2026 10:00 AEST.
        (utc(2026, 3, 30, 23, 0), SYDNEY, utc(2026, 4, 7, 0, 0)),
        # Tue 24 Mar 2026 10:00 GMT -> Tue 31 Mar 2026 10:00 BST.
        (utc(2026, 3, 24, 10, 0), LONDON, utc(2026, 3, 31, 9, 0)),
        # Tue 20 Oct 2026 10:00 BST -> Tue 27 Oct 2026 10:00 GMT.
        (utc(2026, 10, 20, 9, 0), LONDON, utc(2026, 10, 27, 10, 0)),
    ],
)
def test_every_tuesday_across_a_clock_change_stays_at_10_00_local(
    start: dt.datetime, time_zone: str, expected: dt.datetime
) -> None:
    following = wall_time.next_weekday(start, TUESDAY, time_zone)
    assert following == expected
    local = wall_time.local(following, time_zone)
    assert (local.weekday(), local.time()) == (TUESDAY, dt.time(10, 0))


def test_next_weekday_uses_the_local_date_not_the_utc_one() -> None:
    # Tue 29 Sep 2026 09:30 AEST is still Mon 28 Sep in UTC; the next Tuesday is 6 Oct.
    assert wall_time.next_weekday(utc(2026, 9, 28, 23, 30), TUESDAY, SYDNEY) == utc(
        2026, 10, 5, 22, 30
    )


def test_next_weekday_chains_into_a_weekly_series_at_the_same_wall_time() -> None:
    visit = utc(2026, 9, 22, 0, 0)  # Tue 22 Sep 2026 10:00 AEST
    series = []
    for _ in range(3):
        visit = wall_time.next_weekday(visit, TUESDAY, SYDNEY)
        series.append(visit)
    # 29 Sep 10:00 AEST, 6 Oct 10:00 AEDT, 13 Oct 10:00 AEDT.
    assert series == [utc(2026, 9, 29, 0, 0), utc(2026, 10, 5, 23, 0), utc(2026, 10, 12, 23, 0)]


# ----------------------------------------------------------------------------- day_bounds


@pytest.mark.parametrize(
    ("day", "time_zone", "expected", "hours"),
    [
        # Sydney, daylight saving ends: 00:00 AEDT to 00:00 AEST the next day, 25 hours.
        (dt.date(2026, 4, 5), SYDNEY, (utc(2026, 4, 4, 13, 0), utc(2026, 4, 5, 14, 0)), 25),
        # Sydney, daylight saving begins: 00:00 AEST to 00:00 AEDT, 23 hours.
        (dt.date(2026, 10, 4), SYDNEY, (utc(2026, 10, 3, 14, 0), utc(2026, 10, 4, 13, 0)), 23),
        # London, summer time begins: 00:00 GMT to 00:00 BST, 23 hours.
        (dt.date(2026, 3, 29), LONDON, (utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 23, 0)), 23),
        # London, summer time ends: 00:00 BST to 00:00 GMT, 25 hours.
        (dt.date(2026, 10, 25), LONDON, (utc(2026, 10, 24, 23, 0), utc(2026, 10, 26, 0, 0)), 25),
        # Ordinary days: 24 hours.
        (dt.date(2026, 10, 5), SYDNEY, (utc(2026, 10, 4, 13, 0), utc(2026, 10, 5, 13, 0)), 24),
        (dt.date(2026, 1, 15), LONDON, (utc(2026, 1, 15, 0, 0), utc(2026, 1, 16, 0, 0)), 24),
    ],
)
def test_day_bounds_are_local_midnights_23_or_25_hours_apart_on_change_days(
    day: dt.date, time_zone: str, expected: tuple[dt.datetime, dt.datetime], hours: int
) -> None:
    start, end = wall_time.day_bounds(day, time_zone)
    assert (start, end) == expected
    assert end - start == dt.timedelta(hours=hours)


# ----------------------------------------------------------------------------- add_months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        # 31 Jan 2028 10:00 AEDT: February of a leap year has 29 days.
        (utc(2028, 1, 30, 23), 1, utc(2028, 2, 28, 23)),
        # 31 Mar 2026 10:00 AEDT to 30 Apr 10:00 AEST, across the end of daylight saving.
        (utc(2026, 3, 30, 23), 1, utc(2026, 4, 30, 0)),
        # 15 Sep 2026 10:00 AEST to 15 Oct 10:00 AEDT, across its start.
        (utc(2026, 9, 15, 0), 1, utc(2026, 10, 14, 23)),
        # 31 Dec 2026 over the year end to 28 Feb 2027, and backwards.
        (utc(2026, 12, 30, 23), 2, utc(2027, 2, 27, 23)),
        (utc(2026, 3, 30, 23), -1, utc(2026, 2, 27, 23)),
    ],
)
def test_add_months_keeps_the_day_and_wall_time_or_takes_the_months_last_day(
    start: dt.datetime, months: int, expected: dt.datetime
) -> None:
    assert wall_time.add_months(start, months, SYDNEY) == expected
