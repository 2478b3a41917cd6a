"""Booking services (bookings/services.py): the overlap rule and "book anyway", bad input
refused field by field with nothing written, stale pages, cancelling, the job's feed and next
visit, calendar-feed revisions, and the private feed link's renewal and revocation.

Harbour's time zone is Europe/London: 4 Jun 2030 09:00 UTC is Tue 4 Jun 2030 10:00 BST.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from jobline.bookings import services
from jobline.bookings.models import (
    Assignment,
    Booking,
    BookingEvent,
    BookingEventKind,
    BookingStatus,
    CalendarFeed,
)
from jobline.bookings.services import Overlap, StaleBooking
from jobline.core.one_time import AlreadySubmitted
from jobline.customers.models import Customer
from jobline.jobs.models import Activity, ActivityKind, Job, Visibility
from jobline.jobs.services import job_create
from jobline.pipelines.models import Pipeline
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.workspaces.models import AuditLogEntry, Membership
from tests.conftest import Cast

UTC = dt.UTC
HOUR = dt.timedelta(hours=1)
# Tue 4 Jun 2030, 10:00 BST.
T10 = dt.datetime(2030, 6, 4, 9, 0, tzinfo=UTC)
SECRET = "GATE-CODE-4711"


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture
def repair(cast: Cast) -> Pipeline:
    return pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="repair", actor=cast.admin
    )


@pytest.fixture
def job(cast: Cast, repair: Pipeline) -> Job:
    """A job of Priya's."""
    return job_create(
        workspace=cast.workspace, pipeline=repair, title="Boiler replacement",
        actor=cast.admin, owner=cast.staff, customer=cast.customer,
    )  # fmt: skip


@pytest.fixture
def job_without_customer(cast: Cast, repair: Pipeline) -> Job:
    return job_create(
        workspace=cast.workspace, pipeline=repair, title="Van service", actor=cast.admin
    )


@pytest.fixture
def sam(cast: Cast) -> Membership:
    return cast.membership(cast.staff)


@pytest.fixture
def max_(cast: Cast) -> Membership:
    return cast.membership(cast.manager)


def book(
    cast: Cast,
    *,
    title: str = "Boiler service",
    start: dt.datetime = T10,
    end: dt.datetime | None = None,
    staff: list[Membership] | None = None,
    **extra: Any,
) -> Booking:
    return services.booking_create(
        workspace=cast.workspace,
        actor=cast.manager,
        title=title,
        starts_at=start,
        ends_at=end if end is not None else start + HOUR,
        staff=staff if staff is not None else [cast.membership(cast.staff)],
        **extra,
    )


def update(booking: Booking, cast: Cast, **changes: Any) -> Booking:
    """booking_update with the booking's current values, except ``changes``."""
    current = Booking.objects.get(pk=booking.pk)
    values: dict[str, Any] = {
        "title": current.title,
        "starts_at": current.starts_at,
        "ends_at": current.ends_at,
        "staff": [a.membership for a in current.assignments.order_by("membership_id")],
        "customer": current.customer,
        "location": current.location,
        "customer_notes": current.customer_notes,
        "internal_notes": current.internal_notes,
    }
    values.update(changes)
    return services.booking_update(booking=current, actor=cast.manager, **values)


def rows() -> dict[str, int]:
    return {
        "bookings": Booking.objects.count(),
        "events": BookingEvent.objects.count(),
        "assignments": Assignment.objects.count(),
        "activities": Activity.objects.count(),
    }


def event_kinds(booking: Booking) -> list[str]:
    return list(booking.events.order_by("id").values_list("kind", flat=True))


def visit_entries(job: Job) -> list[Activity]:
    return list(
        Activity.objects.filter(job=job, kind__startswith="visit_").order_by("created_at", "id")
    )


def next_visit(job: Job) -> dt.datetime | None:
    return Job.objects.values_list("next_visit_at", flat=True).get(pk=job.pk)


# ----------------------------------------------------------------------------- the overlap rule


