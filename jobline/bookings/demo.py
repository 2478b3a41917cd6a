"""The demo workspace's visits: the next two weeks of the three demo staff, some on jobs and
some internal blocks, one pair that overlaps (booked anyway), some already completed, one
cancelled, a weekly series of progress checks on a renovation, and the beauty packages'
6-week and 12-week reviews. Times are on the business's wall clock (core/wall_time.py), so
they read as working hours whatever the season."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils import timezone

from jobline.accounts.models import User
from jobline.bookings.models import Booking, BookingStatus, Repeat
from jobline.bookings.services import booking_create, booking_series_create, booking_set_status
from jobline.core import wall_time
from jobline.jobs.models import Job
from jobline.workspaces.models import Membership, Workspace

LOCATIONS = ["On site", "Workshop, 4 Quay Street", "Customer's home", "Studio 2"]

# (days from today, hour, minute, minutes long, title, staff index, job pipeline or None)
PLAN = [
    (0, 9, 0, 90, "Kitchen wall survey", 0, "Trades renovation"),
    (0, 14, 0, 60, "Drop-off: cracked screen", 2, "Device repair"),
    (1, 8, 30, 120, "First fix: plumbing", 1, "Trades renovation"),
    (1, 13, 0, 45, "Initial consultation", 2, "Legal matter"),
    (2, 10, 0, 60, "Brow mapping and first session", 2, "Beauty treatment package"),
    (3, 9, 0, 240, "Bathroom install day", 0, "Trades renovation"),
    (3, 15, 0, 60, "Van service", 1, None),
    (4, 11, 0, 30, "Pickup: battery replaced", 2, "Device repair"),
    (6, 10, 0, 60, "Quote visit: café refit", 0, "Standard service"),
    (7, 9, 30, 90, "Tiling", 1, "Trades renovation"),
    (8, 13, 0, 60, "Document review meeting", 0, "Legal matter"),
    (9, 10, 0, 45, "Touch-up appointment", 2, "Beauty treatment package"),
    (10, 8, 0, 180, "Second fix: electrics", 1, "Trades renovation"),
    (11, 14, 0, 60, "Team training", 0, None),
    (13, 9, 0, 60, "Snagging walk-round", 0, "Trades renovation"),
]


def _at(day: dt.date, hour: int, minute: int, time_zone: str) -> dt.datetime:
    return wall_time.instant_on(day, dt.time(hour, minute), time_zone)


def add_demo_bookings(*, workspace: Workspace, staff: Sequence[User]) -> int:
    """Switch Bookings on and add the demo's visits, unless the workspace has some already."""
    if not workspace.module_bookings:
        workspace.module_bookings = True
        workspace.save(update_fields=["module_bookings"])
    if Booking.objects.filter(workspace=workspace).exists():
        return 0
    members = [Membership.objects.get(workspace=workspace, user=user) for user in staff]
    time_zone = workspace.time_zone
    today = timezone.localdate(timezone=wall_time.zone(time_zone))
    open_jobs = {
        name: list(
            Job.objects.filter(
                workspace=workspace,
                pipeline__name=name,
                closed_at__isnull=True,
                archived_at__isnull=True,
            )
            .select_related("customer")
            .order_by("number")
        )
        for name in {p for *_rest, p in PLAN if p}
    }
    used: dict[str, int] = {}
    created = 0
    for days, hour, minute, minutes, title, who, pipeline in PLAN:
        start = _at(today + dt.timedelta(days=days), hour, minute, time_zone)
        job = None
        if pipeline and open_jobs.get(pipeline):
            jobs = open_jobs[pipeline]
            job = jobs[used.get(pipeline, 0) % len(jobs)]
            used[pipeline] = used.get(pipeline, 0) + 1
        booking_create.step(
            workspace=workspace, actor=staff[0], title=title, starts_at=start,
            ends_at=start + dt.timedelta(minutes=minutes), staff=[members[who]], job=job,
            location=LOCATIONS[created % len(LOCATIONS)] if job else "",
            customer_notes="Please make sure we can get parking nearby." if days == 3 else "",
            internal_notes="Bring the spare key from the office." if who == 0 else "",
        )  # fmt: skip
        created += 1

    # One pair that overlaps: Sam is double-booked on purpose, and it says so.
    clash = _at(today + dt.timedelta(days=2), 10, 30, time_zone)
    booking_create.step(
        workspace=workspace, actor=staff[0], title="Phone collection (squeezed in)",
        starts_at=clash, ends_at=clash + dt.timedelta(minutes=30), staff=[members[2]],
        book_anyway=True,
    )  # fmt: skip
    created += 1

    # Visits of the last few days, done; and one cancelled with its reason.
    for days_ago, title, who in ((3, "Boiler check", 1), (2, "Screen replacement", 2),
                                 (1, "Site measure-up", 0)):  # fmt: skip
        start = _at(today - dt.timedelta(days=days_ago), 10, 0, time_zone)
        done = booking_create.step(
            workspace=workspace, actor=staff[0], title=title, starts_at=start,
            ends_at=start + dt.timedelta(hours=1), staff=[members[who]],
            at=start - dt.timedelta(days=7),
        )  # fmt: skip
        booking_set_status.step(
            booking=done, actor=staff[who], status=BookingStatus.COMPLETED,
            at=start + dt.timedelta(hours=1),
        )  # fmt: skip
        created += 1
    start = _at(today + dt.timedelta(days=5), 16, 0, time_zone)
    cancelled = booking_create.step(
        workspace=workspace, actor=staff[0], title="Evening consultation", starts_at=start,
        ends_at=start + dt.timedelta(hours=1), staff=[members[0]],
    )  # fmt: skip
    booking_set_status.step(
        booking=cancelled, actor=staff[0], status=BookingStatus.CANCELLED,
        reason="Customer asked to rebook after the holidays.",
    )  # fmt: skip
    created += 1

    # The portal customer's jobs each have a visit coming up (the portal shows them).
    portal_jobs = Job.objects.filter(
        workspace=workspace, customer__portal_user__isnull=False, archived_at__isnull=True
    ).order_by("number")
    for index, job in enumerate(portal_jobs):
        start = _at(today + dt.timedelta(days=4 + index), 12, 0, time_zone)
        booking_create.step(
            workspace=workspace, actor=staff[0], title=f"Visit: {job.title}", starts_at=start,
            ends_at=start + dt.timedelta(hours=1), staff=[members[-1]], job=job,
            location="Your home", customer_notes="We will text you when we are on our way.",
            internal_notes="Customer prefers texts before 9am.", book_anyway=True,
        )  # fmt: skip
        created += 1

    # A repeating series: the renovation's weekly progress check, six Fridays at 16:00.
    renovations = open_jobs.get("Trades renovation", [])
    if renovations:
        friday = today + dt.timedelta(days=(4 - today.weekday()) % 7 or 7)
        start = _at(friday, 16, 0, time_zone)
        created += len(
            booking_series_create.step(
                workspace=workspace, actor=staff[0], repeat=Repeat.WEEKLY, count=6,
                title="Weekly progress check", starts_at=start,
                ends_at=start + dt.timedelta(minutes=30), staff=[members[0]],
                job=renovations[0], location="On site", book_anyway=True,
            )
        )  # fmt: skip

    # The beauty packages: each one's 6-week review and 12-week check-in, booked from its
    # first session at the same time of day (wall-clock weeks, across any clock change).
    for index, job in enumerate(open_jobs.get("Beauty treatment package", [])[:3]):
        first = _at(today + dt.timedelta(days=1 + index), 11, 0, time_zone)
        for weeks, title in ((6, "6-week review"), (12, "12-week check-in")):
            start = wall_time.add_weeks(first, weeks, time_zone)
            booking_create.step(
                workspace=workspace, actor=staff[0], title=title, starts_at=start,
                ends_at=start + dt.timedelta(minutes=45), staff=[members[2]], job=job,
                location="Studio 2", book_anyway=True,
            )  # fmt: skip
            created += 1
    return created
