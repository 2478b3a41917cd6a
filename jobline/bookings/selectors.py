"""Every read the bookings pages need, scoped to the viewer (Booking.objects.visible_to), with
a fixed number of queries whatever the number of visits.

The calendar grid is laid out here: each visit's row (quarter hours from the grid's first
hour) and lane (visits sharing time sit side by side, at most MAX_LANES; the rest are counted
as "+N more", which links to the agenda of that day). The templates only draw it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Func,
    Max,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils import timezone

from jobline.bookings.models import (
    LONGEST_VISIT,
    MOST_IN_SERIES,
    Assignment,
    Booking,
    BookingEvent,
    BookingSeries,
    BookingStatus,
)
from jobline.core import wall_time
from jobline.core.prepared import PreparedQuery
from jobline.jobs.hooks import JobPageSection
from jobline.jobs.models import Job
from jobline.workspaces.models import Membership, Workspace
from jobline.workspaces.viewers import Viewer

MAX_LANES = 4
WALL_EPOCH = dt.datetime(1970, 1, 1)
DAY = 86400
DEFAULT_HOURS = (7, 19)
QUARTER = 15


@dataclass
class GridEvent:
    """A visit on the grid. Laid out from its times first; what it shows (title, customer…)
    is read afterwards for the visits that are shown (_fill_in)."""

    pk: int
    # Its start and end on the business's wall clock, as seconds since 1970-01-01 00:00 of
    # that clock: the layout is integer arithmetic, with no datetime per visit.
    start_s: int
    end_s: int
    staff_ids: list[int] = field(default_factory=list)
    title: str = ""
    status: str = ""
    customer: str = ""
    job_number: int | None = None
    staff: list[str] = field(default_factory=list)
    overlap: bool = False
    row: int = 1
    span: int = 1
    lane: int = 1
    url: str = ""
    move_url: str = ""

    @property
    def staff_names(self) -> str:
        """Joined here, not by the template's join filter, which escapes each name apart (a
        tenth of the week view's time at 2,000 visits); the template escapes the whole."""
        return ", ".join(self.staff)

    @property
    def placed(self) -> str:
        """Its grid classes (row, span, lane, state) as one attribute value: the template
        writes hundreds of visits, and each value it writes is escaped apart."""
        overlap = " is-overlap" if self.overlap else ""
        return (
            f"cal-row-{self.row} cal-span-{self.span} cal-lane-{self.lane} "
            f"is-{self.status}{overlap}"
        )

    @property
    def time_span(self) -> str:
        return f"{_clock(self.start_s)}–{_clock(self.end_s)}"

    @property
    def minutes(self) -> int:
        return (self.end_s - self.start_s) // 60

    @property
    def start_clock(self) -> str:
        return _clock(self.start_s)

    @property
    def end_clock(self) -> str:
        return _clock(self.end_s)


def _clock(wall_seconds: int) -> str:
    """ "09:30" of a wall-clock second (the grid draws hundreds: no datetime for each)."""
    minutes = wall_seconds % DAY // 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# A visit as the layout sees it, before it is drawn: its booking's id, its start and end on
# the wall clock (seconds, as GridEvent's) and its staff's membership ids. The layout works on
# these for every visit of the range, and makes GridEvents only for the ones it shows.
VisitTimes = tuple[int, int, int, list[int]]


@dataclass
class Column:
    day: dt.date
    label: str
    membership_id: int | None = None  # a day view's column per staff member
    events: list[GridEvent] = field(default_factory=list)
    hidden: int = 0
    lanes: int = 1


@dataclass
class Grid:
    first_hour: int
    last_hour: int
    columns: list[Column]

    @property
    def rows(self) -> int:
        return (self.last_hour - self.first_hour) * 4

    @property
    def hours(self) -> list[int]:
        return list(range(self.first_hour, self.last_hour))

    @property
    def hour_labels(self) -> list[tuple[int, str, int]]:
        """Each hour of the grid: the hour, "09:00", and the row it starts on."""
        return [(hour, f"{hour:02d}:00", i * 4 + 1) for i, hour in enumerate(self.hours)]


