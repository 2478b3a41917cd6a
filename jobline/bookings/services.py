"""Every change to a booking: one durable transaction each (core/transactions.py), which
writes the booking's own history and, for a booking on a job, the job's feed entry (and so
the customer's e-mail, through the jobs hook) in that same transaction. A refused change
writes nothing.

The overlap rule: a staff member is in at most one scheduled booking at any instant. The
check runs inside the write's transaction; PostgreSQL's exclusion constraint catches the
requests that pass it together, SQLite's write lock lets only one check at a time (models.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone

from jobline.accounts.models import User
from jobline.bookings import feeds
from jobline.bookings.models import (
    LONGEST_VISIT,
    MOST_IN_SERIES,
    NOTES_MAX,
    TITLE_MAX,
    Assignment,
    Booking,
    BookingEvent,
    BookingEventKind,
    BookingSeries,
    BookingStatus,
    CalendarFeed,
    Repeat,
)
from jobline.core import one_time, wall_time
from jobline.core.transactions import service
from jobline.customers.models import Customer
from jobline.jobs import activity
from jobline.jobs.changes import job_lock, job_touch, log
from jobline.jobs.choices import Visibility
from jobline.jobs.models import Job
from jobline.workspaces.models import Membership, Workspace
from jobline.workspaces.services import audit_record

OVERLAP_CONSTRAINT = "assignment_no_overlap"


class StaleBooking(Exception):
    message = "This visit changed since you opened it. Here is its current state; try again."


@dataclass
class Overlap(Exception):
    """Booking this would put a staff member in two scheduled visits at once."""

    conflicts: list[Booking]
    time_zone: str

    def __str__(self) -> str:
        return "; ".join(overlap_line(b, self.time_zone) for b in self.conflicts) or (
            "Another visit was booked into this time a moment ago."
        )


def when(booking: Booking, time_zone: str) -> str:
    """A visit's time on the business's clock (core.wall_time.span_words)."""
    return wall_time.span_words(booking.starts_at, booking.ends_at, time_zone)


def overlap_line(booking: Booking, time_zone: str) -> str:
    people = ", ".join(a.membership.user.full_name for a in booking.assignments.all())
    return f"{people or 'Someone'} is already booked: {booking.title}, {when(booking, time_zone)}"


# ----------------------------------------------------------------------------- checks


def _clean_text(value: str, *, limit: int, field: str, label: str) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise ValidationError({field: f"{label} can be at most {limit} characters."})
    return value


def _checked_times(starts_at: dt.datetime | None, ends_at: dt.datetime | None) -> None:
    if starts_at is None or ends_at is None:
        raise ValidationError({"starts_at": "Give the visit a start and an end."})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "The end must be after the start."})
    if ends_at - starts_at > LONGEST_VISIT:
        raise ValidationError({"ends_at": "A visit can last at most 31 days."})


def _checked_staff(workspace: Workspace, staff: Sequence[Membership]) -> list[Membership]:
    if not staff:
        raise ValidationError({"staff": "Choose at least one staff member."})
    ids = {m.pk for m in staff}
    active = list(
        Membership.objects.active()
        .filter(workspace=workspace, pk__in=ids)
        .select_related("user")
        .order_by("pk")
    )
    if len(active) != len(ids):
        raise ValidationError({"staff": "Choose staff members of this workspace."})
    return active


def _checked_links(
    *, workspace: Workspace, customer: Customer | None, job: Job | None,
    current: Customer | None = None,
) -> Customer | None:  # fmt: skip
    """The customer and job must be this workspace's; a visit on a job is for its customer.
    An archived customer cannot be booked, but a visit already theirs (``current``) keeps
    them when it is edited."""
    if job is not None:
        if job.workspace_id != workspace.pk:
            raise ValidationError({"job": "Choose a job of this workspace."})
        if customer is None and job.customer_id is not None:
            customer = job.customer
        elif customer is not None and job.customer_id not in (None, customer.pk):
            raise ValidationError({"customer": "A visit on a job is for the job's customer."})
    if customer is not None:
        if customer.workspace_id != workspace.pk:
            raise ValidationError({"customer": "Choose a customer of this workspace."})
        if customer.archived_at is not None and (current is None or current.pk != customer.pk):
            raise ValidationError({"customer": "This customer is archived; restore them first."})
    return customer


def conflicts_for(
    *,
    staff: Sequence[Membership],
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    exclude: Booking | None = None,
) -> list[Booking]:
    """The scheduled bookings of any of ``staff`` that share time with [starts_at, ends_at)."""
    booking_ids = (
        Assignment.objects.filter(
            membership__in=[m.pk for m in staff],
            booking__status=BookingStatus.SCHEDULED,
            starts_at__lt=ends_at,
            ends_at__gt=starts_at,
        )
        .exclude(booking_id=exclude.pk if exclude else None)
        .values("booking_id")
    )
    return list(
        Booking.objects.filter(pk__in=booking_ids)
        .prefetch_related("assignments__membership__user")
        .order_by("starts_at", "pk")
    )


def _is_overlap(error: IntegrityError) -> bool:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == OVERLAP_CONSTRAINT


def _write_assignments(booking: Booking, staff: Sequence[Membership], time_zone: str) -> None:
    """Replace the booking's assignments with ``staff`` at its times. A concurrent booking
    that got there first makes PostgreSQL refuse it: raised as Overlap, nothing written."""
    blocks = booking.is_scheduled and not booking.overlap_allowed
    try:
        with transaction.atomic():
            Assignment.objects.filter(booking=booking).delete()
            Assignment.objects.bulk_create(
                Assignment(booking=booking, membership=member, starts_at=booking.starts_at,
                           ends_at=booking.ends_at, blocks_time=blocks)
                for member in staff
            )  # fmt: skip
    except IntegrityError as error:
        if not _is_overlap(error):
            raise
        raise Overlap(
            conflicts_for(
                staff=staff, starts_at=booking.starts_at, ends_at=booking.ends_at, exclude=booking
            ),
            time_zone,
        ) from error


def _refuse_overlaps(
    *,
    staff: Sequence[Membership],
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    exclude: Booking | None,
    book_anyway: bool,
    time_zone: str,
) -> bool:
    """Raises Overlap unless ``book_anyway``; True when the visit overlaps (booked anyway)."""
    conflicts = conflicts_for(staff=staff, starts_at=starts_at, ends_at=ends_at, exclude=exclude)
    if conflicts and not book_anyway:
        raise Overlap(conflicts, time_zone)
    return bool(conflicts)


# ----------------------------------------------------------------------------- the job's side


def next_visit_of(job_id: int, *, now: dt.datetime | None = None) -> dt.datetime | None:
    """The start of the job's next scheduled visit that has not ended yet."""
    return Booking.objects.filter(
        job_id=job_id, status=BookingStatus.SCHEDULED, ends_at__gt=now or timezone.now()
    ).aggregate(first=Min("starts_at"))["first"]


