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

from django.db.models import Count, Max, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from jobline.bookings.models import Assignment, Booking, BookingEvent, BookingStatus
from jobline.core import wall_time
from jobline.jobs.hooks import JobPageSection
from jobline.jobs.models import Job
from jobline.workspaces.models import Membership, Workspace
from jobline.workspaces.viewers import Viewer

MAX_LANES = 4
DEFAULT_HOURS = (7, 19)
QUARTER = 15


@dataclass
class GridEvent:
    pk: int
    title: str
    starts_at: dt.datetime  # on the business's clock
    ends_at: dt.datetime
    status: str
    customer: str
    job_number: int | None
    staff: list[str]
    overlap: bool
    row: int = 1
    span: int = 1
    lane: int = 1


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
        .select_related("customer", "job", "workspace", "created_by")
        .prefetch_related(
            Prefetch("assignments", Assignment.objects.select_related("membership__user"))
        )
        .filter(pk=pk)
        .first()
    )
    if booking is None:
        raise Http404("No such visit.")
    return booking


def history(booking: Booking, *, limit: int = 100) -> list[BookingEvent]:
    return list(
        BookingEvent.objects.filter(booking=booking)
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


def _between(
    viewer: Viewer | None, start: dt.datetime, end: dt.datetime, membership_id: int | None
) -> QuerySet[Booking]:
    rows = Booking.objects.visible_to(viewer).filter(starts_at__lt=end, ends_at__gt=start)
    if membership_id is not None:
        rows = rows.filter(assignments__membership_id=membership_id)
    return rows


def _grid_rows(
    viewer: Viewer | None,
    start: dt.datetime,
    end: dt.datetime,
    membership_id: int | None,
    time_zone: str,
) -> tuple[list[GridEvent], dict[int, list[int]]]:
    """The scheduled and finished visits of the range (cancelled ones are in the agenda), as
    plain rows, and each one's staff (membership ids)."""
    rows = (
        _between(viewer, start, end, membership_id)
        .exclude(status=BookingStatus.CANCELLED)
        .order_by("starts_at", "pk")
        .values_list(
            "pk", "title", "starts_at", "ends_at", "status", "customer__name", "job__number",
            "overlap_allowed",
        )
    )  # fmt: skip
    events = [
        GridEvent(
            pk=pk,
            title=title,
            starts_at=wall_time.local(s, time_zone),
            ends_at=wall_time.local(e, time_zone),
            status=status,
            customer=customer or "",
            job_number=number,
            staff=[],
            overlap=overlap,
        )
        for pk, title, s, e, status, customer, number, overlap in rows
    ]
    staff: dict[int, list[int]] = defaultdict(list)
    if events:
        assignments = (
            Assignment.objects.filter(booking__in=_between(viewer, start, end, membership_id))
            .values_list("booking_id", "membership_id")
            .order_by("membership_id")
        )
        for booking_id, member_id in assignments:
            staff[booking_id].append(member_id)
    return events, staff


def _hours(events: list[GridEvent]) -> tuple[int, int]:
    first, last = DEFAULT_HOURS
    for event in events:
        first = min(first, event.starts_at.hour)
        if event.ends_at.date() > event.starts_at.date():
            last = 24
        else:
            last = max(last, event.ends_at.hour + (1 if event.ends_at.minute else 0))
    return first, min(last, 24)


def _lay_out(column: Column, first_hour: int, rows: int) -> None:
    """Rows and lanes of a column's events (sorted by start)."""
    lane_ends: list[dt.datetime] = []
    shown = []
    for event in column.events:
        day_start = event.starts_at.replace(hour=first_hour, minute=0, second=0, microsecond=0)
        minutes_in = max(0, int((event.starts_at - day_start).total_seconds() // 60))
        event.row = min(rows, minutes_in // QUARTER + 1)
        length = max(QUARTER, int((event.ends_at - event.starts_at).total_seconds() // 60))
        event.span = max(1, min(math.ceil(length / QUARTER), rows - event.row + 1))
        lane = next((i for i, end in enumerate(lane_ends) if end <= event.starts_at), None)
        if lane is None and len(lane_ends) < MAX_LANES:
            lane_ends.append(event.ends_at)
            lane = len(lane_ends) - 1
        elif lane is not None:
            lane_ends[lane] = event.ends_at
        if lane is None:
            column.hidden += 1
            continue
        event.lane = lane + 1
        shown.append(event)
    column.events = shown
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
    events, staff = _grid_rows(viewer, start, end, membership_id, time_zone)
    names = {m.pk: m.user.full_name or m.user.email for m in people}
    columns = {day: Column(day=day, label=f"{day:%a} {day.day}") for day in days}
    for event in events:
        event.staff = [names.get(i, "") for i in staff.get(event.pk, [])]
        column = columns.get(event.starts_at.date()) or (
            columns[days[0]] if event.starts_at.date() < days[0] else None
        )
        if column is not None:
            column.events.append(event)
    first, last = _hours(events)
    grid = Grid(first_hour=first, last_hour=last, columns=list(columns.values()))
    for column in grid.columns:
        _lay_out(column, first, grid.rows)
    return grid


def day_grid(
    *, viewer: Viewer | None, workspace: Workspace, day: dt.date, people: list[Membership]
) -> Grid:
    """One day for everyone: a column per staff member (a visit of two people is in both)."""
    time_zone = workspace.time_zone
    start, end = wall_time.day_bounds(day, time_zone)
    events, staff = _grid_rows(viewer, start, end, None, time_zone)
    names = {m.pk: m.user.full_name or m.user.email for m in people}
    columns = {m.pk: Column(day=day, label=names[m.pk], membership_id=m.pk) for m in people}
    for event in events:
        event.staff = [names.get(i, "") for i in staff.get(event.pk, [])]
        for member_id in staff.get(event.pk, []):
            if member_id in columns:
                columns[member_id].events.append(
                    GridEvent(**{**event.__dict__, "staff": event.staff})
                )
    first, last = _hours(events)
    grid = Grid(first_hour=first, last_hour=last, columns=list(columns.values()))
    for column in grid.columns:
        _lay_out(column, first, grid.rows)
    return grid


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
    events, _staff = _grid_rows(
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
    for event in events:
        cell = cells.get(event.starts_at.date())
        if cell is None:
            continue
        if len(cell.events) < MONTH_CELL_EVENTS:
            cell.events.append(event)
        else:
            cell.hidden += 1
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


def job_visits(*, job: Job, viewer: Viewer | None) -> list[Booking]:
    """A job's visits for its page, soonest first: one query for the visits, one for staff."""
    return list(
        Booking.objects.visible_to(viewer)
        .filter(job_id=job.pk)
        .prefetch_related(
            Prefetch(
                "assignments",
                Assignment.objects.select_related("membership__user").only(
                    "booking_id", "membership__user__full_name", "membership__user__email"
                ),
            )
        )
        .order_by("starts_at", "pk")
    )


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
        context={"visits": job_visits(job=job, viewer=viewer)},
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