def members(workspace: Workspace) -> list[Membership]:
    return list(
        Membership.objects.active()
        .filter(workspace=workspace)
        .select_related("user")
        .only("pk", "workspace_id", "role", "user__full_name", "user__email")
        .order_by("user__full_name", "pk")
    )


def get_booking(*, viewer: Viewer | None, pk: int) -> Booking:
    """One booking the viewer may see, with what its page shows; anything else is a 404."""
    booking = (
        Booking.objects.visible_to(viewer)
        .select_related("customer", "job", "workspace", "created_by", "series")
        .prefetch_related(
            Prefetch("assignments", Assignment.objects.select_related("membership__user"))
        )
        .filter(pk=pk)
        .first()
    )
    if booking is None:
        raise Http404("No such visit.")
    return booking


@dataclass
class SeriesView:
    """The repeating series a visit belongs to, as its page shows it."""

    series: BookingSeries
    visits: list[Booking]
    position: int  # this visit's place in the series, from 1

    @property
    def later_scheduled(self) -> int:
        """The visits after this one still scheduled: what "and the later ones" cancels."""
        return sum(1 for visit in self.visits[self.position :] if visit.is_scheduled)


def series_of(booking: Booking, viewer: Viewer | None) -> SeriesView | None:
    """The visit's series (read with it by get_booking) and the series' visits the viewer may
    see, in order (a series holds MOST_IN_SERIES at most); None for a visit of its own."""
    if booking.series is None:
        return None
    visits = list(
        Booking.objects.visible_to(viewer)
        .filter(series_id=booking.series_id)
        .only("pk", "title", "starts_at", "ends_at", "status")
        .order_by("starts_at", "pk")[:MOST_IN_SERIES]
    )
    position = next((n for n, visit in enumerate(visits, 1) if visit.pk == booking.pk), 0)
    return SeriesView(series=booking.series, visits=visits, position=position)


def history(booking: Booking, *, limit: int = 100) -> list[BookingEvent]:
    return list(
        BookingEvent.objects.filter(booking=booking)
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


def _between(
    viewer: Viewer | None,
    start: dt.datetime,
    end: dt.datetime,
    membership_id: int | None,
    *,
    since: dt.datetime | None = None,
) -> QuerySet[Booking]:
    # The lower bound on the start (``since``, start - LONGEST_VISIT unless given: a prepared
    # query passes it in) lets the index on (workspace, start) bound the scan: no visit lasts
    # longer than LONGEST_VISIT.
    rows = Booking.objects.visible_to(viewer).filter(
        starts_at__lt=end, ends_at__gt=start,
        starts_at__gt=start - LONGEST_VISIT if since is None else since,
    )  # fmt: skip
    if membership_id is not None:
        rows = rows.filter(assignments__membership_id=membership_id)
    return rows


class EpochSeconds(Func):
    """A timestamp as whole seconds since 1970 (UTC): thousands of them are read as plain
    integers, not parsed into datetimes one by one (the calendar lays out 2,000 a week)."""

    output_field = BigIntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            # (strftime('%s') would do, but the backend turns a %s in the SQL into a placeholder.)
            compiler, connection,
            template="CAST(ROUND((julianday(%(expressions)s) - 2440587.5) * 86400) AS INTEGER)",
            **extra,
        )  # fmt: skip

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            # date_part, a double, costs less than EXTRACT's numeric for thousands of rows.
            compiler, connection, template="CAST(date_part('epoch', %(expressions)s) AS BIGINT)",
            **extra,
        )  # fmt: skip


