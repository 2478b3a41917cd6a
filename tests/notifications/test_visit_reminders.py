"""Visit reminders and visit e-mails: a reminder is queued for a visit on a customer's job
that starts within the workspace's window (``booking_reminder_hours``, 24 by default), once
per visit and start time; never for internal blocks, visits without a reachable customer, or
with reminders off; a cancelled visit's reminder is withheld; the e-mail shows the visit on
the business's clock and never its internal notes. Booking, moving and cancelling a visit on
a job reach the customer through the digest of customer updates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from jobline.bookings import services
from jobline.bookings.models import Booking
from jobline.core.schedule import JOBS
from jobline.customers.models import Customer
from jobline.jobs.models import Job
from jobline.jobs.services import job_create
from jobline.notifications.delivery import deliver, deliver_due
from jobline.notifications.emails import visit_reminders_queue
from jobline.notifications.models import EmailKind, EmailStatus, OutgoingEmail
from jobline.pipelines.models import Pipeline
from tests.bookings.conftest import (
    HOUR,
    INTERNAL_SECRET,
    SYDNEY,
    Page,
    book,
    local,
    set_bookings_module,
    set_time_zone,
)
from tests.conftest import Cast

UTC = dt.UTC
NOW = dt.datetime(2030, 6, 3, 12, 0, tzinfo=UTC)
CUSTOMER_NOTES = "Please use the side gate."


@pytest.fixture
def harbour(portal: Cast) -> Cast:
    """The portal and the Bookings module on (reminders at their default, 24 hours)."""
    set_bookings_module(portal, True)
    return portal


def reminders() -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(kind=EmailKind.VISIT_REMINDER).order_by("id"))


def to_priya(cast: Cast) -> list[Any]:
    return [m for m in mail.outbox if cast.customer.email in m.to]


def html_of(message: Any) -> str:
    return next(content for content, kind in message.alternatives if kind == "text/html")


def set_reminder_hours(cast: Cast, hours: int) -> None:
    cast.workspace.booking_reminder_hours = hours
    cast.workspace.save(update_fields=["booking_reminder_hours"])


# ----------------------------------------------------------------------------- queueing


def test_a_visit_on_a_job_starting_within_the_window_gets_a_reminder(
    harbour: Cast, priya_job: Job
) -> None:
    assert harbour.workspace.booking_reminder_hours == 24
    visit = book(harbour, title="Fit new screen", job=priya_job, start=NOW + 20 * HOUR)
    assert visit_reminders_queue(now=NOW) == 1
    [reminder] = reminders()
    assert (reminder.booking_id, reminder.job_id, reminder.customer_id) == (
        visit.pk,
        priya_job.pk,
        harbour.customer.pk,
    )
    assert reminder.to_address == harbour.customer.email
    assert reminder.status == EmailStatus.WAITING
    assert reminder.send_after == NOW
    assert Booking.objects.get(pk=visit.pk).reminded_for == visit.starts_at


def test_the_window_includes_its_last_hour_and_nothing_beyond(
    harbour: Cast, priya_job: Job
) -> None:
    at_the_edge = book(harbour, title="At 24 h", job=priya_job, start=NOW + 24 * HOUR)
    book(harbour, title="At 25 h", job=priya_job, start=NOW + 25 * HOUR)
    assert visit_reminders_queue(now=NOW) == 1
    assert [r.booking_id for r in reminders()] == [at_the_edge.pk]


def test_a_visit_further_out_gets_its_reminder_once_it_comes_within_the_window(
    harbour: Cast, priya_job: Job
) -> None:
    visit = book(harbour, title="Fit new screen", job=priya_job, start=NOW + 30 * HOUR)
    assert visit_reminders_queue(now=NOW) == 0
    assert reminders() == []
    assert visit_reminders_queue(now=NOW + 7 * HOUR) == 1
    assert [r.booking_id for r in reminders()] == [visit.pk]


def test_a_longer_window_reminds_earlier(harbour: Cast, priya_job: Job) -> None:
    set_reminder_hours(harbour, 48)
    book(harbour, title="Fit new screen", job=priya_job, start=NOW + 40 * HOUR)
    assert visit_reminders_queue(now=NOW) == 1


def test_no_reminders_when_the_window_is_zero_hours(harbour: Cast, priya_job: Job) -> None:
    set_reminder_hours(harbour, 0)
    book(harbour, title="Fit new screen", job=priya_job, start=NOW + HOUR)
    assert visit_reminders_queue(now=NOW) == 0
    assert reminders() == []


def test_no_reminders_with_the_bookings_module_off(harbour: Cast, priya_job: Job) -> None:
    book(harbour, title="Fit new screen", job=priya_job, start=NOW + HOUR)
    set_bookings_module(harbour, False)
    assert visit_reminders_queue(now=NOW) == 0
    assert reminders() == []


def _internal_block(cast: Cast, pipeline: Pipeline, job: Job) -> Booking:
    return book(cast, title="Van service", start=NOW + 2 * HOUR)


def _job_without_customer(cast: Cast, pipeline: Pipeline, job: Job) -> Booking:
    bare = job_create(workspace=cast.workspace, pipeline=pipeline, title="Stock check",
                      actor=cast.admin)  # fmt: skip
    return book(cast, title="Count the van", job=bare, start=NOW + 2 * HOUR)


def _customer_without_email(cast: Cast, pipeline: Pipeline, job: Job) -> Booking:
    quiet = Customer.objects.create(workspace=cast.workspace, name="No Mail", email="")
    their_job = job_create(workspace=cast.workspace, pipeline=pipeline, title="Fence",
                           actor=cast.admin, customer=quiet)  # fmt: skip
    return book(cast, title="Fence repair", job=their_job, start=NOW + 2 * HOUR)


def _archived_customer(cast: Cast, pipeline: Pipeline, job: Job) -> Booking:
    visit = book(cast, title="Fit new screen", job=job, start=NOW + 2 * HOUR)
    Customer.objects.filter(pk=cast.customer.pk).update(archived_at=timezone.now())
    return visit


def _customer_but_no_job(cast: Cast, pipeline: Pipeline, job: Job) -> Booking:
    return book(cast, title="Quote visit", customer=cast.customer, start=NOW + 2 * HOUR)


def _cancelled(cast: Cast, pipeline: Pipeline, job: Job) -> Booking:
    visit = book(cast, title="Fit new screen", job=job, start=NOW + 2 * HOUR)
    return services.booking_set_status(booking=visit, actor=cast.staff, status="cancelled",
                                       reason="Part not in stock")  # fmt: skip


def _already_begun(cast: Cast, pipeline: Pipeline, job: Job) -> Booking:
    return book(cast, title="Fit new screen", job=job, start=NOW - HOUR / 2)


NO_REMINDER: dict[str, Callable[[Cast, Pipeline, Job], Booking]] = {
    "internal-block": _internal_block,
    "job-without-customer": _job_without_customer,
    "customer-without-email": _customer_without_email,
    "archived-customer": _archived_customer,
    "customer-but-no-job": _customer_but_no_job,
    "cancelled": _cancelled,
    "already-begun": _already_begun,
}


@pytest.mark.parametrize("case", list(NO_REMINDER))
def test_no_reminder_for_a_visit_without_a_customer_to_remind(
    harbour: Cast, repair: Pipeline, priya_job: Job, case: str
) -> None:
    visit = NO_REMINDER[case](harbour, repair, priya_job)
    assert visit_reminders_queue(now=NOW) == 0
    assert reminders() == []
    assert Booking.objects.get(pk=visit.pk).reminded_for is None


def test_running_twice_queues_one_reminder(harbour: Cast, priya_job: Job) -> None:
    book(harbour, title="Fit new screen", job=priya_job, start=NOW + 20 * HOUR)
    assert visit_reminders_queue(now=NOW) == 1
    assert visit_reminders_queue(now=NOW) == 0
    assert visit_reminders_queue(now=NOW + HOUR) == 0
    assert len(reminders()) == 1


def test_a_visit_moved_after_its_reminder_gets_a_new_one_for_its_new_time(
    harbour: Cast, priya_job: Job
) -> None:
    visit = book(harbour, title="Fit new screen", job=priya_job, start=NOW + 20 * HOUR)
    assert visit_reminders_queue(now=NOW) == 1
    moved = services.booking_move(booking=visit, actor=harbour.staff, starts_at=NOW + 22 * HOUR)
    assert visit_reminders_queue(now=NOW) == 1
    assert visit_reminders_queue(now=NOW) == 0
    assert [r.booking_id for r in reminders()] == [visit.pk, visit.pk]
    assert Booking.objects.get(pk=visit.pk).reminded_for == moved.starts_at


def test_a_reminder_for_a_visit_cancelled_before_it_went_is_withheld(
    harbour: Cast, priya_job: Job
) -> None:
    visit = book(harbour, title="Fit new screen", job=priya_job, start=NOW + 20 * HOUR)
    assert visit_reminders_queue(now=NOW) == 1
    services.booking_set_status(booking=visit, actor=harbour.staff, status="cancelled",
                                reason="Part not in stock")  # fmt: skip
    [reminder] = reminders()
    assert deliver(reminder.pk, now=NOW).status == "withheld"
    assert OutgoingEmail.objects.get(pk=reminder.pk).status == EmailStatus.WITHHELD
    assert not [m for m in to_priya(harbour) if "reminder" in m.subject]


def test_a_reminder_for_a_visit_taken_off_its_job_is_withheld(
    harbour: Cast, priya_job: Job
) -> None:
    visit = book(harbour, title="Fit new screen", job=priya_job, start=NOW + 20 * HOUR)
    assert visit_reminders_queue(now=NOW) == 1
    services.booking_detach(booking=visit, actor=harbour.staff)
    [reminder] = reminders()
    assert deliver(reminder.pk, now=NOW).status == "withheld"
    assert to_priya(harbour) == []


# ----------------------------------------------------------------------------- what it says


@pytest.mark.parametrize(
    ("day", "words"),
    [(dt.date(2030, 6, 4), "Tue 4 Jun 2030, 10:00–11:00"),  # AEST, +10
     (dt.date(2030, 12, 3), "Tue 3 Dec 2030, 10:00–11:00")],  # AEDT, +11
    ids=["winter", "summer"],
)  # fmt: skip
def test_the_reminder_shows_the_visit_on_the_business_clock_and_no_internal_notes(
    harbour: Cast, priya_job: Job, day: dt.date, words: str
) -> None:
    set_time_zone(harbour, SYDNEY)
    start = local(day, 10)
    book(harbour, title="Fit new screen", job=priya_job, start=start, location="12 Quay Street",
         customer_notes=CUSTOMER_NOTES, internal_notes=INTERNAL_SECRET)  # fmt: skip
    now = start - 20 * HOUR
    assert visit_reminders_queue(now=now) == 1
    [reminder] = reminders()
    assert deliver(reminder.pk, now=now).status == "sent"
    [message] = to_priya(harbour)
    assert message.subject == f"Harbour Renovations: reminder of your visit, {words}"
    assert f"When: {words} (Australia/Sydney)" in message.body
    assert words in html_of(message)
    assert "Fit new screen" in message.body
    assert "Where: 12 Quay Street" in message.body
    assert CUSTOMER_NOTES in message.body
    utc_clock = f"{start:%H:%M}"
    assert utc_clock != "10:00"
    assert f"{utc_clock}–" not in message.body
    for part in (message.subject, message.body, html_of(message)):
        assert INTERNAL_SECRET not in part
    assert f"/user/visits/{reminder.booking_id}.ics" in message.body


def test_a_reminder_sent_after_a_move_tells_the_new_time(harbour: Cast, priya_job: Job) -> None:
    visit = book(harbour, title="Fit new screen", job=priya_job, start=NOW + 20 * HOUR)
    assert visit_reminders_queue(now=NOW) == 1
    services.booking_move(booking=visit, actor=harbour.staff, starts_at=NOW + 21 * HOUR)
    [reminder] = reminders()
    assert deliver(reminder.pk, now=NOW).status == "sent"
    [message] = to_priya(harbour)
    # NOW + 21 h is Tue 4 Jun 2030 09:00 UTC: 10:00 in London.
    assert "Tue 4 Jun 2030, 10:00–11:00" in message.body


# ----------------------------------------------------------------------------- customer updates


def after_window() -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=6)


def test_booking_a_visit_on_a_job_emails_the_customer_a_digest_at_local_time(
    harbour: Cast, priya_job: Job
) -> None:
    set_time_zone(harbour, SYDNEY)
    client = Client()
    client.force_login(harbour.staff)
    response = client.post(
        "/bookings/new/",
        {
            "title": "Fit new screen", "date": "2030-06-04", "start_time": "10:00",
            "end_time": "11:00", "staff": [harbour.membership(harbour.staff).pk],
            "job": priya_job.number, "location": "12 Quay Street",
            "internal_notes": INTERNAL_SECRET,
        },
    )  # fmt: skip
    assert response.status_code == 302
    [update] = OutgoingEmail.objects.filter(kind=EmailKind.CUSTOMER_UPDATE)
    assert (update.customer_id, update.status) == (harbour.customer.pk, EmailStatus.WAITING)
    assert deliver_due() == {}  # the digest window
    assert deliver_due(now=after_window()) == {"sent": 1}
    [message] = to_priya(harbour)
    expected = "booked a visit: Fit new screen, Tue 4 Jun 2030, 10:00–11:00 at 12 Quay Street"
    assert expected in message.body
    assert expected in html_of(message)
    for part in (message.subject, message.body, html_of(message)):
        assert INTERNAL_SECRET not in part


def test_booking_moving_and_cancelling_within_the_window_are_one_digest(
    harbour: Cast, priya_job: Job
) -> None:
    visit = book(harbour, title="Fit new screen", job=priya_job, start=NOW)
    moved = services.booking_move(booking=visit, actor=harbour.staff, starts_at=NOW + HOUR)
    services.booking_set_status(booking=moved, actor=harbour.staff, status="cancelled",
                                reason="Part not in stock")  # fmt: skip
    assert deliver_due(now=after_window()) == {"sent": 1}
    [message] = to_priya(harbour)
    assert "3 updates" in message.subject
    # 3 Jun 2030 12:00 UTC is 13:00 in London.
    assert "booked a visit: Fit new screen, Mon 3 Jun 2030, 13:00–14:00" in message.body
    assert "moved a visit: Fit new screen, Mon 3 Jun 2030, 14:00–15:00" in message.body
    assert "cancelled a visit: Fit new screen" in message.body


def test_completing_or_a_no_show_emails_the_customer_nothing(harbour: Cast, priya_job: Job) -> None:
    done = book(harbour, title="Fit new screen", job=priya_job, start=NOW)
    missed = book(harbour, title="Second look", job=priya_job, start=NOW + 2 * HOUR)
    deliver_due(now=after_window())
    mail.outbox.clear()
    services.booking_set_status(booking=done, actor=harbour.staff, status="completed")
    services.booking_set_status(booking=missed, actor=harbour.staff, status="no_show")
    assert deliver_due(now=after_window() + dt.timedelta(minutes=6)) == {}
    assert to_priya(harbour) == []


def test_an_internal_block_or_another_customers_visit_emails_priya_nothing(
    harbour: Cast, tom_job: Job
) -> None:
    book(harbour, title="Van service", start=NOW)
    book(harbour, title="Tablet pickup", job=tom_job, start=NOW + 2 * HOUR)
    deliver_due(now=after_window())
    assert to_priya(harbour) == []


# ----------------------------------------------------------------------------- the schedule


def test_the_periodic_jobs_are_registered() -> None:
    assert "send_visit_reminders" in JOBS
    assert "advance_next_visits" in JOBS
    assert JOBS["send_visit_reminders"].every <= dt.timedelta(minutes=15)


def test_the_periodic_reminder_job_queues_due_reminders(harbour: Cast, priya_job: Job) -> None:
    book(harbour, title="Fit new screen", job=priya_job, start=timezone.now() + 2 * HOUR)
    assert JOBS["send_visit_reminders"].run() == "1 reminder(s) queued"
    assert JOBS["send_visit_reminders"].run() == "0 reminder(s) queued"
    assert len(reminders()) == 1


def test_a_due_reminder_is_queued_however_many_earlier_visits_cannot_be_reminded(
    harbour: Cast, repair: Pipeline, priya_job: Job
) -> None:
    """Visits whose customer has no e-mail address are never reminded, so they stay due until
    they start: they must not crowd a remindable visit out of the run."""
    quiet = Customer.objects.create(workspace=harbour.workspace, name="No Mail", email="")
    their_job = job_create(workspace=harbour.workspace, pipeline=repair, title="Fence",
                           actor=harbour.admin, customer=quiet)  # fmt: skip
    Booking.objects.bulk_create(
        Booking(workspace=harbour.workspace, job=their_job, customer=quiet, title=f"Fence {i}",
                starts_at=NOW + dt.timedelta(minutes=10 + i), ends_at=NOW + 20 * HOUR)
        for i in range(600)
    )  # fmt: skip
    visit = book(harbour, title="Fit new screen", job=priya_job, start=NOW + 18 * HOUR)
    assert visit_reminders_queue(now=NOW) == 1
    assert [r.booking_id for r in reminders()] == [visit.pk]


# ----------------------------------------------------------------------------- the setting


def test_the_admin_sets_the_reminder_window_in_settings_modules(
    harbour: Cast, priya_job: Job
) -> None:
    admin = Client()
    admin.force_login(harbour.admin)
    modules = {"module_jobs": "on", "module_bookings": "on"}
    response = admin.post("/settings/modules/", {**modules, "booking_reminder_hours": "48"})
    assert response.status_code == 302
    harbour.workspace.refresh_from_db()
    assert harbour.workspace.booking_reminder_hours == 48
    book(harbour, title="Fit new screen", job=priya_job, start=NOW + 40 * HOUR)
    assert visit_reminders_queue(now=NOW) == 1

    # Left empty, it stays as it was.
    response = admin.post("/settings/modules/", {**modules, "booking_reminder_hours": ""})
    assert response.status_code == 302
    harbour.workspace.refresh_from_db()
    assert harbour.workspace.booking_reminder_hours == 48


@pytest.mark.parametrize("hours", ["337", "-1", "abc"])
def test_a_reminder_window_out_of_range_is_refused_next_to_the_field(
    harbour: Cast, hours: str
) -> None:
    admin = Client()
    admin.force_login(harbour.admin)
    response = admin.post(
        "/settings/modules/",
        {"module_jobs": "on", "module_bookings": "on", "booking_reminder_hours": hours},
    )
    assert response.status_code == 400
    assert Page(response.text).errors("booking_reminder_hours")
    harbour.workspace.refresh_from_db()
    assert harbour.workspace.booking_reminder_hours == 24


@pytest.mark.parametrize("role", ["manager", "staff"])
def test_only_an_admin_changes_the_reminder_window(harbour: Cast, role: str) -> None:
    member = Client()
    member.force_login(getattr(harbour, role))
    response = member.post(
        "/settings/modules/",
        {"module_jobs": "on", "module_bookings": "on", "booking_reminder_hours": "0"},
    )
    assert response.status_code == 403
    harbour.workspace.refresh_from_db()
    assert harbour.workspace.booking_reminder_hours == 24