def _tell_job(
    *,
    job_id: int | None,
    booking: Booking,
    payload: activity.Payload | None,
    actor: User | None,
    at: dt.datetime,
) -> None:
    """The job's feed entry (customer-visible when the visit is for the job's customer) and
    its next visit, in the booking's transaction."""
    if job_id is None:
        return
    locked = job_lock(job=Job(pk=job_id), expected_version=None)
    if payload is not None:
        for_customer = booking.customer_id is not None and booking.customer_id == locked.customer_id
        log(
            job=locked,
            payload=payload,
            actor=actor,
            visibility=Visibility.CUSTOMER if for_customer else Visibility.INTERNAL,
            at=at,
        )
    locked.next_visit_at = next_visit_of(job_id, now=at)
    job_touch(locked, at=at, fields=["next_visit_at"])


def _event(booking: Booking, kind: str, actor: User | None, detail: str, at: dt.datetime) -> None:
    BookingEvent.objects.create(
        booking=booking, kind=kind, actor=actor, detail=detail[:500], created_at=at
    )


def _lock(booking: Booking, expected_version: int | None) -> Booking:
    # of=self: only the booking's row; the joined workspace row stays free for every other
    # change in the workspace (PostgreSQL would lock it too).
    locked = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("workspace")
        .get(pk=booking.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise StaleBooking()
    return locked


def _touch(booking: Booking, at: dt.datetime, fields: Sequence[str]) -> None:
    """A changed booking: a new version, a new revision for calendar feeds."""
    booking.version += 1
    booking.sequence += 1
    booking.updated_at = at
    booking.save(update_fields=[*fields, "version", "sequence", "updated_at"])


# ----------------------------------------------------------------------------- creating


@service
def booking_create(
    *,
    workspace: Workspace,
    actor: User | None,
    title: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    staff: Sequence[Membership],
    customer: Customer | None = None,
    job: Job | None = None,
    location: str = "",
    customer_notes: str = "",
    internal_notes: str = "",
    book_anyway: bool = False,
    one_time_token: str | None = None,
    series: BookingSeries | None = None,
    at: dt.datetime | None = None,
) -> Booking:
    """A new visit. Raises Overlap when one of its staff is already booked then (unless
    ``book_anyway``, which the history records with the visits it overlaps)."""
    title = _clean_text(title, limit=TITLE_MAX, field="title", label="The title")
    if not title:
        raise ValidationError({"title": "Give the visit a title (or the service)."})
    _checked_times(starts_at, ends_at)
    customer = _checked_links(workspace=workspace, customer=customer, job=job)
    members = _checked_staff(workspace, staff)
    submission = one_time.claim(token=one_time_token, user=actor)
    overlaps = _refuse_overlaps(
        staff=members, starts_at=starts_at, ends_at=ends_at, exclude=None,
        book_anyway=book_anyway, time_zone=workspace.time_zone,
    )  # fmt: skip
    now = at or timezone.now()
    booking = Booking.objects.create(
        workspace=workspace, job=job, customer=customer, title=title,
        location=_clean_text(location, limit=255, field="location", label="The place"),
        customer_notes=_clean_text(
            customer_notes, limit=NOTES_MAX, field="customer_notes", label="Notes"
        ),
        internal_notes=_clean_text(
            internal_notes, limit=NOTES_MAX, field="internal_notes", label="Notes"
        ),
        starts_at=starts_at, ends_at=ends_at, overlap_allowed=overlaps, series=series,
        created_by=actor, created_at=now, updated_at=now,
    )  # fmt: skip
    _write_assignments(booking, members, workspace.time_zone)
    detail = (
        f"{when(booking, workspace.time_zone)} · {', '.join(m.user.full_name for m in members)}"
    )
    _event(booking, BookingEventKind.BOOKED, actor, detail, now)
    if overlaps:
        lines = conflicts_for(staff=members, starts_at=starts_at, ends_at=ends_at, exclude=booking)
        overlapped = "; ".join(f"{b.title} ({when(b, workspace.time_zone)})" for b in lines)
        _event(booking, BookingEventKind.BOOKED_ANYWAY, actor, f"Overlaps {overlapped}", now)
    _tell_job(job_id=booking.job_id, booking=booking, payload=activity.VisitBooked.of(booking),
              actor=actor, at=now)  # fmt: skip
    one_time.record(submission, booking=booking.pk)
    return booking


# ----------------------------------------------------------------------------- a series

_REPEAT_STEPS = {
    Repeat.DAILY: lambda instant, n, zone: wall_time.add_days(instant, n, zone),
    Repeat.WEEKLY: lambda instant, n, zone: wall_time.add_weeks(instant, n, zone),
    Repeat.FORTNIGHTLY: lambda instant, n, zone: wall_time.add_weeks(instant, 2 * n, zone),
    Repeat.FOUR_WEEKLY: lambda instant, n, zone: wall_time.add_weeks(instant, 4 * n, zone),
    Repeat.MONTHLY: lambda instant, n, zone: wall_time.add_months(instant, n, zone),
}


def series_times(
    *, starts_at: dt.datetime, ends_at: dt.datetime, repeat: str, count: int, time_zone: str
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The start and end of each visit of a series, on the business's wall clock: the n-th
    visit is the first moved on n steps (from the first, so a monthly series booked on the
    31st comes back on the last day of a shorter month and on the 31st again after it), at
    the same wall-clock times across a daylight-saving change."""
    step = _REPEAT_STEPS[Repeat(repeat)]
    wall_length = wall_time.local(ends_at, time_zone).replace(tzinfo=None) - wall_time.local(
        starts_at, time_zone
    ).replace(tzinfo=None)
    times = []
    for n in range(count):
        start = step(starts_at, n, time_zone)
        wall_start = wall_time.local(start, time_zone).replace(tzinfo=None)
        times.append((start, wall_time.instant_at(wall_start + wall_length, time_zone)))
    return times


@service
def booking_series_create(
    *,
    workspace: Workspace,
    actor: User | None,
    repeat: str,
    count: int | None,
    title: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    staff: Sequence[Membership],
    customer: Customer | None = None,
    job: Job | None = None,
    location: str = "",
    customer_notes: str = "",
    internal_notes: str = "",
    book_anyway: bool = False,
    one_time_token: str | None = None,
    at: dt.datetime | None = None,
) -> list[Booking]:
    """A repeating series: ``count`` visits, each an ordinary booking (its own feed entry,
    e-mail and reminder), all booked or none. Raises Overlap with every visit any of them
    would share time with, unless ``book_anyway``."""
    if repeat not in Repeat.values:
        raise ValidationError({"repeat": "Choose how often the visit repeats."})
    if count is None or not 2 <= count <= MOST_IN_SERIES:
        raise ValidationError(
            {"repeat_count": f"A repeating visit comes {MOST_IN_SERIES} times at most, and at "
                             "least twice."}
        )  # fmt: skip
    _checked_times(starts_at, ends_at)
    times = series_times(
        starts_at=starts_at, ends_at=ends_at, repeat=repeat, count=count,
        time_zone=workspace.time_zone,
    )  # fmt: skip
    if any(next_start < end for (_, end), (next_start, _) in pairwise(times)):
        raise ValidationError(
            {"repeat": "Each visit would still be running when the next one starts: repeat "
                       "it less often, or shorten it."}
        )  # fmt: skip
    members = _checked_staff(workspace, staff)
    submission = one_time.claim(token=one_time_token, user=actor)
    conflicts: dict[int, Booking] = {}
    for start, end in times:
        for other in conflicts_for(staff=members, starts_at=start, ends_at=end):
            conflicts.setdefault(other.pk, other)
    if conflicts and not book_anyway:
        raise Overlap(sorted(conflicts.values(), key=lambda b: (b.starts_at, b.pk)),
                      workspace.time_zone)  # fmt: skip
    now = at or timezone.now()
    series = BookingSeries.objects.create(
        workspace=workspace, repeat=repeat, count=count, created_by=actor, created_at=now
    )
    visit = {
        "workspace": workspace, "actor": actor, "title": title, "staff": members,
        "customer": customer, "job": job, "location": location,
        "customer_notes": customer_notes, "internal_notes": internal_notes,
        "book_anyway": book_anyway, "series": series, "at": now,
    }  # fmt: skip
    visits = [booking_create.step(starts_at=start, ends_at=end, **visit) for start, end in times]
    one_time.record(submission, booking=visits[0].pk)
    return visits


# ----------------------------------------------------------------------------- changing


@service
def booking_update(
    *,
    booking: Booking,
    actor: User | None,
    title: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    staff: Sequence[Membership],
    customer: Customer | None,
    location: str = "",
    customer_notes: str = "",
    internal_notes: str = "",
    expected_version: int | None = None,
    book_anyway: bool = False,
    at: dt.datetime | None = None,
) -> Booking:
    """A visit's details, time and staff changed (moving is a change of time)."""
    locked = _lock(booking, expected_version)
    workspace = locked.workspace
    if not locked.is_scheduled:
        raise ValidationError(
            f"This visit is {locked.get_status_display().lower()}; it can no longer be changed."
        )
    title = _clean_text(title, limit=TITLE_MAX, field="title", label="The title")
    if not title:
        raise ValidationError({"title": "Give the visit a title (or the service)."})
    _checked_times(starts_at, ends_at)
    job = Job.objects.select_related("customer").get(pk=locked.job_id) if locked.job_id else None
    # customer=None on a job: the job's customer, whoever that is now.
    customer = _checked_links(
        workspace=workspace, customer=customer, job=job, current=locked.customer
    )
    members = _checked_staff(workspace, staff)
    old_members = list(
        Membership.objects.filter(assignments__booking=locked).select_related("user").order_by("pk")
    )
    moved = (starts_at, ends_at) != (locked.starts_at, locked.ends_at)
    restaffed = [m.pk for m in members] != [m.pk for m in old_members]
    overlaps = locked.overlap_allowed
    if moved or restaffed or book_anyway:
        overlaps = _refuse_overlaps(
            staff=members, starts_at=starts_at, ends_at=ends_at, exclude=locked,
            book_anyway=book_anyway, time_zone=workspace.time_zone,
        )  # fmt: skip
    now = at or timezone.now()
    old_when = when(locked, workspace.time_zone)
    old_start, old_end = locked.starts_at, locked.ends_at
    changes = {
        "title": title,
        "location": _clean_text(location, limit=255, field="location", label="The place"),
        "customer_notes": _clean_text(
            customer_notes, limit=NOTES_MAX, field="customer_notes", label="Notes"
        ),
        "internal_notes": _clean_text(
            internal_notes, limit=NOTES_MAX, field="internal_notes", label="Notes"
        ),
        "customer_id": customer.pk if customer else None,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "overlap_allowed": overlaps,
    }
    changed = [name for name, value in changes.items() if getattr(locked, name) != value]
    if not changed and not restaffed:
        return locked
    for name, value in changes.items():
        setattr(locked, name, value)
    _touch(locked, now, changed)
    if moved or restaffed or "overlap_allowed" in changed:
        _write_assignments(locked, members, workspace.time_zone)
    if moved:
        _event(locked, BookingEventKind.MOVED, actor,
               f"{old_when} → {when(locked, workspace.time_zone)}", now)  # fmt: skip
        if overlaps and book_anyway:
            _event(locked, BookingEventKind.BOOKED_ANYWAY, actor, "Moved despite an overlap", now)
    if restaffed:
        names = ", ".join(m.user.full_name for m in members)
        old_names = ", ".join(m.user.full_name for m in old_members)
        _event(locked, BookingEventKind.CHANGED, actor, f"Staff: {old_names} → {names}", now)
    details = [n for n in changed if n not in {"starts_at", "ends_at", "overlap_allowed"}]
    if details:
        _event(locked, BookingEventKind.CHANGED, actor, _detail_words(details), now)
    payload = None
    if moved:
        payload = activity.VisitMoved.of(locked, old_starts_at=old_start, old_ends_at=old_end)
    _tell_job(job_id=locked.job_id, booking=locked, payload=payload, actor=actor, at=now)
    return locked


DETAIL_LABELS = {
    "title": "title",
    "location": "place",
    "customer_notes": "notes for the customer",
    "internal_notes": "internal notes",
    "customer_id": "customer",
}


def _detail_words(names: Sequence[str]) -> str:
    return "Changed the " + ", ".join(DETAIL_LABELS.get(n, n) for n in names)


def booking_move(
    *,
    booking: Booking,
    actor: User | None,
    starts_at: dt.datetime,
    staff: Sequence[Membership] | None = None,
    expected_version: int | None = None,
    book_anyway: bool = False,
) -> Booking:
    """The calendar's drag and its "Move to…" dialog: a new start, the same length, and the
    same staff unless given."""
    current = Booking.objects.prefetch_related("assignments__membership").get(pk=booking.pk)
    return booking_update(
        booking=current, actor=actor, title=current.title, starts_at=starts_at,
        ends_at=starts_at + (current.ends_at - current.starts_at),
        staff=staff or [a.membership for a in current.assignments.all()],
        customer=current.customer, location=current.location,
        customer_notes=current.customer_notes, internal_notes=current.internal_notes,
        expected_version=expected_version, book_anyway=book_anyway,
    )  # fmt: skip


STATUS_EVENTS = {
    BookingStatus.CANCELLED: (BookingEventKind.CANCELLED, activity.VisitCancelled),
    BookingStatus.COMPLETED: (BookingEventKind.COMPLETED, activity.VisitCompleted),
    BookingStatus.NO_SHOW: (BookingEventKind.NO_SHOW, activity.VisitNoShow),
}


@service
def booking_set_status(
    *,
    booking: Booking,
    actor: User | None,
    status: BookingStatus | str,
    reason: str = "",
    expected_version: int | None = None,
    at: dt.datetime | None = None,
) -> Booking:
    """Cancel (with a reason), complete, or mark a no-show: only a scheduled visit. Its time
    is free again for its staff."""
    if status not in BookingStatus.values or status not in STATUS_EVENTS:
        raise ValidationError({"status": "Choose cancelled, completed or no-show."})
    status = BookingStatus(status)
    locked = _lock(booking, expected_version)
    if locked.status == status:
        return locked  # a double click: done already
    if not locked.is_scheduled:
        raise ValidationError(f"This visit is already {locked.get_status_display().lower()}.")
    reason = _clean_text(reason, limit=255, field="reason", label="The reason")
    if status == BookingStatus.CANCELLED and not reason:
        raise ValidationError({"reason": "Say why the visit is cancelled."})
    now = at or timezone.now()
    locked.status = status
    locked.cancel_reason = reason if status == BookingStatus.CANCELLED else ""
    _touch(locked, now, ["status", "cancel_reason"])
    Assignment.objects.filter(booking=locked).update(blocks_time=False)
    event_kind, payload_class = STATUS_EVENTS[status]
    _event(locked, event_kind, actor, reason, now)
    _tell_job(job_id=locked.job_id, booking=locked,
              payload=payload_class.of(locked, reason=locked.cancel_reason), actor=actor,
              at=now)  # fmt: skip
    return locked


@service
def booking_series_cancel(
    *,
    booking: Booking,
    actor: User | None,
    reason: str,
    expected_version: int | None = None,
    at: dt.datetime | None = None,
) -> list[Booking]:
    """Cancel this visit and every later visit of its series still scheduled, for one
    reason; the earlier ones, and those done or cancelled already, stay as they are."""
    first = booking_set_status.step(
        booking=booking, actor=actor, status=BookingStatus.CANCELLED, reason=reason,
        expected_version=expected_version, at=at,
    )  # fmt: skip
    if first.series_id is None:
        return [first]
    later = Booking.objects.filter(
        series_id=first.series_id, status=BookingStatus.SCHEDULED, starts_at__gt=first.starts_at
    ).order_by("starts_at", "pk")
    return [first] + [
        booking_set_status.step(
            booking=visit, actor=actor, status=BookingStatus.CANCELLED, reason=reason, at=at
        )
        for visit in later
    ]


@service
def booking_attach(
    *, booking: Booking, job: Job, actor: User | None, at: dt.datetime | None = None
) -> Booking:
    """Put an existing visit on a job (a touch-up appointment that belongs to a package)."""
    locked = _lock(booking, None)
    if locked.job_id == job.pk:
        return locked
    if locked.job_id is not None:
        raise ValidationError({"job": "This visit is on another job; detach it first."})
    if not locked.is_scheduled:
        # Its feed entry would tell the customer of a visit that is not going to happen.
        raise ValidationError({"job": "Only a scheduled visit can be put on a job."})
    customer = _checked_links(workspace=locked.workspace, customer=locked.customer, job=job)
    now = at or timezone.now()
    locked.job = job
    locked.customer = customer
    _touch(locked, now, ["job", "customer"])
    _event(locked, BookingEventKind.ATTACHED, actor, job.reference, now)
    _tell_job(job_id=job.pk, booking=locked, payload=activity.VisitBooked.of(locked),
              actor=actor, at=now)  # fmt: skip
    return locked


@service
def booking_detach(
    *, booking: Booking, actor: User | None, at: dt.datetime | None = None
) -> Booking:
    """Take a visit off its job; it stays on the calendar (the customer's job no longer
    lists it)."""
    locked = _lock(booking, None)
    if locked.job_id is None:
        return locked
    job_id = locked.job_id
    reference = Job.objects.filter(pk=job_id).values_list("number", flat=True).first()
    now = at or timezone.now()
    locked.job = None
    _touch(locked, now, ["job"])
    _event(locked, BookingEventKind.DETACHED, actor, f"J-{reference}" if reference else "", now)
    _tell_job(job_id=job_id, booking=locked, payload=activity.VisitDetached.of(locked),
              actor=actor, at=now)  # fmt: skip
    return locked


def next_visits_refresh(*, now: dt.datetime | None = None) -> int:
    """Move each job's next visit on once the one it names has begun (the periodic job):
    the jobs whose next visit started before ``now``. Returns how many changed."""
    now = now or timezone.now()
    changed = 0
    for job_id in Job.objects.filter(next_visit_at__lte=now).values_list("pk", flat=True)[:1000]:
        with transaction.atomic(durable=True):
            following = next_visit_of(job_id, now=now)
            changed += (
                Job.objects.filter(pk=job_id)
                .exclude(next_visit_at=following)
                .update(next_visit_at=following)
            )
    return changed


# ----------------------------------------------------------------------------- calendar feeds


@service
def calendar_feed_renew(*, membership: Membership, actor: User) -> str:
    """A new private feed link for the member (the old one stops working); the token."""
    nonce = feeds.new_nonce()
    token = feeds.token_for(membership.pk, nonce)
    existed = CalendarFeed.objects.filter(membership=membership).exists()
    CalendarFeed.objects.update_or_create(
        membership=membership,
        defaults={
            "nonce": nonce,
            "token_hash": feeds.token_hash(token),
            "created_at": timezone.now(),
        },
    )
    audit_record(
        workspace=membership.workspace, actor=actor, action="booking.feed_regenerated",
        target=membership.user.email, new="renewed" if existed else "created",
    )  # fmt: skip
    return token


@service
def calendar_feed_revoke(*, membership: Membership, actor: User) -> bool:
    deleted, _ = CalendarFeed.objects.filter(membership=membership).delete()
    if deleted:
        audit_record(
            workspace=membership.workspace, actor=actor, action="booking.feed_revoked",
            target=membership.user.email, old="on", new="off",
        )  # fmt: skip
    return bool(deleted)