def _grid_query(
    viewer: Viewer | None,
    start: dt.datetime,
    end: dt.datetime,
    since: dt.datetime,
    membership_id: int | None,
) -> QuerySet[Any]:
    bookings = _between(viewer, start, end, membership_id, since=since).exclude(
        status=BookingStatus.CANCELLED
    )
    return (
        # An assignment carries its booking's times (the services keep them equal): bounded
        # by them too, PostgreSQL reads the range from assignment_time_idx instead of hashing
        # every assignment of every workspace.
        Assignment.objects.filter(
            starts_at__lt=end, ends_at__gt=start, starts_at__gt=since,
            booking__in=bookings.values("pk"),
        )
        .annotate(start_s=EpochSeconds("starts_at"), end_s=EpochSeconds("ends_at"))
        .order_by("starts_at", "booking_id", "membership_id")
        .values_list("booking_id", "start_s", "end_s", "membership_id")
    )  # fmt: skip


# Compiled once per shape of its arguments (core/prepared.py), read straight from the cursor.
_GRID_ROWS = PreparedQuery(_grid_query, name="calendar grid rows")


def _grid_rows(
    viewer: Viewer | None,
    start: dt.datetime,
    end: dt.datetime,
    membership_id: int | None,
    time_zone: str,
) -> list[VisitTimes]:
    """The scheduled and finished visits of the range (cancelled ones are in the agenda):
    their times and staff only, from their assignments, in one query, soonest first."""
    # Integers only: read from the cursor, without the ORM's per-row conversion (a tenth of
    # the calendar's time at 2,000 visits a week).
    fetched = _GRID_ROWS.raw_rows(
        viewer=viewer, start=start, end=end, since=start - LONGEST_VISIT,
        membership_id=membership_id,
    )  # fmt: skip
    before, change, after = _wall_offsets(start, end, time_zone)
    visits: dict[int, VisitTimes] = {}
    for booking_id, start_s, end_s, member_id in fetched:
        visit = visits.get(booking_id)
        if visit is not None:
            visit[3].append(member_id)
        else:
            visits[booking_id] = (
                booking_id,
                start_s + (before if start_s < change else after),
                end_s + (before if end_s < change else after),
                [member_id],
            )
    return list(visits.values())


def _wall_offsets(start: dt.datetime, end: dt.datetime, time_zone: str) -> tuple[int, int, int]:
    """UTC seconds → the business's wall-clock seconds, for instants around [start, end): the
    offset before the clocks change, the UTC second of the change, and the offset from it on
    (the clocks change at most once in a range of weeks; when they do not, the change is
    past the range's end and both offsets are the same). The offsets are looked up at both
    ends, the change found by halving the interval."""
    tz = wall_time.zone(time_zone)
    low = int(start.timestamp()) - int(LONGEST_VISIT.total_seconds())
    high = int(end.timestamp()) + int(LONGEST_VISIT.total_seconds())

    def offset(second: int) -> int:
        return int(dt.datetime.fromtimestamp(second, tz).utcoffset().total_seconds())

    before, after = offset(low), offset(high)
    if before == after:
        return before, high + 1, after
    while high - low > 1:  # offset(low) == before, offset(high) == after
        middle = (low + high) // 2
        if offset(middle) == before:
            low = middle
        else:
            high = middle
    return before, high, after


# The shown visits' words, compiled once per number of visits shown (core/prepared.py).
_GRID_DETAILS = PreparedQuery(
    lambda ids: Booking.objects.filter(pk__in=ids).values_list(
        "pk", "title", "status", "customer__name", "job__number", "overlap_allowed"
    ),
    name="calendar grid details",
)


def _fill_in(events: list[GridEvent], names: dict[int, str]) -> None:
    """What the shown visits say: one query for all of them."""
    if not events:
        return
    details = {pk: rest for pk, *rest in _GRID_DETAILS.list(ids=[e.pk for e in events])}
    for event in events:
        title, status, customer, number, overlap = details[event.pk]
        event.title, event.status, event.customer = title, status, customer or ""
        event.job_number, event.overlap = number, overlap
        event.staff = [names.get(i, "") for i in event.staff_ids]


