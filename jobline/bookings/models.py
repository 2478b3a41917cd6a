"""Bookings: visits on the calendar, on their own or attached to a job, and the private
calendar feed of each staff member.

A booking's start and end are UTC instants, shown in the workspace's time zone
(core/wall_time.py does its date arithmetic). Who may see which booking is decided here,
once, by ``Booking.objects.visible_to(viewer)``; the portal, e-mails and feeds only ask it.

No one is in two scheduled bookings at once: each staff member's part of a booking is an
``Assignment`` row carrying the booking's times, and on PostgreSQL an exclusion constraint
(migration 0002) refuses two overlapping assignments of one member, whatever the timing of
the requests. On SQLite every write transaction takes the database's write lock at its start
(``transaction_mode=IMMEDIATE``), so the services' check and write are one step there too.
"Book anyway" is an assignment that does not block its time (``blocks_time`` off).
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from jobline.core.models import ChangeRecord, ChoiceLabels
from jobline.customers.models import Customer
from jobline.jobs.models import Job
from jobline.workspaces.models import Membership, Workspace
from jobline.workspaces.viewers import Viewer

TITLE_MAX = 200
NOTES_MAX = 5000
# No visit lasts longer (services refuse it): reads of a date range bound their scan with it.
LONGEST_VISIT = dt.timedelta(days=31)


class BookingStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


class Repeat(models.TextChoices):
    """How often a series of visits comes back, on the business's wall clock."""

    DAILY = "daily", "Every day"
    WEEKLY = "weekly", "Every week"
    FORTNIGHTLY = "fortnightly", "Every 2 weeks"
    FOUR_WEEKLY = "four_weekly", "Every 4 weeks"
    MONTHLY = "monthly", "Every month"


# A series is booked in one go, each visit checked for overlaps: a year of weekly visits.
MOST_IN_SERIES = 52


class BookingSeries(ChoiceLabels, models.Model):
    """Visits booked together as one repeating series ("every 2 weeks, 6 visits"). Each visit
    is an ordinary booking of its own, moved, cancelled or completed on its own; the series
    lets the later ones be cancelled together."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    repeat = models.CharField(max_length=16, choices=Repeat.choices)
    count = models.PositiveSmallIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.get_repeat_display()}, {self.count} visits"


class BookingQuerySet(models.QuerySet["Booking"]):
    def visible_to(self, viewer: Viewer | None) -> BookingQuerySet:
        """Members: every booking of their workspace. Customers (and a member's preview of
        one): the bookings of that one customer profile that are on one of their jobs, in
        a workspace whose Bookings module is on. Internal blocks (no customer) never. No
        viewer: nothing."""
        if viewer is None:
            return self.none()
        mine = self.filter(workspace_id=viewer.workspace_id)
        if not viewer.sees_as_customer:
            return mine
        return mine.filter(
            customer_id=viewer.customer_id,
            job__customer_id=viewer.customer_id,
            job__archived_at__isnull=True,
            workspace__module_bookings=True,
        )

    def in_portal_of(self, user: object) -> BookingQuerySet:
        """The visits a signed-in person sees in the portal, across their customer profiles:
        bookings on their (unarchived) jobs, in workspaces whose portal shows jobs and whose
        Bookings module is on."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(
            customer__portal_user=user,
            customer__archived_at__isnull=True,
            job__customer_id=F("customer_id"),
            job__archived_at__isnull=True,
            workspace__module_bookings=True,
            workspace__module_jobs=True,
            workspace__portal_enabled=True,
            workspace__portal_jobs=True,
        )

    def scheduled(self) -> BookingQuerySet:
        return self.filter(status=BookingStatus.SCHEDULED)

    def overlapping(self, starts_at: object, ends_at: object) -> BookingQuerySet:
        """Bookings that share some time with [starts_at, ends_at) (touching is not sharing)."""
        return self.filter(starts_at__lt=ends_at, ends_at__gt=starts_at)


