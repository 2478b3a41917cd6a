"""Visits in the customer portal: the customer reads their job's visits (to come and past) on
the business's clock, with the place and the notes meant for them, never the internal notes;
nobody else's visits, no internal blocks, nothing with the Bookings module off; the staff
"View as customer" preview shows the same; the job's history says "booked a visit" at local
time, and a no-show never reaches the customer.

Harbour works in Sydney here: its clocks go forward at 02:00 on Sun 4 Oct 2026.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from jobline.bookings import services
from jobline.bookings.models import Booking, BookingStatus
from jobline.jobs.models import Activity, ActivityKind, Job
from jobline.notifications.models import OutgoingEmail
from tests.bookings.conftest import (
    INTERNAL_SECRET,
    SYDNEY,
    book,
    local,
    section,
    set_bookings_module,
    set_time_zone,
    text_of,
)
from tests.conftest import Cast, client_for

CUSTOMER_NOTES = "Please use the side gate."
UPCOMING_DAY = dt.date(2030, 6, 4)  # Tue, AEST
PAST_BEFORE = dt.date(2026, 10, 3)  # Sat, the day before the change (AEST)
PAST_AFTER = dt.date(2026, 10, 4)  # Sun, the day of the change (AEDT from 02:00)


@pytest.fixture
def harbour(portal: Cast) -> Cast:
    """The portal on, the Bookings module on, Sydney time."""
    set_bookings_module(portal, True)
    set_time_zone(portal, SYDNEY)
    return portal


@pytest.fixture
def visits(harbour: Cast, priya_job: Job) -> dict[str, Booking]:
    """Priya's job's visits: one to come, two past (either side of the change)."""
    upcoming = book(
        harbour, title="Fit new screen", job=priya_job, start=local(UPCOMING_DAY, 10),
        location="12 Quay Street", customer_notes=CUSTOMER_NOTES, internal_notes=INTERNAL_SECRET,
    )  # fmt: skip
    before = book(harbour, title="Diagnosis visit", job=priya_job, start=local(PAST_BEFORE, 10),
                  internal_notes=INTERNAL_SECRET)  # fmt: skip
    after = book(harbour, title="Collection visit", job=priya_job, start=local(PAST_AFTER, 10))
    services.booking_set_status(booking=before, actor=harbour.staff, status="completed")
    return {"upcoming": upcoming, "before": before, "after": after}


def portal_feed(html: str) -> str:
    """The job's history as the portal draws it."""
    match = re.search(r'<ol class="feed portal-feed">(.*?)</ol>', html, re.S)
    assert match is not None, "the page has no history"
    return text_of(match.group(1))


def get_ok(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.text


# ----------------------------------------------------------------------------- the customer


def test_the_customer_sees_their_jobs_visits_at_local_time_with_place_and_notes(
    as_priya: Client, priya_job: Job, visits: dict[str, Booking]
) -> None:
    html = get_ok(as_priya, f"/user/jobs/{priya_job.pk}/")
    shown = text_of(section(html, "visits"))
    assert "Tue 4 Jun 2030, 10:00–11:00" in shown
    assert "Fit new screen · 12 Quay Street" in shown
    assert CUSTOMER_NOTES in shown
    # Both past visits at 10:00, though their UTC hours differ across the change.
    assert "Sat 3 Oct 2026, 10:00–11:00" in shown
    assert "Sun 4 Oct 2026, 10:00–11:00" in shown
    assert "Times are in Australia/Sydney." in shown
    earlier = shown.index("Earlier")
    assert shown.index("Fit new screen") < earlier < shown.index("Diagnosis visit")
    assert shown.index("Collection visit") < shown.index("Diagnosis visit")  # latest first
    assert "Completed" in shown
    assert f'href="/user/visits/{visits["upcoming"].pk}.ics"' in html
    assert INTERNAL_SECRET not in html


def test_the_visits_page_lists_the_customers_visits_to_come_then_past(
    as_priya: Client, priya_job: Job, visits: dict[str, Booking]
) -> None:
    html = get_ok(as_priya, "/user/visits/")
    shown = text_of(html)
    coming_up = shown.index("Coming up")
    earlier = shown.index("Earlier")
    assert coming_up < shown.index("Tue 4 Jun 2030, 10:00–11:00") < earlier
    assert earlier < shown.index("Sun 4 Oct 2026, 10:00–11:00")
    assert earlier < shown.index("Sat 3 Oct 2026, 10:00–11:00")
    assert "Fit new screen · 12 Quay Street" in shown
    assert CUSTOMER_NOTES in shown
    assert f'href="/user/jobs/{priya_job.pk}/"' in html
    assert INTERNAL_SECRET not in html


def test_the_customers_ics_has_the_visit_and_never_its_internal_notes(
    as_priya: Client, visits: dict[str, Booking]
) -> None:
    response = as_priya.get(f"/user/visits/{visits['upcoming'].pk}.ics")
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="visit-{visits["upcoming"].pk}.ics"'
    )
    assert b"Fit new screen" in response.content
    assert b"TZID=Australia/Sydney" in response.content
    assert INTERNAL_SECRET.encode() not in response.content