def test_an_overlapping_booking_is_refused_naming_the_visit_and_person_in_the_way(
    cast: Cast,
) -> None:
    first = book(cast, title="Boiler service")
    before = rows()
    with pytest.raises(Overlap) as refused:
        book(cast, title="Leak check", start=T10 + HOUR / 2)
    assert [b.pk for b in refused.value.conflicts] == [first.pk]
    message = str(refused.value)
    assert "Boiler service" in message
    assert "Sam Staff" in message
    assert message == "Sam Staff is already booked: Boiler service, Tue 4 Jun 2030, 10:00–11:00"
    assert rows() == before
    assert not Booking.objects.filter(title="Leak check").exists()


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (T10 - HOUR / 2, T10 + HOUR / 2),  # overlaps its start
        (T10 + HOUR / 2, T10 + 2 * HOUR),  # overlaps its end
        (T10 + HOUR / 4, T10 + HOUR / 2),  # inside it
        (T10 - HOUR, T10 + 2 * HOUR),  # around it
        (T10, T10 + HOUR),  # the same time
    ],
    ids=["start", "end", "inside", "around", "same"],
)
def test_any_shared_time_with_the_same_person_is_refused(
    cast: Cast, start: dt.datetime, end: dt.datetime
) -> None:
    book(cast)
    with pytest.raises(Overlap):
        book(cast, title="Second", start=start, end=end)
    assert Booking.objects.count() == 1


@pytest.mark.parametrize(
    ("start", "end"),
    [(T10 + HOUR, T10 + 2 * HOUR), (T10 - HOUR, T10)],
    ids=["right-after", "right-before"],
)
def test_touching_bookings_do_not_conflict(
    cast: Cast, sam: Membership, start: dt.datetime, end: dt.datetime
) -> None:
    first = book(cast)
    second = book(cast, title="Next door", start=start, end=end)
    assert not second.overlap_allowed
    assert not first.overlap_allowed
    assert Assignment.objects.filter(membership=sam, blocks_time=True).count() == 2
    assert event_kinds(second) == [BookingEventKind.BOOKED]


def test_one_busy_member_of_the_staff_refuses_the_whole_booking(
    cast: Cast, sam: Membership, max_: Membership
) -> None:
    first = book(cast, staff=[sam])
    with pytest.raises(Overlap) as refused:
        book(cast, title="Two-person lift", staff=[max_, sam], start=T10 + HOUR / 2)
    assert [b.pk for b in refused.value.conflicts] == [first.pk]
    assert Booking.objects.count() == 1


def test_another_person_may_be_booked_at_the_same_time(
    cast: Cast, sam: Membership, max_: Membership
) -> None:
    book(cast, staff=[sam])
    other = book(cast, title="Quote visit", staff=[max_])
    assert other.is_scheduled and not other.overlap_allowed
    assert Booking.objects.count() == 2


def test_book_anyway_creates_the_overlapping_booking_and_records_it(
    cast: Cast, sam: Membership
) -> None:
    first = book(cast, title="Boiler service")
    anyway = book(cast, title="Emergency leak", start=T10 + HOUR / 2, book_anyway=True)
    assert anyway.pk is not None
    anyway.refresh_from_db()
    assert anyway.overlap_allowed is True
    assert event_kinds(anyway) == [BookingEventKind.BOOKED, BookingEventKind.BOOKED_ANYWAY]
    booked_anyway = anyway.events.get(kind=BookingEventKind.BOOKED_ANYWAY)
    assert "Boiler service" in booked_anyway.detail
    assert booked_anyway.actor == cast.manager
    # The first visit keeps its time; the second does not block time of its own.
    assert Assignment.objects.get(booking=first).blocks_time is True
    assert Assignment.objects.get(booking=anyway).blocks_time is False
    # Without "book anyway", the time is still taken.
    with pytest.raises(Overlap):
        book(cast, title="Third", start=T10 + HOUR / 4)
    assert Booking.objects.count() == 2


