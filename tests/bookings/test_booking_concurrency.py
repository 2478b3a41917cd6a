"""The overlap rule under real concurrency: requests for one person's time that arrive at the
same moment, each on its own connection, end with exactly one visit in that time.

On PostgreSQL the exclusion constraint (bookings migration 0002) refuses the requests whose
checks all passed together. On SQLite every write transaction takes the write lock at its start
(``transaction_mode=IMMEDIATE``), so the checks run one after another; the file database of
tests/conftest.py gives each thread a connection of its own.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import OperationalError, connection, connections

from jobline.bookings import services
from jobline.bookings.models import Assignment, Booking, BookingEvent
from jobline.bookings.services import Overlap
from jobline.jobs.models import Activity, ActivityKind, Job
from jobline.jobs.services import job_create
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.workspaces.models import Membership, Workspace
from jobline.workspaces.services import workspace_update_settings
from tests.concurrency import run_together
from tests.conftest import Cast, make_user

pytestmark = pytest.mark.django_db(transaction=True)

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs a server with concurrent writers and the exclusion constraint",
)
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's own serialisation of writers"
)

UTC = dt.UTC
HOUR = dt.timedelta(hours=1)
T10 = dt.datetime(2030, 6, 4, 9, 0, tzinfo=UTC)  # Tue 4 Jun 2030, 10:00 in London
REQUESTS = 10


def same_slot_requests(cast: Cast, *, job: Job | None = None) -> list[Callable[[], Any]]:
    """REQUESTS bookings of Sam for about the same hour (each a minute after the one before, so
    every two overlap)."""
    sam = cast.membership(cast.staff)

    def request(i: int) -> Callable[[], Any]:
        return lambda: services.booking_create(
            workspace=Workspace.objects.get(pk=cast.workspace.pk), actor=cast.manager,
            title=f"Visit {i}", starts_at=T10 + dt.timedelta(minutes=i),
            ends_at=T10 + HOUR + dt.timedelta(minutes=i), staff=[sam], job=job,
        )  # fmt: skip

    return [request(i) for i in range(REQUESTS)]


def assert_one_booked_the_rest_refused(results: list[Any]) -> Booking:
    booked = [r for r in results if isinstance(r, Booking)]
    refused = [r for r in results if isinstance(r, Overlap)]
    assert (len(booked), len(refused)) == (1, REQUESTS - 1), results
    assert Booking.objects.count() == 1
    assert Assignment.objects.count() == 1
    assert BookingEvent.objects.count() == 1  # the winner's "booked"; refusals wrote nothing
    winner = booked[0]
    for overlap in refused:
        # Each refusal names the visit that got there first (and so reads as a sentence).
        assert [b.pk for b in overlap.conflicts] == [winner.pk]
        assert winner.title in str(overlap) and "Sam Staff" in str(overlap)
    return winner


@postgresql_only
def test_ten_simultaneous_bookings_of_one_persons_slot_give_one_visit_and_nine_refusals(
    cast: Cast,
) -> None:
    assert_one_booked_the_rest_refused(run_together(same_slot_requests(cast)))


@sqlite_only
def test_on_sqlite_ten_simultaneous_bookings_of_one_slot_give_one_visit_and_nine_refusals(
    cast: Cast,
) -> None:
    assert_one_booked_the_rest_refused(run_together(same_slot_requests(cast)))


@postgresql_only
def test_simultaneous_bookings_on_a_job_leave_one_feed_entry_and_its_next_visit(
    cast: Cast,
) -> None:
    pipeline = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="repair", actor=cast.admin
    )
    job = job_create(
        workspace=cast.workspace, pipeline=pipeline, title="Boiler", actor=cast.admin,
        customer=cast.customer,
    )  # fmt: skip
    winner = assert_one_booked_the_rest_refused(run_together(same_slot_requests(cast, job=job)))
    entries = Activity.objects.filter(job=job, kind=ActivityKind.VISIT_BOOKED)
    assert list(entries.values_list("data__booking", flat=True)) == [winner.pk]
    assert Job.objects.get(pk=job.pk).next_visit_at == winner.starts_at


@postgresql_only
def test_simultaneous_bookings_of_different_people_in_one_slot_all_succeed(cast: Cast) -> None:
    people = [
        Membership.objects.create(
            workspace=cast.workspace, user=make_user(f"fitter{i}@harbour.test", f"Fitter {i}")
        )
        for i in range(REQUESTS)
    ]

    def request(member: Membership) -> Callable[[], Any]:
        return lambda: services.booking_create(
            workspace=Workspace.objects.get(pk=cast.workspace.pk), actor=cast.manager,
            title=f"Visit of {member.pk}", starts_at=T10, ends_at=T10 + HOUR, staff=[member],
        )  # fmt: skip

    results = run_together([request(m) for m in people])
    assert all(isinstance(r, Booking) for r in results), results
    assert Booking.objects.count() == REQUESTS


@postgresql_only
def test_two_simultaneous_moves_into_one_free_slot_one_wins(cast: Cast) -> None:
    sam = cast.membership(cast.staff)
    bookings = []
    for day in (2, 3):
        start = T10 + day * 24 * HOUR
        bookings.append(
            services.booking_create(
                workspace=cast.workspace,
                actor=cast.manager,
                title=f"Visit on day {day}",
                starts_at=start,
                ends_at=start + HOUR,
                staff=[sam],
            )
        )

    def move(booking: Booking) -> Callable[[], Any]:
        return lambda: services.booking_move(
            booking=Booking.objects.get(pk=booking.pk), actor=cast.manager, starts_at=T10
        )

    results = run_together([move(b) for b in bookings])
    moved = [r for r in results if isinstance(r, Booking)]
    refused = [r for r in results if isinstance(r, Overlap)]
    assert (len(moved), len(refused)) == (1, 1), results
    assert Booking.objects.filter(starts_at=T10).count() == 1
    loser = next(b for b in bookings if b.pk != moved[0].pk)
    fresh = Booking.objects.get(pk=loser.pk)
    assert fresh.starts_at == loser.starts_at and fresh.version == 1
    assert Assignment.objects.get(booking=loser).starts_at == loser.starts_at


@pytest.fixture
def paused_change(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, threading.Event]]:
    """Holds a booking change in its transaction (just before it tells the job) until
    ``release`` is set; ``holding`` is set once it is there."""
    events = {"holding": threading.Event(), "release": threading.Event()}
    original = services._tell_job

    def paused(**kwargs: Any) -> None:
        if kwargs["booking"].title == "Held":
            events["holding"].set()
            events["release"].wait(timeout=20)
        original(**kwargs)

    monkeypatch.setattr(services, "_tell_job", paused)
    yield events
    events["release"].set()


@postgresql_only
def test_a_change_to_one_visit_does_not_hold_up_other_visits_or_the_workspace_settings(
    cast: Cast, paused_change: dict[str, threading.Event]
) -> None:
    """Moving one visit locks that visit, not the workspace: while it is being saved, another
    visit of the workspace can be moved and an Admin can save the workspace's settings."""
    sam = cast.membership(cast.staff)
    held = services.booking_create(
        workspace=cast.workspace, actor=cast.manager, title="Held", starts_at=T10,
        ends_at=T10 + HOUR, staff=[sam],
    )  # fmt: skip
    other = services.booking_create(
        workspace=cast.workspace, actor=cast.manager, title="Other",
        starts_at=T10 + 24 * HOUR, ends_at=T10 + 25 * HOUR, staff=[sam],
    )  # fmt: skip
    results: dict[str, Any] = {}

    def hold() -> None:
        try:
            results["held"] = services.booking_move(
                booking=held, actor=cast.manager, starts_at=T10 + 2 * HOUR
            )
        except Exception as error:
            results["held"] = error
        finally:
            connections.close_all()

    def meanwhile() -> None:
        # Waiting more than 2 s for a lock means the held change is in the way.
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        try:
            results["other"] = services.booking_move(
                booking=other, actor=cast.manager, starts_at=T10 + 48 * HOUR
            )
        except OperationalError as error:
            results["other"] = error
        try:
            results["settings"] = workspace_update_settings(
                workspace=cast.workspace, actor=cast.admin,
                changes={"booking_reminder_hours": 12},
            )  # fmt: skip
        except OperationalError as error:
            results["settings"] = error
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    assert paused_change["holding"].wait(timeout=20)
    waiter = threading.Thread(target=meanwhile)
    waiter.start()
    waiter.join(timeout=30)
    paused_change["release"].set()
    holder.join(timeout=30)
    assert isinstance(results["held"], Booking), results
    assert isinstance(results.get("other"), Booking), results
    assert isinstance(results.get("settings"), list), results
    assert Workspace.objects.get(pk=cast.workspace.pk).booking_reminder_hours == 12
