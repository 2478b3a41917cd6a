"""The bookings of Bench Co (issue 11): its Bookings module on, and ~25,000 visits written in
bulk, in a transaction of their own, after the jobs (bench/generate.py calls ``generate`` at
the end of a full generation; ``python -m bench`` calls it alone when the 100k jobs are there
and the bookings are not). Import only after ``django.setup()``.

- **The bench week** (the first Monday 7 or more days after generation, Monday to Sunday):
  ``bench.WEEK_BOOKINGS`` (2,000) scheduled visits, the same number for each of the 25 members
  (80: 45-minute slots from 07:00, 12 a day, 80 of a week's 84 drawn at random).
- **The visits job** (``bench.VISITS_JOB_NUMBER``): ``bench.VISITS_JOB_VISITS`` (50) weekly
  visits on Thursdays at 09:15, four fifths in the weeks before the bench week (40), a fifth
  in the weeks after it (10), every fifth with two staff. The job's feed has their "visit
  booked" entries and the completed / cancelled / no-show ones; its ``version`` and
  ``last_activity_at`` follow them, and ``next_visit_at`` is its first scheduled visit that
  has not ended.
- **The feed member** (``bench.FEED_MEMBER_EMAIL``, a Staff member):
  ``bench.FEED_MEMBER_BOOKINGS`` (5,000) visits in all: the bench week's 80 and the rest on
  the days from 400 before generation to 180 after, and a calendar feed made by
  ``calendar_feed_renew``.
- **Everyone else**: 4 visits a weekday in the 26 weeks before the bench week and the 12
  after it (the bench week itself has only its 80 per member).

Every visit is in one member's free slot (none overlaps another of the same member), so
``overlap_allowed`` is off and ``blocks_time`` is on exactly for the scheduled ones, as the
services leave them (the PostgreSQL exclusion constraint of migration 0002 holds). Visits that
ended before generation are completed (90 %), cancelled (6 %, with a reason) or no-shows
(4 %); later ones are scheduled (3 % cancelled), the bench week's all scheduled. 97 % are for
a customer (the visits job's: the job's), the rest internal blocks. Every booking has its
"booked" history entry, and its status change's. Only the visits job's visits are on a job:
no other job's feed or next visit changes.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Count, Max
from django.db.models.functions import TruncWeek
from django.utils import timezone

import bench
from jobline.bookings.models import (
    Assignment,
    Booking,
    BookingEvent,
    BookingEventKind,
    BookingStatus,
    CalendarFeed,
)
from jobline.bookings.services import calendar_feed_renew, next_visit_of
from jobline.core import wall_time
from jobline.jobs import activity
from jobline.jobs.models import Activity, ActorKind, Job, Visibility
from jobline.workspaces.models import Membership, Workspace
from jobline.workspaces.services import workspace_update_settings

SEED = 20_261_111
SLOT_MINUTES = 45
FIRST_SLOT = dt.time(7, 0)
SLOTS_PER_DAY = 12  # 07:00 to 16:00
# Everyone else's visits around the bench week (tests shrink these).
OTHERS_PER_WEEKDAY = 4
OTHERS_WEEKS_BEFORE = 26
OTHERS_WEEKS_AFTER = 12
# The feed member's days, around generation.
FEED_DAYS_BEFORE = 400
FEED_DAYS_AFTER = 180
# The visits job: weekly, on this weekday and slot.
VISITS_WEEKDAY = 3  # Thursday
VISITS_SLOT = 3  # 09:15

TITLES = (
    "Boiler service", "Site survey", "Quote visit", "First fix", "Second fix", "Snagging",
    "Annual inspection", "Leak repair", "Consultation", "Follow-up visit", "Installation",
    "Measure up", "Fitting", "Handover", "Maintenance visit", "Callout",
)  # fmt: skip
BLOCK_TITLES = ("Van service", "Training", "Stock run", "Team meeting")
STREETS = (
    "High Street", "Station Road", "Church Lane", "Mill Road", "Park Avenue", "Victoria Road",
    "Queen Street", "The Crescent", "Orchard Close", "Bridge Street",
)  # fmt: skip
CUSTOMER_NOTES = ("", "", "", "Please ring the bell twice.", "Parking on the drive.",
                  "Side gate is open.", "Dog in the garden.")  # fmt: skip
INTERNAL_NOTES = ("", "", "", "Bring the long ladder.", "Key safe 4471.",
                  "Parts on the van.", "Customer prefers mornings.")  # fmt: skip
CANCEL_REASONS = ("Customer asked to rearrange", "Parts not in yet", "Weather")

BOOKING_COLUMNS = (
    "id", "workspace_id", "job_id", "customer_id", "title", "location", "customer_notes",
    "internal_notes", "starts_at", "ends_at", "status", "cancel_reason", "overlap_allowed",
    "uid", "sequence", "version", "reminded_for", "created_by_id", "created_at", "updated_at",
    "series_id",
)  # fmt: skip
ASSIGNMENT_COLUMNS = ("id", "booking_id", "membership_id", "starts_at", "ends_at", "blocks_time")
EVENT_COLUMNS = ("id", "booking_id", "kind", "actor_id", "detail", "created_at")

STATUS_EVENTS = {
    BookingStatus.COMPLETED: (BookingEventKind.COMPLETED, activity.VisitCompleted),
    BookingStatus.CANCELLED: (BookingEventKind.CANCELLED, activity.VisitCancelled),
    BookingStatus.NO_SHOW: (BookingEventKind.NO_SHOW, activity.VisitNoShow),
}


def check_columns() -> None:
    from bench.generate import check_columns as check

    check(Booking, BOOKING_COLUMNS)
    check(Assignment, ASSIGNMENT_COLUMNS)
    check(BookingEvent, EVENT_COLUMNS)


# ----------------------------------------------------------------------------- status


def bench_week(workspace: Workspace) -> tuple[dt.date | None, int]:
    """The Monday of the week (on the workspace's clock) with the most bookings, and how many
    it has: the bench week, as the board's busiest column is found."""
    busiest = (
        Booking.objects.filter(workspace=workspace)
        .annotate(week=TruncWeek("starts_at", tzinfo=wall_time.zone(workspace.time_zone)))
        .values("week")
        .annotate(n=Count("pk"))
        .order_by("-n", "week")
        .first()
    )
    if busiest is None:
        return None, 0
    week = busiest["week"]
    monday = week.date() if isinstance(week, dt.datetime) else week
    return monday, busiest["n"]


def feed_membership(workspace: Workspace) -> Membership | None:
    return (
        Membership.objects.filter(workspace=workspace, user__email=bench.FEED_MEMBER_EMAIL)
        .select_related("user", "workspace")
        .first()
    )


def status(workspace: Workspace) -> dict[str, Any]:
    """What of the bookings is there (bench/generate.py's workspace_status adds it)."""
    bookings = Booking.objects.filter(workspace=workspace).count()
    if not bookings:
        return {"bookings": 0, "module_bookings": workspace.module_bookings}
    member = feed_membership(workspace)
    monday, week_bookings = bench_week(workspace)
    return {
        "bookings": bookings,
        "module_bookings": workspace.module_bookings,
        "week": monday,
        "week_bookings": week_bookings,
        "visits_job_visits": Booking.objects.filter(
            workspace=workspace, job__number=bench.VISITS_JOB_NUMBER
        ).count(),
        "feed_member_bookings": (
            Assignment.objects.filter(membership=member).count() if member else 0
        ),
        "feed": bool(member and CalendarFeed.objects.filter(membership=member).exists()),
    }


def is_complete(status: dict[str, Any]) -> bool:
    return (
        status.get("bookings", 0) > 0
        and status["module_bookings"]
        and status["week_bookings"] == bench.WEEK_BOOKINGS
        and status["visits_job_visits"] == bench.VISITS_JOB_VISITS
        and status["feed_member_bookings"] == bench.FEED_MEMBER_BOOKINGS
        and status["feed"]
    )


def describe(status: dict[str, Any]) -> str:
    if not status.get("bookings"):
        return "no bookings"
    return (
        f"{status['bookings']:,} bookings (week of {status['week']}: "
        f"{status['week_bookings']:,}; J-{bench.VISITS_JOB_NUMBER}: "
        f"{status['visits_job_visits']} visits; {bench.FEED_MEMBER_EMAIL}: "
        f"{status['feed_member_bookings']:,})"
    )


# ----------------------------------------------------------------------------- the plan


@dataclass
class Visit:
    day: dt.date
    slot: int
    members: list[int]  # membership ids
    week: bool = False
    on_job: bool = False


@dataclass
class Calendar:
    """Who is booked when: (membership id, day) → the slots taken."""

    taken: dict[tuple[int, dt.date], set[int]] = field(default_factory=dict)
    visits: list[Visit] = field(default_factory=list)

    def free(self, member: int, day: dt.date, slot: int) -> bool:
        return slot not in self.taken.get((member, day), ())

    def book(self, visit: Visit) -> None:
        for member in visit.members:
            slots = self.taken.setdefault((member, visit.day), set())
            assert visit.slot not in slots, (member, visit.day, visit.slot)
            slots.add(visit.slot)
        self.visits.append(visit)


def first_bench_monday(today: dt.date) -> dt.date:
    """The first Monday 7 or more days after ``today``."""
    day = today + dt.timedelta(days=7)
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)