def test_book_anyway_without_an_overlap_is_an_ordinary_booking(cast: Cast) -> None:
    booking = book(cast, book_anyway=True)
    assert booking.overlap_allowed is False
    assert event_kinds(booking) == [BookingEventKind.BOOKED]
    assert Assignment.objects.get(booking=booking).blocks_time is True


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (BookingStatus.CANCELLED, "Customer away"),
        (BookingStatus.COMPLETED, ""),
        (BookingStatus.NO_SHOW, ""),
    ],
)
def test_a_booking_no_longer_scheduled_frees_its_slot(
    cast: Cast, status: BookingStatus, reason: str
) -> None:
    first = book(cast)
    services.booking_set_status(booking=first, actor=cast.manager, status=status, reason=reason)
    second = book(cast, title="In its place")
    assert second.is_scheduled and not second.overlap_allowed
    assert Assignment.objects.get(booking=first).blocks_time is False


def test_a_move_into_a_taken_slot_is_refused_and_changes_nothing(cast: Cast) -> None:
    taken = book(cast, title="Boiler service")
    later = book(cast, title="Radiator bleed", start=T10 + 3 * HOUR)
    before = rows()
    with pytest.raises(Overlap) as refused:
        services.booking_move(booking=later, actor=cast.manager, starts_at=T10 + HOUR / 2)
    assert [b.pk for b in refused.value.conflicts] == [taken.pk]
    assert rows() == before
    fresh = Booking.objects.get(pk=later.pk)
    assert (fresh.starts_at, fresh.ends_at) == (T10 + 3 * HOUR, T10 + 4 * HOUR)
    assert (fresh.version, fresh.sequence) == (1, 0)
    assert Assignment.objects.get(booking=later).starts_at == T10 + 3 * HOUR


def test_a_move_overlapping_only_its_own_old_time_is_allowed(cast: Cast) -> None:
    booking = book(cast)
    moved = services.booking_move(booking=booking, actor=cast.manager, starts_at=T10 + HOUR / 2)
    assert (moved.starts_at, moved.ends_at) == (T10 + HOUR / 2, T10 + 3 * HOUR / 2)
    assignment = Assignment.objects.get(booking=booking)
    assert (assignment.starts_at, assignment.ends_at) == (moved.starts_at, moved.ends_at)
    assert assignment.blocks_time is True
    assert not moved.overlap_allowed


def test_a_move_booked_anyway_is_recorded(cast: Cast) -> None:
    book(cast, title="Boiler service")
    later = book(cast, title="Radiator bleed", start=T10 + 3 * HOUR)
    moved = services.booking_move(
        booking=later, actor=cast.manager, starts_at=T10, book_anyway=True
    )
    assert moved.overlap_allowed is True
    assert event_kinds(moved)[-2:] == [BookingEventKind.MOVED, BookingEventKind.BOOKED_ANYWAY]
    assert Assignment.objects.get(booking=later).blocks_time is False


def test_a_booking_booked_anyway_moved_to_a_free_time_takes_its_time_again(cast: Cast) -> None:
    book(cast, title="Boiler service")
    anyway = book(cast, title="Emergency", start=T10, book_anyway=True)
    moved = services.booking_move(booking=anyway, actor=cast.manager, starts_at=T10 + 5 * HOUR)
    assert moved.overlap_allowed is False
    assert Assignment.objects.get(booking=anyway).blocks_time is True
    with pytest.raises(Overlap) as refused:
        book(cast, title="Clash", start=T10 + 5 * HOUR)
    assert [b.pk for b in refused.value.conflicts] == [anyway.pk]


def test_restaffing_onto_a_busy_person_is_refused(
    cast: Cast, sam: Membership, max_: Membership
) -> None:
    book(cast, staff=[sam])
    maxs = book(cast, title="Quote visit", staff=[max_])
    with pytest.raises(Overlap):
        update(maxs, cast, staff=[sam])
    assert [a.membership_id for a in Assignment.objects.filter(booking=maxs)] == [max_.pk]
    assert Booking.objects.get(pk=maxs.pk).version == 1


def test_a_repeated_one_time_token_books_once(cast: Cast) -> None:
    book(cast, one_time_token="form-token-1")
    with pytest.raises(AlreadySubmitted):
        book(cast, start=T10 + 5 * HOUR, one_time_token="form-token-1")
    assert Booking.objects.count() == 1


# ----------------------------------------------------------------------------- bad input


def _other_workspace_member(cast: Cast) -> list[Membership]:
    return [Membership.objects.get(user=cast.outsider, workspace=cast.other_workspace)]