def _hours(visits: list[VisitTimes]) -> tuple[int, int]:
    """The grid's first and last hour: the working day, widened to every visit's times (to
    midnight when one runs past it)."""
    first, last = DEFAULT_HOURS
    if not visits:
        return first, last
    first = min(first, min(visit[1] % DAY for visit in visits) // 3600)
    if any(visit[2] // DAY > visit[1] // DAY for visit in visits):
        return first, 24
    latest = max(visit[2] % DAY for visit in visits)
    return first, min(24, max(last, latest // 3600 + (1 if latest % 3600 else 0)))


def _lay_out(column: Column, visits: list[VisitTimes], first_hour: int, rows: int) -> None:
    """The column's shown events, each in its row and lane, from its visits (sorted by
    start): a visit takes the first lane free at its start; with MAX_LANES taken it is
    counted in "+N more"."""
    lane_ends: list[int] = []
    origin = first_hour * 3600
    for pk, start_s, end_s, staff_ids in visits:
        for lane, lane_end in enumerate(lane_ends):
            if lane_end <= start_s:
                lane_ends[lane] = end_s
                break
        else:
            if len(lane_ends) == MAX_LANES:
                column.hidden += 1
                continue
            lane = len(lane_ends)
            lane_ends.append(end_s)
        row = min(rows, max(0, (start_s % DAY - origin) // 60) // QUARTER + 1)
        length = max(QUARTER, (end_s - start_s) // 60)
        column.events.append(
            GridEvent(
                pk=pk, start_s=start_s, end_s=end_s, staff_ids=staff_ids, row=row,
                span=max(1, min(math.ceil(length / QUARTER), rows - row + 1)), lane=lane + 1,
            )
        )  # fmt: skip
    column.lanes = max(1, len(lane_ends))


def week_grid(
    *,
    viewer: Viewer | None,
    workspace: Workspace,
    days: list[dt.date],
    membership_id: int | None,
    people: list[Membership],
) -> Grid:
    """The week (or one day, for one person): a column per day."""
    time_zone = workspace.time_zone
    start = wall_time.day_bounds(days[0], time_zone)[0]
    end = wall_time.day_bounds(days[-1], time_zone)[1]
    visits = _grid_rows(viewer, start, end, membership_id, time_zone)
    names = {m.pk: m.user.full_name or m.user.email for m in people}
    columns = [Column(day=day, label=f"{day:%a} {day.day}") for day in days]
    by_column: list[list[VisitTimes]] = [[] for _ in days]
    first_day = _day_number(days[0])
    for visit in visits:
        # A visit that began the evening before the range is drawn from the first column.
        index = max(0, visit[1] // DAY - first_day)
        if index < len(days):
            by_column[index].append(visit)
    return _laid_out(visits, columns, by_column, names)


def _day_number(day: dt.date) -> int:
    """Days since 1970-01-01: the day of a wall-clock second is ``second // DAY``."""
    return (day - WALL_EPOCH.date()).days


def _laid_out(
    visits: list[VisitTimes],
    columns: list[Column],
    by_column: list[list[VisitTimes]],
    names: dict[int, str],
) -> Grid:
    first, last = _hours(visits)
    grid = Grid(first_hour=first, last_hour=last, columns=columns)
    for column, its_visits in zip(columns, by_column, strict=True):
        _lay_out(column, its_visits, first, grid.rows)
    _fill_in([event for column in grid.columns for event in column.events], names)
    return grid


def day_grid(
    *, viewer: Viewer | None, workspace: Workspace, day: dt.date, people: list[Membership]
) -> Grid:
    """One day for everyone: a column per staff member (a visit of two people is in both)."""
    time_zone = workspace.time_zone
    start, end = wall_time.day_bounds(day, time_zone)
    visits = _grid_rows(viewer, start, end, None, time_zone)
    names = {m.pk: m.user.full_name or m.user.email for m in people}
    columns = [Column(day=day, label=names[m.pk], membership_id=m.pk) for m in people]
    index_of = {m.pk: i for i, m in enumerate(people)}
    by_column: list[list[VisitTimes]] = [[] for _ in people]
    for visit in visits:
        for member_id in visit[3]:
            if member_id in index_of:
                by_column[index_of[member_id]].append(visit)
    return _laid_out(visits, columns, by_column, names)


@dataclass
class MonthCell:
    day: dt.date
    in_month: bool
    events: list[GridEvent] = field(default_factory=list)
    hidden: int = 0


MONTH_CELL_EVENTS = 3


def month_cells(
    *, viewer: Viewer | None, workspace: Workspace, month: dt.date, membership_id: int | None
) -> list[list[MonthCell]]:
    """The month's weeks (Monday first), each day with its first visits and how many more."""
    first = month.replace(day=1)
    start_day = first - dt.timedelta(days=first.weekday())
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    end_day = next_month + dt.timedelta(days=(7 - next_month.weekday()) % 7)
    time_zone = workspace.time_zone
    visits = _grid_rows(
        viewer,
        wall_time.day_bounds(start_day, time_zone)[0],
        wall_time.day_bounds(end_day, time_zone)[0],
        membership_id,
        time_zone,
    )
    cells = {
        start_day + dt.timedelta(days=i): MonthCell(
            day=start_day + dt.timedelta(days=i),
            in_month=(start_day + dt.timedelta(days=i)).month == first.month,
        )
        for i in range((end_day - start_day).days)
    }
    by_number = {_day_number(day): cell for day, cell in cells.items()}
    for pk, start_s, end_s, staff_ids in visits:
        cell = by_number.get(start_s // DAY)
        if cell is None:
            continue
        if len(cell.events) < MONTH_CELL_EVENTS:
            cell.events.append(GridEvent(pk=pk, start_s=start_s, end_s=end_s, staff_ids=staff_ids))
        else:
            cell.hidden += 1
    _fill_in([event for cell in cells.values() for event in cell.events], {})
    ordered = list(cells.values())
    return [ordered[i : i + 7] for i in range(0, len(ordered), 7)]


def agenda(
    *,
    viewer: Viewer | None,
    workspace: Workspace,
    start_day: dt.date,
    days: int,
    membership_id: int | None,
    limit: int = 200,
) -> list[tuple[dt.date, list[Booking]]]:
    """Every visit of the days (cancelled ones too), by day, with customer, job and staff."""
    time_zone = workspace.time_zone
    start = wall_time.day_bounds(start_day, time_zone)[0]
    end = wall_time.day_bounds(start_day + dt.timedelta(days=days - 1), time_zone)[1]
    bookings = list(
        _between(viewer, start, end, membership_id)
        .select_related("customer", "job")
        .prefetch_related(
            Prefetch("assignments", Assignment.objects.select_related("membership__user"))
        )
        .order_by("starts_at", "pk")[:limit]
    )
    by_day: dict[dt.date, list[Booking]] = defaultdict(list)
    for booking in bookings:
        by_day[wall_time.local(booking.starts_at, time_zone).date()].append(booking)
    return sorted(by_day.items())


@dataclass
class JobVisit:
    pk: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    location: str
    staff: list[str] = field(default_factory=list)
    upcoming: bool = False  # not over yet (_is_upcoming)

    def get_status_display(self) -> str:
        return BookingStatus(self.status).label


def job_visits(*, job: Job, viewer: Viewer | None, now: dt.datetime) -> list[JobVisit]:
    """Every visit of a job the viewer may see, soonest first (the job's Visits page)."""
    rows = (
        Booking.objects.visible_to(viewer)
        .filter(job_id=job.pk)
        .annotate(is_upcoming=_is_upcoming(now))
        .order_by("starts_at", "pk")
        .values_list(*_VISIT_COLUMNS, "is_upcoming")
    )
    return _with_staff([JobVisit(*columns, upcoming=bool(upcoming)) for *columns, upcoming in rows])


def _is_upcoming(now: dt.datetime) -> Case:
    """A visit is to come until it is over, whatever its status (a cancelled one keeps its
    place in time)."""
    return Case(When(ends_at__gt=now, then=Value(True)), default=Value(False))


def next_visit_pk(visits: list[JobVisit]) -> int | None:
    """The first visit to come that is still on (marked "Next" in the lists)."""
    return next((v.pk for v in visits if v.upcoming and v.status == BookingStatus.SCHEDULED), None)


# What the job page shows of a job's visits: the next few to come and the last few before,
# so that a course of 50 visits costs the page what one of 5 does; the rest are on the job's
# Visits page.
JOB_PAGE_UPCOMING = 5
JOB_PAGE_EARLIER = 3
_VISIT_COLUMNS = ("pk", "title", "starts_at", "ends_at", "status", "location")


@dataclass
class JobPageVisits:
    upcoming: list[JobVisit]
    earlier: list[JobVisit]  # the last few before the upcoming ones, in date order
    total: int

    @property
    def hidden(self) -> int:
        return self.total - len(self.upcoming) - len(self.earlier)

    @property
    def next_pk(self) -> int | None:
        return next_visit_pk(self.upcoming)


def job_page_visit_rows(*, job: Job, viewer: Viewer | None, now: dt.datetime) -> JobPageVisits:
    """The job page's visits in two queries whatever their number: the rows shown, with the
    count of all of them in each row, then the staff of the rows shown."""
    rows = _JOB_PAGE_VISITS.list(viewer=viewer, job_id=job.pk, now=now)
    visits = _with_staff(
        [JobVisit(*columns, upcoming=bool(upcoming)) for *columns, upcoming, _ in rows]
    )
    return JobPageVisits(
        upcoming=[visit for visit in visits if visit.upcoming],
        earlier=[visit for visit in visits if not visit.upcoming],
        total=rows[0][-1] if rows else 0,  # every row carries the count of all
    )


def _with_staff(visits: list[JobVisit]) -> list[JobVisit]:
    if visits:
        by_pk = {visit.pk: visit for visit in visits}
        rows = (
            Assignment.objects.filter(booking_id__in=list(by_pk))
            .order_by("booking_id", "membership_id")
            .values_list("booking_id", "membership__user__full_name", "membership__user__email")
        )
        for booking_id, full_name, email in rows:
            by_pk[booking_id].staff.append(full_name or email)
    return visits


def _job_page_visits_query(viewer: Viewer | None, job_id: int, now: dt.datetime) -> QuerySet[Any]:
    is_upcoming = _is_upcoming(now)
    return (
        Booking.objects.visible_to(viewer)
        .filter(job_id=job_id)
        .annotate(
            is_upcoming=is_upcoming,
            # Each visit's place on its side of now: soonest first to come, latest first before.
            soonest=Window(RowNumber(), partition_by=[is_upcoming], order_by=["starts_at", "pk"]),
            latest=Window(RowNumber(), partition_by=[is_upcoming], order_by=["-starts_at", "-pk"]),
            total=Window(Count("pk")),
        )
        .filter(
            Q(is_upcoming=True, soonest__lte=JOB_PAGE_UPCOMING)
            | Q(is_upcoming=False, latest__lte=JOB_PAGE_EARLIER)
        )
        .order_by("-is_upcoming", "starts_at", "pk")
        .values_list(*_VISIT_COLUMNS, "is_upcoming", "total")
    )


# The job page's read, compiled once (core/prepared.py).
_JOB_PAGE_VISITS = PreparedQuery(_job_page_visits_query, name="job page visits")


# A member's feed holds the visits of the last FEED_DAYS_BACK days and every one to come: a
# phone needs no older history, and the feed stays small enough to send every refresh.
FEED_DAYS_BACK = 90


def _feed_assignments(membership: Membership) -> QuerySet[Assignment]:
    cutoff = timezone.now() - dt.timedelta(days=FEED_DAYS_BACK)
    return Assignment.objects.filter(membership=membership, starts_at__gte=cutoff)


def staff_feed_bookings(*, membership: Membership) -> QuerySet[Booking]:
    """A member's own visits for their calendar feed (cancelled ones too: the phone must
    learn of the cancellation): the recent past and all to come."""
    return (
        Booking.objects.filter(
            pk__in=_feed_assignments(membership).values("booking_id"),
            workspace_id=membership.workspace_id,
        )
        .select_related("customer")
        .order_by("starts_at", "pk")
    )


def staff_feed_state(*, membership: Membership) -> tuple[object, ...]:
    """What the feed's ETag is made of, read from the member's assignments (their index):
    how many visits, the latest change to one, the highest revision, the latest change to
    one of their customers."""
    state = _feed_assignments(membership).aggregate(
        count=Count("pk"),
        changed=Max("booking__updated_at"),
        revision=Max("booking__sequence"),
        customers=Max("booking__customer__updated_at"),
    )
    return tuple(state.values())


def job_page_visits(job: Job, viewer: Viewer | None) -> JobPageSection | None:
    """The job page's Visits section, when the workspace books visits (jobs.hooks)."""
    if not job.workspace.module_bookings:
        return None
    return JobPageSection(
        template="bookings/_job_visits.html",
        context={"visits": job_page_visit_rows(job=job, viewer=viewer, now=timezone.now())},
    )


@dataclass
class CustomerVisits:
    upcoming: list[Booking]
    past: list[Booking]


def customer_visits(*, job: Job, viewer: Viewer | None) -> CustomerVisits:
    """A job's visits as its customer (or a preview of them) may see them: upcoming ones
    (scheduled, not yet ended) soonest first, then the rest, latest first."""
    visits = list(Booking.objects.visible_to(viewer).filter(job_id=job.pk).order_by("starts_at"))
    now = timezone.now()
    upcoming = [b for b in visits if b.is_scheduled and b.ends_at > now]
    past = [b for b in reversed(visits) if b not in upcoming]
    return CustomerVisits(upcoming=upcoming, past=past)


def portal_visits(*, user: object) -> QuerySet[Booking]:
    """Every visit on the person's jobs in the portal (Booking.objects.in_portal_of)."""
    return (
        Booking.objects.in_portal_of(user)
        .select_related("workspace", "job")
        .order_by("starts_at", "pk")
    )


def portal_visit(*, user: object, pk: int) -> Booking:
    booking = portal_visits(user=user).filter(pk=pk).first()
    if booking is None:
        raise Http404("No such visit.")
    return booking


def visible_visit_ids(job: Job, viewer: Viewer) -> set[int]:
    """The visits of a job the viewer may see (jobs.hooks.visible_visits): the feed's visit
    entries follow them."""
    return set(
        Booking.objects.visible_to(viewer).filter(job_id=job.pk).values_list("pk", flat=True)
    )


def my_visits_on(
    *, viewer: Viewer | None, membership: Membership, day: dt.date, time_zone: str
) -> list[Booking]:
    """The member's scheduled visits of a day (the workspace's wall time), in order."""
    start, end = wall_time.day_bounds(day, time_zone)
    return _MY_VISITS.list(
        viewer=viewer, membership_id=membership.pk, start=start, end=end,
        earliest=start - LONGEST_VISIT,
    )  # fmt: skip


def _my_visits_query(
    viewer: Viewer | None, membership_id: int, start: dt.datetime, end: dt.datetime,
    earliest: dt.datetime,
) -> QuerySet[Booking]:  # fmt: skip
    # The member's assignments carry their booking's times: the day is read from their
    # (membership, starts_at) index, not from every booking of the workspace.
    mine = Assignment.objects.filter(
        membership_id=membership_id, starts_at__lt=end, ends_at__gt=start,
        starts_at__gte=earliest,
    ).values("booking_id")  # fmt: skip
    return (
        Booking.objects.visible_to(viewer).filter(pk__in=mine, status=BookingStatus.SCHEDULED)
        .select_related("customer", "job")
        .only("title", "starts_at", "ends_at", "location", "status", "customer__name",
              "job__number", "job__title")
        .order_by("starts_at", "pk")[:20]
    )  # fmt: skip


# The dashboard's read, compiled once per shape of the viewer (core/prepared.py).
_MY_VISITS = PreparedQuery(_my_visits_query, name="my visits")