def test_another_customer_gets_404_for_the_ics_and_never_sees_the_visit(
    as_tom: Client, priya_job: Job, tom_job: Job, visits: dict[str, Booking]
) -> None:
    for booking in visits.values():
        response = as_tom.get(f"/user/visits/{booking.pk}.ics")
        assert response.status_code == 404
        assert b"Fit new screen" not in response.content
    for url in ("/user/visits/", f"/user/jobs/{tom_job.pk}/", "/user/jobs/"):
        html = get_ok(as_tom, url)
        for title in ("Fit new screen", "Diagnosis visit", "Collection visit"):
            assert title not in html, url
    job_page = as_tom.get(f"/user/jobs/{priya_job.pk}/")
    assert job_page.status_code == 404
    assert "Fit new screen" not in job_page.text


def test_internal_blocks_and_visits_not_on_the_customers_job_never_appear(
    harbour: Cast, as_priya: Client, priya_job: Job, tom_job: Job
) -> None:
    block = book(harbour, title="Van service", start=local(UPCOMING_DAY, 8))
    no_job = book(harbour, title="Loose visit for Priya", start=local(UPCOMING_DAY, 12),
                  customer=harbour.customer)  # fmt: skip
    toms = book(harbour, title="Tom tablet pickup", start=local(UPCOMING_DAY, 14), job=tom_job)
    assert block.customer is None
    assert toms.customer == harbour.second_customer
    for url in ("/user/visits/", f"/user/jobs/{priya_job.pk}/"):
        html = get_ok(as_priya, url)
        for title in ("Van service", "Loose visit for Priya", "Tom tablet pickup"):
            assert title not in html, url
    for booking in (block, no_job, toms):
        assert as_priya.get(f"/user/visits/{booking.pk}.ics").status_code == 404


def test_a_visit_taken_off_the_job_leaves_the_customers_pages(
    harbour: Cast, as_priya: Client, priya_job: Job, visits: dict[str, Booking]
) -> None:
    services.booking_detach(booking=visits["upcoming"], actor=harbour.staff)
    html = get_ok(as_priya, "/user/visits/")
    assert "Fit new screen" not in html
    assert as_priya.get(f"/user/visits/{visits['upcoming'].pk}.ics").status_code == 404
    assert "Fit new screen" not in section(
        get_ok(as_priya, f"/user/jobs/{priya_job.pk}/"), "visits"
    )


def test_with_the_bookings_module_off_no_visits_are_shown_and_the_ics_is_404(
    harbour: Cast, as_priya: Client, priya_job: Job, visits: dict[str, Booking]
) -> None:
    set_bookings_module(harbour, False)
    job_page = get_ok(as_priya, f"/user/jobs/{priya_job.pk}/")
    assert 'id="visits"' not in job_page
    list_page = get_ok(as_priya, "/user/visits/")
    for title in ("Fit new screen", "Diagnosis visit", "Collection visit"):
        assert title not in list_page
    for booking in visits.values():
        assert as_priya.get(f"/user/visits/{booking.pk}.ics").status_code == 404


# ----------------------------------------------------------------------------- staff preview


@pytest.mark.parametrize("role", ["admin", "manager", "staff"])
def test_view_as_customer_shows_the_visit_without_internal_notes(
    harbour: Cast, priya_job: Job, visits: dict[str, Booking], role: str
) -> None:
    client = client_for(getattr(harbour, role))
    html = get_ok(client, f"/jobs/{priya_job.number}/as-customer/")
    shown = text_of(section(html, "visits"))
    assert "Tue 4 Jun 2030, 10:00–11:00" in shown
    assert "Fit new screen · 12 Quay Street" in shown
    assert CUSTOMER_NOTES in shown
    assert INTERNAL_SECRET not in html
    # A read-only preview: no "Add to my calendar".
    assert f"/user/visits/{visits['upcoming'].pk}.ics" not in html
    assert "Add to my calendar" not in html
    # The member's own page of the visit shows the internal notes.
    assert INTERNAL_SECRET in get_ok(client, f"/bookings/{visits['upcoming'].pk}/")