def _removed_member(cast: Cast) -> list[Membership]:
    member = cast.membership(cast.staff)
    member.removed_at = timezone.now()
    member.save(update_fields=["removed_at"])
    return [member]


def _foreign_customer(cast: Cast) -> Customer:
    return Customer.objects.create(
        workspace=cast.other_workspace, name="Elsewhere customer", created_by=cast.outsider
    )


def _archived_customer(cast: Cast) -> Customer:
    cast.second_customer.archived_at = timezone.now()
    cast.second_customer.save(update_fields=["archived_at"])
    return cast.second_customer


BAD_CREATIONS: dict[str, tuple[Callable[[Cast], dict[str, Any]], str]] = {
    "end-before-start": (lambda c: {"start": T10, "end": T10 - HOUR}, "ends_at"),
    "zero-length": (lambda c: {"start": T10, "end": T10}, "ends_at"),
    "longer-than-31-days": (
        lambda c: {"start": T10, "end": T10 + dt.timedelta(days=31, minutes=1)},
        "ends_at",
    ),
    "no-start": (lambda c: {"start": None, "end": T10}, "starts_at"),
    "staff-of-another-workspace": (lambda c: {"staff": _other_workspace_member(c)}, "staff"),
    "removed-staff-member": (lambda c: {"staff": _removed_member(c)}, "staff"),
    "no-staff": (lambda c: {"staff": []}, "staff"),
    "customer-of-another-workspace": (lambda c: {"customer": _foreign_customer(c)}, "customer"),
    "archived-customer": (lambda c: {"customer": _archived_customer(c)}, "customer"),
    "empty-title": (lambda c: {"title": ""}, "title"),
    "blank-title": (lambda c: {"title": "   "}, "title"),
    "title-too-long": (lambda c: {"title": "x" * 201}, "title"),
    "location-too-long": (lambda c: {"location": "x" * 256}, "location"),
    "internal-notes-too-long": (lambda c: {"internal_notes": "x" * 5001}, "internal_notes"),
}


@pytest.mark.parametrize("case", list(BAD_CREATIONS))
def test_bad_input_is_refused_on_its_field_and_writes_nothing(cast: Cast, case: str) -> None:
    make, field = BAD_CREATIONS[case]
    values = make(cast)
    before = rows()
    with pytest.raises(ValidationError) as refused:
        book(cast, **values)
    assert field in refused.value.message_dict, refused.value.message_dict
    assert rows() == before
    assert rows()["bookings"] == 0


def test_a_job_of_another_workspace_is_refused_on_job(cast: Cast) -> None:
    pipeline = pipeline_create_from_blueprint(
        workspace=cast.other_workspace, blueprint_key="repair", actor=cast.outsider
    )
    foreign = job_create(
        workspace=cast.other_workspace, pipeline=pipeline, title="Leak", actor=cast.outsider
    )
    before = rows()
    with pytest.raises(ValidationError) as refused:
        book(cast, job=foreign)
    assert "job" in refused.value.message_dict
    assert rows() == before


def test_a_visit_on_a_job_for_another_customer_is_refused_on_customer(cast: Cast, job: Job) -> None:
    before = rows()
    with pytest.raises(ValidationError) as refused:
        book(cast, job=job, customer=cast.second_customer)
    assert "customer" in refused.value.message_dict
    assert rows() == before
    assert next_visit(job) is None


def test_bad_input_to_an_update_is_refused_on_its_field_and_changes_nothing(
    cast: Cast, job: Job
) -> None:
    booking = book(cast, job=job)
    before = rows()
    for changes, field in [
        ({"ends_at": T10 - HOUR}, "ends_at"),
        ({"ends_at": T10}, "ends_at"),
        ({"title": " "}, "title"),
        ({"staff": []}, "staff"),
        ({"staff": _other_workspace_member(cast)}, "staff"),
        ({"customer": cast.second_customer}, "customer"),
        ({"customer": _foreign_customer(cast)}, "customer"),
    ]:
        with pytest.raises(ValidationError) as refused:
            update(booking, cast, **changes)
        assert field in refused.value.message_dict, (changes, refused.value.message_dict)
    assert rows() == before
    fresh = Booking.objects.get(pk=booking.pk)
    assert (fresh.version, fresh.sequence, fresh.title) == (1, 0, "Boiler service")