def plan(*, members: list[int], feed_member: int, today: dt.date, rng: random.Random) -> Calendar:
    calendar = Calendar()
    monday = first_bench_monday(today)
    week = [monday + dt.timedelta(days=i) for i in range(7)]
    week_slots = [(day, slot) for day in week for slot in range(SLOTS_PER_DAY)]
    per_member, extra = divmod(bench.WEEK_BOOKINGS, len(members))
    if extra or per_member > len(week_slots):
        raise SystemExit(
            f"bench: {bench.WEEK_BOOKINGS} bookings cannot be shared evenly by "
            f"{len(members)} members in {len(week_slots)} slots"
        )
    for member in members:
        for day, slot in sorted(rng.sample(week_slots, per_member)):
            calendar.book(Visit(day=day, slot=slot, members=[member], week=True))
    # The visits job: weekly, never in the bench week, by two or three of the others.
    crew = [m for m in members if m != feed_member][:3]
    after = bench.VISITS_JOB_VISITS // 5
    before = bench.VISITS_JOB_VISITS - after
    offsets = [*range(-before, 0), *range(1, after + 1)]
    for index, weeks in enumerate(offsets):
        day = monday + dt.timedelta(weeks=weeks, days=VISITS_WEEKDAY)
        staff = [crew[index % 2], crew[2]] if index % 5 == 4 else [crew[index % 2]]
        calendar.book(Visit(day=day, slot=VISITS_SLOT, members=staff, on_job=True))
    # The feed member: the rest of their bookings around generation, outside the bench week.
    days = [
        today + dt.timedelta(days=offset)
        for offset in range(-FEED_DAYS_BEFORE, FEED_DAYS_AFTER + 1)
        if not monday <= today + dt.timedelta(days=offset) < monday + dt.timedelta(days=7)
    ]
    free = [
        (day, slot)
        for day in days
        for slot in range(SLOTS_PER_DAY)
        if calendar.free(feed_member, day, slot)
    ]
    rest = bench.FEED_MEMBER_BOOKINGS - per_member
    for day, slot in sorted(rng.sample(free, rest)):
        calendar.book(Visit(day=day, slot=slot, members=[feed_member]))
    # Everyone else: a few visits a weekday around the bench week.
    for member in members:
        if member == feed_member:
            continue
        for weeks in range(-OTHERS_WEEKS_BEFORE, OTHERS_WEEKS_AFTER + 1):
            if weeks == 0:
                continue
            for weekday in range(5):
                day = monday + dt.timedelta(weeks=weeks, days=weekday)
                slots = [s for s in range(SLOTS_PER_DAY) if calendar.free(member, day, s)]
                for slot in sorted(rng.sample(slots, min(OTHERS_PER_WEEKDAY, len(slots)))):
                    calendar.book(Visit(day=day, slot=slot, members=[member]))
    return calendar