class Booking(ChoiceLabels, models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="bookings")
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings"
    )
    # Optional: an internal block ("Van service") has none.
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings"
    )
    title = models.CharField(max_length=TITLE_MAX)
    location = models.CharField(max_length=255, blank=True)
    customer_notes = models.TextField(blank=True, max_length=NOTES_MAX)
    internal_notes = models.TextField(blank=True, max_length=NOTES_MAX)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=BookingStatus.choices, default=BookingStatus.SCHEDULED
    )
    cancel_reason = models.CharField(max_length=255, blank=True)
    # Booked with others as a repeating series (None: a visit of its own).
    series = models.ForeignKey(
        BookingSeries, null=True, blank=True, on_delete=models.SET_NULL, related_name="visits"
    )
    # Booked although it overlaps another booking of one of its staff ("Book anyway").
    overlap_allowed = models.BooleanField(default=False)
    # The event's identity in calendar feeds (UID) and its revision there (SEQUENCE).
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sequence = models.PositiveIntegerField(default=0)
    # Optimistic concurrency: a change from a stale page is refused.
    version = models.PositiveIntegerField(default=1)
    # The start a reminder went out for: a visit moved after its reminder gets a new one.
    reminded_for = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = BookingQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="booking_ends_after_start"
            ),
        ]
        indexes = [
            # Serves the calendar (a workspace's bookings in a date range) and the agenda.
            models.Index(fields=["workspace", "starts_at"], name="booking_calendar_idx"),
            # Serves a job's visits on the job page and its next visit.
            models.Index(fields=["job", "starts_at"], name="booking_job_idx"),
            # Serves a series' visits in order (the visit page, cancelling the later ones).
            models.Index(
                fields=["series", "starts_at"],
                name="booking_series_idx",
                condition=Q(series__isnull=False),
            ),
            # Serves the reminder job: scheduled visits by start.
            models.Index(
                fields=["starts_at"],
                name="booking_due_reminder_idx",
                condition=Q(status="scheduled"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.starts_at:%Y-%m-%d %H:%M} UTC)"

    @property
    def is_scheduled(self) -> bool:
        return self.status == BookingStatus.SCHEDULED

    @property
    def is_internal_block(self) -> bool:
        return self.customer_id is None

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class Assignment(models.Model):
    """One staff member's part in a booking, with the booking's times copied (services keep
    them equal) so the overlap rule is one constraint on one table."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="assignments")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="assignments")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # Scheduled and not booked anyway: the time is this member's alone.
    blocks_time = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "membership"], name="assignment_once_per_member"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="assignment_ends_after_start"
            ),
        ]
        indexes = [
            # Serves the overlap check, one member's calendar and their feed.
            models.Index(fields=["membership", "starts_at"], name="assignment_member_idx"),
            # Serves the calendar's range (everyone's week): all it reads, from the index.
            models.Index(
                fields=["starts_at", "ends_at", "booking", "membership"],
                name="assignment_time_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.membership_id} in booking {self.booking_id}"


class BookingEventKind(models.TextChoices):
    BOOKED = "booked", "Booked"
    BOOKED_ANYWAY = "booked_anyway", "Booked despite an overlap"
    MOVED = "moved", "Moved"
    CHANGED = "changed", "Details changed"
    CANCELLED = "cancelled", "Cancelled"
    COMPLETED = "completed", "Completed"
    NO_SHOW = "no_show", "Marked no-show"
    ATTACHED = "attached", "Attached to a job"
    DETACHED = "detached", "Detached from a job"
    REMINDED = "reminded", "Reminder queued"


class BookingEvent(ChangeRecord):
    """A booking's own history: every change, who made it, old → new. Append-only. (A
    booking on a job also writes the job's feed.)"""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=BookingEventKind.choices)

    class Meta:
        indexes = [
            # Serves the booking page's history, newest first.
            models.Index(fields=["booking", "-created_at", "-id"], name="booking_event_idx"),
        ]


class CalendarFeed(models.Model):
    """A member's private calendar feed. The URL's token is derived from ``nonce`` with the
    server's secret key (feeds.py), so the page can show it again while the database holds
    only its hash: a copy of the database alone opens no feed. Renewing draws a new nonce;
    switching it off deletes the row."""

    membership = models.OneToOneField(
        Membership, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    nonce = models.CharField(max_length=64)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Calendar feed of {self.membership_id}"