# ----------------------------------------------------------------------------- changes


def test_an_update_changes_the_details_and_records_which(cast: Cast) -> None:
    booking = book(cast, location="12 Quay St")
    changed = update(booking, cast, title="Boiler annual service", location="14 Quay St")
    fresh = Booking.objects.get(pk=booking.pk)
    assert (fresh.title, fresh.location) == ("Boiler annual service", "14 Quay St")
    assert (changed.version, changed.sequence) == (2, 1)
    assert (fresh.version, fresh.sequence) == (2, 1)
    last = fresh.events.order_by("-id").first()
    assert last is not None
    assert last.kind == BookingEventKind.CHANGED
    assert last.detail == "Changed the title, place"


def test_an_update_that_changes_nothing_writes_nothing(cast: Cast) -> None:
    booking = book(cast)
    before = rows()
    same = update(booking, cast)
    assert (same.version, same.sequence) == (1, 0)
    assert rows() == before


def test_a_move_keeps_the_length_and_records_old_and_new_times(cast: Cast) -> None:
    booking = book(cast, end=T10 + 90 * dt.timedelta(minutes=1))
    moved = services.booking_move(booking=booking, actor=cast.manager, starts_at=T10 + 24 * HOUR)
    assert (moved.starts_at, moved.ends_at) == (T10 + 24 * HOUR, T10 + 25 * HOUR + HOUR / 2)
    event = moved.events.get(kind=BookingEventKind.MOVED)
    assert event.detail == "Tue 4 Jun 2030, 10:00–11:30 → Wed 5 Jun 2030, 10:00–11:30"


def test_a_stale_page_is_refused_and_changes_nothing(cast: Cast) -> None:
    booking = book(cast)
    update(booking, cast, title="Renamed")  # version 2 now
    before = rows()
    with pytest.raises(StaleBooking):
        update(booking, cast, title="From an old page", expected_version=1)
    with pytest.raises(StaleBooking):
        services.booking_move(
            booking=booking, actor=cast.manager, starts_at=T10 + 5 * HOUR, expected_version=1
        )
    with pytest.raises(StaleBooking):
        services.booking_set_status(
            booking=booking, actor=cast.manager, status=BookingStatus.CANCELLED,
            reason="Old page", expected_version=1,
        )  # fmt: skip
    assert rows() == before
    fresh = Booking.objects.get(pk=booking.pk)
    assert (fresh.title, fresh.starts_at, fresh.status) == ("Renamed", T10, "scheduled")
    assert fresh.version == 2
    # The current version is accepted.
    assert update(booking, cast, title="Current", expected_version=2).version == 3


@pytest.mark.parametrize("reason", ["", "   "])
def test_cancelling_without_a_reason_is_refused_on_reason(cast: Cast, reason: str) -> None:
    booking = book(cast)
    before = rows()
    with pytest.raises(ValidationError) as refused:
        services.booking_set_status(
            booking=booking, actor=cast.manager, status=BookingStatus.CANCELLED, reason=reason
        )
    assert "reason" in refused.value.message_dict
    assert rows() == before
    fresh = Booking.objects.get(pk=booking.pk)
    assert (fresh.status, fresh.version) == (BookingStatus.SCHEDULED, 1)
    assert Assignment.objects.get(booking=booking).blocks_time is True


def test_cancelling_records_the_reason_and_a_second_cancel_is_a_no_op(cast: Cast) -> None:
    booking = book(cast)
    cancelled = services.booking_set_status(
        booking=booking, actor=cast.manager, status=BookingStatus.CANCELLED, reason="Flu"
    )
    assert (cancelled.status, cancelled.cancel_reason) == (BookingStatus.CANCELLED, "Flu")
    event = cancelled.events.get(kind=BookingEventKind.CANCELLED)
    assert (event.detail, event.actor) == ("Flu", cast.manager)
    before = rows()
    again = services.booking_set_status(
        booking=booking, actor=cast.manager, status=BookingStatus.CANCELLED, reason="Again"
    )
    assert (again.version, again.cancel_reason) == (cancelled.version, "Flu")
    assert rows() == before