# ----------------------------------------------------------------------------- the history


def test_the_customers_history_says_booked_moved_and_cancelled_at_local_time(
    harbour: Cast, as_priya: Client, priya_job: Job
) -> None:
    booking = book(harbour, title="Fit new screen", job=priya_job, start=local(UPCOMING_DAY, 10),
                   location="12 Quay Street", internal_notes=INTERNAL_SECRET)  # fmt: skip
    services.booking_move(booking=booking, actor=harbour.staff,
                          starts_at=local(UPCOMING_DAY + dt.timedelta(days=1), 14))  # fmt: skip
    services.booking_set_status(booking=Booking.objects.get(pk=booking.pk), actor=harbour.staff,
                                status="cancelled", reason="Part not in stock")  # fmt: skip
    html = get_ok(as_priya, f"/user/jobs/{priya_job.pk}/")
    history = portal_feed(html)
    assert "booked a visit: Fit new screen, Tue 4 Jun 2030, 10:00–11:00 at 12 Quay Street" in (
        history
    )
    assert (
        "moved a visit: Fit new screen, Wed 5 Jun 2030, 14:00–15:00 "
        "(was Tue 4 Jun 2030, 10:00–11:00) at 12 Quay Street"
    ) in history
    assert "cancelled a visit: Fit new screen, Wed 5 Jun 2030, 14:00–15:00" in history
    assert INTERNAL_SECRET not in html


def test_the_history_shows_a_visit_booked_before_the_change_at_its_local_time(
    harbour: Cast, as_priya: Client, priya_job: Job
) -> None:
    book(harbour, title="Collection visit", job=priya_job, start=local(PAST_AFTER, 10))
    history = portal_feed(get_ok(as_priya, f"/user/jobs/{priya_job.pk}/"))
    assert "booked a visit: Collection visit, Sun 4 Oct 2026, 10:00–11:00" in history


def test_a_no_show_never_reaches_the_customer(
    harbour: Cast, as_priya: Client, priya_job: Job
) -> None:
    booking = book(harbour, title="Diagnosis visit", job=priya_job, start=local(PAST_BEFORE, 10))
    before = portal_feed(get_ok(as_priya, f"/user/jobs/{priya_job.pk}/"))
    services.booking_set_status(booking=booking, actor=harbour.staff, status="no_show")
    no_show = Activity.objects.get(job=priya_job, kind=ActivityKind.VISIT_NO_SHOW)
    html = get_ok(as_priya, f"/user/jobs/{priya_job.pk}/")
    after = portal_feed(html)
    assert after == before
    assert "no-show" not in after.lower()
    assert "booked a visit: Diagnosis visit, Sat 3 Oct 2026, 10:00–11:00" in after
    assert not [e for e in OutgoingEmail.objects.all() if no_show.pk in e.activity_ids]
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.NO_SHOW


def test_with_jobs_hidden_from_the_portal_no_visits_are_shown_and_the_ics_is_404(
    harbour: Cast, as_priya: Client, visits: dict[str, Booking]
) -> None:
    harbour.workspace.portal_jobs = False
    harbour.workspace.save(update_fields=["portal_jobs"])
    html = get_ok(as_priya, "/user/visits/")
    assert "Fit new screen" not in html
    for booking in visits.values():
        assert as_priya.get(f"/user/visits/{booking.pk}.ics").status_code == 404


def test_the_customers_pages_never_call_a_visit_a_no_show(
    harbour: Cast, as_priya: Client, priya_job: Job
) -> None:
    """The job's history keeps a no-show from the customer (and no e-mail tells them): the
    visit lists must not say it either."""
    booking = book(harbour, title="Diagnosis visit", job=priya_job, start=local(PAST_BEFORE, 10))
    services.booking_set_status(booking=booking, actor=harbour.staff, status="no_show")
    for url in (f"/user/jobs/{priya_job.pk}/", "/user/visits/"):
        html = get_ok(as_priya, url)
        assert "Diagnosis visit" in html, url
        assert "no-show" not in html.lower(), url
