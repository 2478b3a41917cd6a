"""What the follow-up pages read, through FollowUp.objects.visible_to, with a fixed number of
queries."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse

from jobline.bookings.models import Booking, BookingStatus
from jobline.core import wall_time
from jobline.core.prepared import PreparedQuery
from jobline.followups.models import OPEN_STATUSES, FollowUp, FollowUpRule
from jobline.jobs.hooks import JobPageSection
from jobline.jobs.models import Job
from jobline.pipelines.models import Stage
from jobline.workspaces.viewers import Viewer

# A visit that happened or will happen counts; a cancelled one or a no-show does not.
BOOKED_STATUSES = (BookingStatus.SCHEDULED, BookingStatus.COMPLETED)


def _booked() -> Exists:
    return Exists(
        Booking.objects.filter(
            job_id=OuterRef("job_id"),
            status__in=BOOKED_STATUSES,
            starts_at__gte=OuterRef("window_starts_at"),
            starts_at__lte=OuterRef("window_ends_at"),
        )
    )


def is_booked(follow_up: FollowUp) -> bool:
    """A visit on its job inside its window: it counts as booked."""
    return Booking.objects.filter(
        job_id=follow_up.job_id,
        status__in=BOOKED_STATUSES,
        starts_at__gte=follow_up.window_starts_at,
        starts_at__lte=follow_up.window_ends_at,
    ).exists()


def _open(viewer: Viewer | None) -> QuerySet[FollowUp]:
    return (
        FollowUp.objects.visible_to(viewer)
        .filter(status__in=OPEN_STATUSES)
        .annotate(booked=_booked())
    )


def book_url(follow_up: FollowUp, time_zone: str, today: dt.date) -> str:
    """The booking form, filled in for the follow-up: its job, its name, the first day of its
    window still to come, at 09:00."""
    first = max(wall_time.local(follow_up.window_starts_at, time_zone).date(), today)
    return (
        f"{reverse('bookings:create')}?job={follow_up.job.number}"
        f"&start={first.isoformat()}T09:00&title={follow_up.label}"
    )


# Compiled once per shape of the viewer (core/prepared.py): every job page asks, and building
# the booked-visit subquery cost more than answering it.
_JOB_PAGE_ROWS = PreparedQuery(
    lambda viewer, job_id: (
        _open(viewer).filter(job_id=job_id).select_related("job").order_by("due_at", "pk")
    ),
    name="job page follow-ups",
)


def job_page_follow_ups(job: Job, viewer: Viewer | None) -> JobPageSection | None:
    """The job page's Follow-ups section, when the job has open follow-ups."""
    rows = _JOB_PAGE_ROWS.list(viewer=viewer, job_id=job.pk)
    if not rows:
        return None
    time_zone = job.workspace.time_zone
    today = wall_time.local(dt.datetime.now(dt.UTC), time_zone).date()
    for row in rows:
        row.book_url = book_url(row, time_zone, today)  # type: ignore[attr-defined]
    return JobPageSection(template="followups/_job_follow_ups.html", context={"rows": rows})


def due_this_week(*, viewer: Viewer | None, today: dt.date, time_zone: str) -> list[FollowUp]:
    """The follow-ups of the viewer's own open jobs due by the end of the week ahead and not
    booked yet, the soonest first."""
    if viewer is None or viewer.sees_as_customer:
        return []
    end = wall_time.instant_on(today + dt.timedelta(days=7), dt.time(0), time_zone)
    rows = _DUE_BY.list(viewer=viewer, end=end)
    for row in rows:
        row.book_url = book_url(row, time_zone, today)  # type: ignore[attr-defined]
    return rows


# The dashboard's read, compiled once per shape of the viewer (core/prepared.py): compiling
# it anew (its booked-visit subquery, its joins) took ten times as long as SQLite's answer.
_DUE_BY = PreparedQuery(
    lambda viewer, end: (
        _open(viewer)
        .filter(
            due_at__lt=end, booked=False, job__owner_id=viewer.user_id,
            job__archived_at__isnull=True, job__closed_at__isnull=True,
        )
        .select_related("job", "job__customer")
        .order_by("due_at", "pk")[:8]
    ),
    name="follow-ups due",
)  # fmt: skip


def stage_rules(stage: Stage) -> list[FollowUpRule]:
    return list(FollowUpRule.objects.filter(stage=stage).order_by("position", "pk"))