def test_a_visit_no_longer_scheduled_cannot_be_changed_or_given_another_status(
    cast: Cast,
) -> None:
    booking = book(cast)
    services.booking_set_status(
        booking=booking, actor=cast.manager, status=BookingStatus.CANCELLED, reason="Flu"
    )
    before = rows()
    with pytest.raises(ValidationError):
        update(booking, cast, title="Revived")
    with pytest.raises(ValidationError):
        services.booking_set_status(
            booking=booking, actor=cast.manager, status=BookingStatus.COMPLETED
        )
    assert rows() == before
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED


def test_scheduled_is_not_a_status_a_visit_can_be_set_to(cast: Cast) -> None:
    booking = book(cast)
    with pytest.raises(ValidationError) as refused:
        services.booking_set_status(
            booking=booking, actor=cast.manager, status=BookingStatus.SCHEDULED
        )
    assert "status" in refused.value.message_dict


def test_the_sequence_and_version_increase_on_every_change(cast: Cast, job: Job) -> None:
    booking = book(cast)
    seen = [(booking.sequence, booking.version)]

    def step(result: Booking) -> None:
        fresh = Booking.objects.get(pk=booking.pk)
        assert (fresh.sequence, fresh.version) == (result.sequence, result.version)
        seen.append((fresh.sequence, fresh.version))

    step(update(booking, cast, location="Back door"))
    step(services.booking_move(booking=booking, actor=cast.manager, starts_at=T10 + HOUR))
    step(update(booking, cast, staff=[cast.membership(cast.manager)]))
    step(services.booking_attach(booking=booking, job=job, actor=cast.manager))
    step(services.booking_detach(booking=booking, actor=cast.manager))
    step(
        services.booking_set_status(
            booking=booking, actor=cast.manager, status=BookingStatus.CANCELLED, reason="Flu"
        )
    )
    assert seen == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7)]


# ----------------------------------------------------------------------------- the job's side


def test_a_booking_on_a_job_writes_a_customer_visible_entry_and_the_next_visit(
    cast: Cast, job: Job
) -> None:
    booking = book(cast, job=job, location="12 Quay St")
    assert booking.customer == cast.customer  # the job's customer, without being given
    [entry] = visit_entries(job)
    assert entry.kind == ActivityKind.VISIT_BOOKED
    assert entry.visibility == Visibility.CUSTOMER
    assert entry.actor == cast.manager
    assert entry.data["booking"] == booking.pk
    assert entry.data["title"] == "Boiler service"
    assert entry.data["location"] == "12 Quay St"
    assert entry.data["starts_at"] == "2030-06-04T09:00:00+00:00"
    assert entry.data["ends_at"] == "2030-06-04T10:00:00+00:00"
    assert Activity.objects.filter(pk=entry.pk).seen_by_customer(True).exists()
    assert next_visit(job) == T10


def test_a_visit_not_for_the_jobs_customer_is_internal_in_the_jobs_feed(
    cast: Cast, job_without_customer: Job
) -> None:
    book(cast, job=job_without_customer, customer=cast.customer)
    [entry] = visit_entries(job_without_customer)
    assert entry.kind == ActivityKind.VISIT_BOOKED
    assert entry.visibility == Visibility.INTERNAL
    assert not Activity.objects.filter(pk=entry.pk).seen_by_customer(True).exists()


def test_moving_and_cancelling_a_visit_write_the_jobs_feed(cast: Cast, job: Job) -> None:
    booking = book(cast, job=job)
    services.booking_move(booking=booking, actor=cast.manager, starts_at=T10 + 24 * HOUR)
    assert next_visit(job) == T10 + 24 * HOUR
    services.booking_set_status(
        booking=booking, actor=cast.manager, status=BookingStatus.CANCELLED, reason="Away"
    )
    booked, moved, cancelled = visit_entries(job)
    assert [booked.kind, moved.kind, cancelled.kind] == [
        ActivityKind.VISIT_BOOKED,
        ActivityKind.VISIT_MOVED,
        ActivityKind.VISIT_CANCELLED,
    ]
    assert {e.visibility for e in (booked, moved, cancelled)} == {Visibility.CUSTOMER}
    assert moved.data["old_starts_at"] == "2030-06-04T09:00:00+00:00"
    assert moved.data["starts_at"] == "2030-06-05T09:00:00+00:00"
    assert cancelled.data["reason"] == "Away"
    assert next_visit(job) is None