# ----------------------------------------------------------------------------- rows


class BookingRows:
    def __init__(
        self,
        *,
        writer: Any,
        workspace: Workspace,
        admin_id: int,
        names: dict[int, str],
        customers: list[int],
        job: dict[str, Any],
        now: dt.datetime,
        rng: random.Random,
    ) -> None:
        self.writer = writer
        self.workspace = workspace
        self.admin_id = admin_id
        self.names = names
        self.customers = customers
        self.job = job
        self.now = now
        self.rng = rng
        self.booking_id = (Booking.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        self.assignment_id = (Assignment.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        self.event_id = (BookingEvent.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        self.activity_id = (Activity.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        self.bookings: list[tuple] = []
        self.assignments: list[tuple] = []
        self.events: list[tuple] = []
        self.activities: list[tuple] = []
        self.job_entries: list[dt.datetime] = []

    def flush(self) -> None:
        self.writer.write(Booking, BOOKING_COLUMNS, self.bookings)
        self.writer.write(Assignment, ASSIGNMENT_COLUMNS, self.assignments)
        self.writer.write(BookingEvent, EVENT_COLUMNS, self.events)
        self.writer.write(Activity, _activity_columns(), self.activities)
        self.bookings, self.assignments, self.events, self.activities = [], [], [], []

    def _status(self, visit: Visit, ends_at: dt.datetime) -> str:
        roll = self.rng.random()
        if visit.week:
            return BookingStatus.SCHEDULED
        if ends_at <= self.now:
            if roll < 0.90:
                return BookingStatus.COMPLETED
            return BookingStatus.CANCELLED if roll < 0.96 else BookingStatus.NO_SHOW
        return BookingStatus.CANCELLED if roll < 0.03 else BookingStatus.SCHEDULED

    def add(self, visit: Visit) -> None:
        rng, w, time_zone = self.rng, self.writer, self.workspace.time_zone
        wall = dt.datetime.combine(visit.day, FIRST_SLOT) + dt.timedelta(
            minutes=SLOT_MINUTES * visit.slot
        )
        starts_at = wall_time.instant_at(wall, time_zone)
        ends_at = wall_time.instant_at(wall + dt.timedelta(minutes=SLOT_MINUTES), time_zone)
        status = self._status(visit, ends_at)
        if visit.on_job:
            customer_id, title = self.job["customer_id"], self.job["title"]
        elif rng.random() < 0.97:
            customer_id, title = rng.choice(self.customers), rng.choice(TITLES)
        else:
            customer_id, title = None, rng.choice(BLOCK_TITLES)
        location = (
            f"{rng.randrange(1, 200)} {rng.choice(STREETS)}" if customer_id is not None else ""
        )
        created = min(
            starts_at - dt.timedelta(days=rng.uniform(1, 30)),
            self.now - dt.timedelta(minutes=rng.uniform(5, 600)),
        )
        changed = created
        reason = ""
        if status == BookingStatus.CANCELLED:
            reason = rng.choice(CANCEL_REASONS)
            changed = created + (min(starts_at, self.now) - created) * rng.random()
        elif status != BookingStatus.SCHEDULED:
            changed = ends_at + dt.timedelta(minutes=rng.uniform(1, 120))
            changed = min(changed, self.now)
        touched = status != BookingStatus.SCHEDULED
        booking_id = self.booking_id
        self.booking_id += 1
        self.bookings.append(
            (
                booking_id, self.workspace.pk, self.job["id"] if visit.on_job else None,
                customer_id, title, location, rng.choice(CUSTOMER_NOTES),
                rng.choice(INTERNAL_NOTES), w.ts(starts_at), w.ts(ends_at), status, reason,
                False, w.uuid(uuid.UUID(int=rng.getrandbits(128), version=4)),
                1 if touched else 0, 2 if touched else 1, None, self.admin_id, w.ts(created),
                w.ts(changed), None,
            )
        )  # fmt: skip
        blocks = status == BookingStatus.SCHEDULED
        for member in visit.members:
            self.assignments.append(
                (self.assignment_id, booking_id, member, w.ts(starts_at), w.ts(ends_at), blocks)
            )
            self.assignment_id += 1
        names = ", ".join(self.names[m] for m in visit.members)
        span = wall_time.span_words(starts_at, ends_at, time_zone)
        self._event(booking_id, BookingEventKind.BOOKED, f"{span} · {names}", created)
        if touched:
            kind, payload_class = STATUS_EVENTS[BookingStatus(status)]
            self._event(booking_id, kind, reason, changed)
        if visit.on_job:
            fields = {"booking_id": booking_id, "title": title, "location": location,
                      "starts_at": starts_at, "ends_at": ends_at}  # fmt: skip
            self._job_entry(activity.VisitBooked(**fields), created, customer_id)
            if touched:
                self._job_entry(payload_class(**fields, reason=reason), changed, customer_id)

    def _event(self, booking_id: int, kind: str, detail: str, at: dt.datetime) -> None:
        self.events.append(
            (self.event_id, booking_id, kind, self.admin_id, detail[:500], self.writer.ts(at))
        )
        self.event_id += 1

    def _job_entry(
        self, payload: activity.Payload, at: dt.datetime, customer_id: int | None
    ) -> None:
        """As services._tell_job logs it: customer-visible when the visit is for the job's
        customer."""
        for_customer = customer_id is not None and customer_id == self.job["customer_id"]
        self.activities.append(
            (
                self.activity_id, self.workspace.pk, self.job["id"], payload.KIND,
                self.admin_id, ActorKind.STAFF,
                Visibility.CUSTOMER if for_customer else Visibility.INTERNAL,
                None, None, None, json.dumps(payload.to_data()), self.writer.ts(at),
            )
        )  # fmt: skip
        self.activity_id += 1
        self.job_entries.append(at)


def _activity_columns() -> tuple[str, ...]:
    from bench.generate import ACTIVITY_COLUMNS

    return ACTIVITY_COLUMNS


def _finish(say: Callable[[str], None]) -> None:
    tables = [m._meta.db_table for m in (Booking, Assignment, BookingEvent, Job, Activity)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            models = [Booking, Assignment, BookingEvent, Activity]
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)
            say("VACUUM ANALYZE of the bookings tables")
            for table in tables:
                cursor.execute(f'VACUUM ANALYZE "{table}"')
        else:
            say("ANALYZE of the bookings tables")
            for table in tables:
                cursor.execute(f'ANALYZE "{table}"')
            cursor.execute("PRAGMA optimize")


def generate(*, say: Callable[[str], None] | None = None, chunk: int = 5_000) -> float:
    """The bookings of the existing Bench Co workspace (its jobs already written); returns
    the seconds it took. Refuses when the workspace already has bookings."""
    from bench.generate import RowWriter, _progress

    check_columns()
    say = say or _progress(f"{connection.vendor} bookings")
    started = timezone.now()
    rng = random.Random(SEED)
    workspace = Workspace.objects.get(name=bench.WORKSPACE_NAME)
    if Booking.objects.filter(workspace=workspace).exists():
        raise SystemExit(f"bench: {workspace} already has bookings; run with BENCH_RESET=1")
    admin = Membership.objects.select_related("user").get(
        workspace=workspace, user__email=bench.ADMIN_EMAIL
    )
    memberships = list(
        Membership.objects.filter(workspace=workspace).select_related("user").order_by("pk")
    )
    feed_member = next(m for m in memberships if m.user.email == bench.FEED_MEMBER_EMAIL)
    job = (
        Job.objects.filter(workspace=workspace, number=bench.VISITS_JOB_NUMBER)
        .values("id", "title", "customer_id", "version", "last_activity_at")
        .get()
    )
    customers = list(
        workspace.customers.filter(archived_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    now = timezone.now()
    today = wall_time.local(now, workspace.time_zone).date()
    calendar = plan(
        members=[m.pk for m in memberships], feed_member=feed_member.pk, today=today, rng=rng
    )
    writer = RowWriter()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = OFF")
    with transaction.atomic():
        workspace_update_settings.step(
            workspace=workspace, actor=admin.user, changes={"module_bookings": True}
        )
        rows = BookingRows(
            writer=writer,
            workspace=workspace,
            admin_id=admin.user_id,
            names={m.pk: m.user.full_name for m in memberships},
            customers=customers,
            job=job,
            now=now,
            rng=rng,
        )
        for index, visit in enumerate(calendar.visits):
            rows.add(visit)
            if (index + 1) % chunk == 0:
                rows.flush()
        rows.flush()
        # The visits job, as the services leave it: its feed entries counted in its version,
        # its newest entry its last activity, its next visit the first not yet ended.
        last = max([job["last_activity_at"], *rows.job_entries])
        Job.objects.filter(pk=job["id"]).update(
            version=job["version"] + len(rows.job_entries),
            last_activity_at=last,
            next_visit_at=next_visit_of(job["id"], now=now),
        )
        calendar_feed_renew.step(membership=feed_member, actor=feed_member.user)
        say(f"{len(calendar.visits):,} bookings, {writer.rows_written:,} rows; committing")
    _finish(say)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = FULL")
    elapsed = (timezone.now() - started).total_seconds()
    say(f"done in {elapsed:.0f}s")
    return elapsed
