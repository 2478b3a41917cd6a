"""Date arithmetic in a business's wall time.

People book "Tuesday at 10:00" and "in 6 weeks" by the clock on their wall, not in UTC. An
instant is stored in UTC; arithmetic on it is done here, on the local date and time in the
business's time zone, and turned back into an instant. So 6 weeks after 1 Sep 2026 10:00 in
Sydney is 13 Oct 2026 10:00 (daylight saving began in between), not 11:00.

Two local times need a rule, and each has one here:
- a time that does not exist (the hour skipped when clocks go forward) moves forward by the
  gap: 02:30 on the day Sydney skips 02:00-03:00 is 03:30;
- a time that happens twice (the hour repeated when clocks go back) is the first of the two.
"""

from __future__ import annotations

import calendar
import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.utils import timezone

UTC = dt.UTC


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(instant: dt.datetime, time_zone: str) -> dt.datetime:
    """The instant on the business's wall clock (an aware datetime in its zone)."""
    return instant.astimezone(zone(time_zone))


def instant_at(wall: dt.datetime, time_zone: str) -> dt.datetime:
    """The UTC instant of a naive wall-clock datetime in ``time_zone`` (rules above)."""
    # fold=0 is the first of a repeated hour; for a skipped one zoneinfo applies the offset
    # from before the gap, which lands after the gap by exactly its length.
    return wall.replace(tzinfo=zone(time_zone), fold=0).astimezone(UTC)


def instant_on(day: dt.date, time: dt.time, time_zone: str) -> dt.datetime:
    return instant_at(dt.datetime.combine(day, time), time_zone)


def add_days(instant: dt.datetime, days: int, time_zone: str) -> dt.datetime:
    """The same wall-clock time ``days`` later (negative: earlier) in ``time_zone``."""
    wall = local(instant, time_zone).replace(tzinfo=None)
    return instant_at(wall + dt.timedelta(days=days), time_zone)


def add_weeks(instant: dt.datetime, weeks: int, time_zone: str) -> dt.datetime:
    return add_days(instant, 7 * weeks, time_zone)


def add_months(instant: dt.datetime, months: int, time_zone: str) -> dt.datetime:
    """The same day of the month and wall-clock time ``months`` later; a day the month lacks
    (the 31st in April, the 29th of February) becomes its last day."""
    wall = local(instant, time_zone).replace(tzinfo=None)
    month_index = wall.year * 12 + wall.month - 1 + months
    year, month = divmod(month_index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    moved = wall.replace(year=year, month=month + 1, day=min(wall.day, last_day))
    return instant_at(moved, time_zone)


def next_weekday(instant: dt.datetime, weekday: int, time_zone: str) -> dt.datetime:
    """The next ``weekday`` (Monday 0) after the instant's local date, at the same wall time
    ("every Tuesday")."""
    wall = local(instant, time_zone)
    ahead = (weekday - wall.weekday() - 1) % 7 + 1
    return add_days(instant, ahead, time_zone)


def day_bounds(day: dt.date, time_zone: str) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants at which a local day starts and the next one starts (23 or 25 hours
    apart on the days the clocks change)."""
    return (
        instant_on(day, dt.time(0), time_zone),
        instant_on(day + dt.timedelta(days=1), dt.time(0), time_zone),
    )


def span_words(starts_at: dt.datetime, ends_at: dt.datetime, time_zone: str) -> str:
    """A visit's time as people read it, on the business's clock: "Tue 8 Dec 2026,
    10:00–11:30" (with the end's day too when it ends on another day). Pages, e-mails, the
    portal and exports all write it with this."""
    start = local(starts_at, time_zone)
    end = local(ends_at, time_zone)
    head = f"{start:%a} {start.day} {start:%b %Y, %H:%M}"
    if end.date() == start.date():
        return f"{head}–{end:%H:%M}"
    return f"{head} – {end:%a} {end.day} {end:%b, %H:%M}"


def shown_in(time_zone: str) -> timezone.override:
    """Render inside this to show every time on that business's clock (the portal and the
    public quote page, which have no workspace of their own in the request)."""
    return timezone.override(zone(time_zone))