def test_a_detail_change_without_a_move_writes_no_job_entry(cast: Cast, job: Job) -> None:
    booking = book(cast, job=job)
    update(booking, cast, internal_notes="Dog in garden")
    assert [e.kind for e in visit_entries(job)] == [ActivityKind.VISIT_BOOKED]


def test_the_next_visit_is_the_earliest_scheduled_visit_not_yet_ended(cast: Cast, job: Job) -> None:
    now = T10 - 48 * HOUR
    later = book(cast, job=job, title="Second fix", start=T10 + 48 * HOUR, at=now)
    assert next_visit(job) == T10 + 48 * HOUR
    earlier = book(cast, job=job, title="First fix", start=T10, at=now)
    assert next_visit(job) == T10
    # A visit that has already ended does not count, even booked afterwards.
    book(cast, job=job, title="Survey", start=now - 24 * HOUR, at=now)
    assert next_visit(job) == T10
    services.booking_set_status(
        booking=earlier, actor=cast.manager, status=BookingStatus.CANCELLED, reason="Moved",
        at=now,
    )  # fmt: skip
    assert next_visit(job) == T10 + 48 * HOUR
    services.booking_set_status(
        booking=later, actor=cast.manager, status=BookingStatus.COMPLETED, at=now
    )
    assert next_visit(job) is None


def test_a_visit_under_way_is_still_the_next_visit(cast: Cast, job: Job) -> None:
    book(cast, job=job, start=T10, at=T10 + HOUR / 2)
    assert next_visit(job) == T10


def test_internal_notes_never_reach_the_jobs_feed(cast: Cast, job: Job) -> None:
    booking = book(cast, job=job, internal_notes=f"Key under the mat, {SECRET}")
    update(booking, cast, internal_notes=f"Still {SECRET}", title="Boiler service 2")
    services.booking_move(booking=booking, actor=cast.manager, starts_at=T10 + 5 * HOUR)
    services.booking_detach(booking=booking, actor=cast.manager)
    services.booking_attach(booking=booking, job=job, actor=cast.manager)
    services.booking_set_status(
        booking=booking, actor=cast.manager, status=BookingStatus.CANCELLED, reason="Away"
    )
    entries = visit_entries(job)
    assert len(entries) == 5
    for entry in Activity.objects.filter(job=job):
        assert SECRET not in json.dumps(entry.data)
        assert "internal_notes" not in entry.data


def test_attaching_a_visit_puts_it_on_the_job_for_its_customer(cast: Cast, job: Job) -> None:
    booking = book(cast)
    assert booking.customer is None
    attached = services.booking_attach(booking=booking, job=job, actor=cast.manager)
    assert (attached.job_id, attached.customer_id) == (job.pk, cast.customer.pk)
    assert attached.events.filter(kind=BookingEventKind.ATTACHED, detail=job.reference).exists()
    [entry] = visit_entries(job)
    assert (entry.kind, entry.visibility) == (ActivityKind.VISIT_BOOKED, Visibility.CUSTOMER)
    assert next_visit(job) == T10


def test_attaching_a_visit_for_another_customer_is_refused(cast: Cast, job: Job) -> None:
    booking = book(cast, customer=cast.second_customer)
    before = rows()
    with pytest.raises(ValidationError) as refused:
        services.booking_attach(booking=booking, job=job, actor=cast.manager)
    assert "customer" in refused.value.message_dict
    assert rows() == before
    assert Booking.objects.get(pk=booking.pk).job_id is None
    assert next_visit(job) is None


@pytest.mark.parametrize(
    ("status", "reason"), [(BookingStatus.CANCELLED, "Customer away"), (BookingStatus.NO_SHOW, "")]
)
def test_attaching_a_visit_no_longer_scheduled_does_not_tell_the_customer_it_is_booked(
    cast: Cast, job: Job, status: BookingStatus, reason: str
) -> None:
    """The booking page offers "Attach to job" whatever the visit's status. A cancelled visit
    attached to Priya's job must not appear to her as a visit booked (nor e-mail her so):
    either the attach is refused, or the job's feed says nothing customer-visible."""
    booking = book(cast)
    services.booking_set_status(booking=booking, actor=cast.manager, status=status, reason=reason)
    try:
        services.booking_attach(booking=booking, job=job, actor=cast.manager)
    except ValidationError:
        assert Booking.objects.get(pk=booking.pk).job_id is None
    booked = Activity.objects.filter(job=job, kind=ActivityKind.VISIT_BOOKED)
    assert not booked.seen_by_customer(True).exists()
    assert next_visit(job) is None


def test_attaching_a_visit_already_on_another_job_is_refused(
    cast: Cast, job: Job, job_without_customer: Job
) -> None:
    booking = book(cast, job=job_without_customer)
    with pytest.raises(ValidationError) as refused:
        services.booking_attach(booking=booking, job=job, actor=cast.manager)
    assert "job" in refused.value.message_dict
    assert Booking.objects.get(pk=booking.pk).job_id == job_without_customer.pk


def test_detaching_a_visit_takes_it_off_the_job_and_internally_says_so(
    cast: Cast, job: Job
) -> None:
    booking = book(cast, job=job)
    detached = services.booking_detach(booking=booking, actor=cast.manager)
    assert detached.job_id is None
    assert detached.is_scheduled  # it stays on the calendar
    booked, gone = visit_entries(job)
    assert (booked.kind, gone.kind) == (ActivityKind.VISIT_BOOKED, ActivityKind.VISIT_DETACHED)
    # Detaching stays internal: the customer's feed never shows it.
    assert not Activity.objects.filter(pk=gone.pk).seen_by_customer(True).exists()
    assert next_visit(job) is None
    assert detached.events.filter(kind=BookingEventKind.DETACHED, detail=job.reference).exists()


# ----------------------------------------------------------------------------- calendar feeds


def test_renewing_the_feed_link_changes_the_token_and_audits_it(
    cast: Cast, sam: Membership
) -> None:
    first = services.calendar_feed_renew(membership=sam, actor=cast.staff)
    feed = CalendarFeed.objects.get(membership=sam)
    assert feed.token_hash == hashlib.sha256(first.encode()).hexdigest()
    second = services.calendar_feed_renew(membership=sam, actor=cast.staff)
    assert second != first
    assert CalendarFeed.objects.filter(membership=sam).count() == 1
    feed = CalendarFeed.objects.get(membership=sam)
    assert feed.token_hash == hashlib.sha256(second.encode()).hexdigest()
    assert not CalendarFeed.objects.filter(
        token_hash=hashlib.sha256(first.encode()).hexdigest()
    ).exists()
    entries = AuditLogEntry.objects.filter(
        workspace=cast.workspace, action="booking.feed_regenerated"
    ).order_by("id")
    assert [(e.new_value, e.target, e.actor) for e in entries] == [
        ("created", "staff@harbour.test", cast.staff),
        ("renewed", "staff@harbour.test", cast.staff),
    ]


def test_revoking_the_feed_link_deletes_it_and_audits_it_once(cast: Cast, sam: Membership) -> None:
    token = services.calendar_feed_renew(membership=sam, actor=cast.staff)
    assert services.calendar_feed_revoke(membership=sam, actor=cast.admin) is True
    assert not CalendarFeed.objects.filter(membership=sam).exists()
    assert not CalendarFeed.objects.filter(
        token_hash=hashlib.sha256(token.encode()).hexdigest()
    ).exists()
    # Nothing left to revoke: no second audit entry.
    assert services.calendar_feed_revoke(membership=sam, actor=cast.admin) is False
    [entry] = AuditLogEntry.objects.filter(workspace=cast.workspace, action="booking.feed_revoked")
    assert (entry.actor, entry.target, entry.old_value, entry.new_value) == (
        cast.admin,
        "staff@harbour.test",
        "on",
        "off",
    )
    # A new link after revoking is a new one, not the old one back.
    again = services.calendar_feed_renew(membership=sam, actor=cast.staff)
    assert again != token
