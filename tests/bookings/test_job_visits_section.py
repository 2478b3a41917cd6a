"""The job page's Visits section shows a bounded slice of a job's visits, and the job's Visits
page all of them.

The rule, as written for users (README "Bookings"): the section lists the last
JOB_PAGE_EARLIER visits that are over and the next JOB_PAGE_UPCOMING that are not, in date
order; "Next" marks the first of those to come that is still scheduled; when the job has more,
a link leads to the job's Visits page, which lists every visit in date order. The expected
lists below are written out from that rule, not asked of the selector.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobline.bookings import services
from jobline.bookings.models import Booking, BookingStatus
from jobline.jobs.models import Job
from tests.bookings.conftest import book, section, set_bookings_module
from tests.conftest import Cast

DAY = dt.timedelta(days=1)


def titles_in(html: str) -> list[str]:
    return re.findall(r'href="/bookings/\d+/">([^<]+)</a>', html)


def next_marked(html: str) -> list[str]:
    """The titles of the list items that carry the "Next" chip."""
    items = re.findall(r"<li class=\"[^\"]*\">(.*?)</li>", html, flags=re.S)
    return [titles_in(item)[0] for item in items if '<span class="chip">Next</span>' in item]


@pytest.fixture
def course(bookings_on: Cast, job: Job) -> dict[str, Booking]:
    """Eleven visits around now: four over (days -40…-10), a cancelled one tomorrow, and six
    to come (days 2…7)."""
    now = timezone.now().replace(microsecond=0)
    visits = {}
    for n, days in enumerate([-40, -30, -20, -10], start=1):
        visits[f"Past {n}"] = book(bookings_on, title=f"Past {n}", job=job, start=now + days * DAY)
    visits["Cancelled tomorrow"] = book(
        bookings_on, title="Cancelled tomorrow", job=job, start=now + DAY
    )
    services.booking_set_status(
        booking=visits["Cancelled tomorrow"], actor=bookings_on.manager,
        status=BookingStatus.CANCELLED, reason="Customer away",
    )  # fmt: skip
    for n, days in enumerate(range(2, 8), start=1):
        visits[f"Coming {n}"] = book(
            bookings_on, title=f"Coming {n}", job=job, start=now + days * DAY
        )
    return visits


def test_the_section_shows_the_last_three_over_and_the_next_five_in_date_order(
    any_member: tuple[str, Client], course: dict[str, Booking], job: Job
) -> None:
    _role, client = any_member
    response = client.get(f"/jobs/{job.number}/")
    assert response.status_code == 200
    visits = section(response.text, "visits")
    assert titles_in(visits) == [
        "Past 2", "Past 3", "Past 4",
        "Cancelled tomorrow", "Coming 1", "Coming 2", "Coming 3", "Coming 4",
    ]  # fmt: skip
    # The cancelled visit keeps its place in time but is not the next one.
    assert next_marked(visits) == ["Coming 1"]
    assert f'href="/bookings/jobs/{job.number}/">All 11 visits</a>' in visits
    assert "3 more not shown here" in visits


def test_a_job_with_few_visits_shows_them_all_without_a_link(
    as_staff: Client, bookings_on: Cast, job: Job
) -> None:
    now = timezone.now()
    book(bookings_on, title="Drop-off", job=job, start=now - 2 * DAY)
    book(bookings_on, title="Pickup", job=job, start=now + 2 * DAY)
    visits = section(as_staff.get(f"/jobs/{job.number}/").text, "visits")
    assert titles_in(visits) == ["Drop-off", "Pickup"]
    assert next_marked(visits) == ["Pickup"]
    assert "All 2 visits" not in visits
    assert "/bookings/jobs/" not in visits


def test_the_jobs_visits_page_lists_every_visit_in_date_order(
    any_member: tuple[str, Client], course: dict[str, Booking], job: Job
) -> None:
    _role, client = any_member
    response = client.get(f"/bookings/jobs/{job.number}/")
    assert response.status_code == 200
    page = response.text
    assert titles_in(page) == [
        "Past 1", "Past 2", "Past 3", "Past 4", "Cancelled tomorrow",
        "Coming 1", "Coming 2", "Coming 3", "Coming 4", "Coming 5", "Coming 6",
    ]  # fmt: skip
    assert next_marked(page) == ["Coming 1"]
    assert "11 visits, in date order" in page
    assert f'href="/jobs/{job.number}/"' in page


def test_the_visits_page_of_another_workspaces_job_or_an_unknown_job_is_404(
    as_outsider: Client, as_admin: Client, course: dict[str, Booking], job: Job
) -> None:
    assert as_outsider.get(f"/bookings/jobs/{job.number}/").status_code == 404
    assert as_admin.get(f"/bookings/jobs/{job.number + 999}/").status_code == 404


def test_with_the_module_off_the_visits_page_is_404(
    as_admin: Client, course: dict[str, Booking], bookings_on: Cast, job: Job
) -> None:
    set_bookings_module(bookings_on, False)
    assert as_admin.get(f"/bookings/jobs/{job.number}/").status_code == 404


def test_the_section_costs_the_same_queries_for_two_visits_and_for_eleven(
    as_admin: Client, bookings_on: Cast, job: Job
) -> None:
    now = timezone.now()
    for days in (-1, 1):
        book(bookings_on, title="Visit", job=job, start=now + days * DAY)
    as_admin.get(f"/jobs/{job.number}/")
    with CaptureQueriesContext(connection) as few:
        as_admin.get(f"/jobs/{job.number}/")
    for days in range(2, 11):
        book(bookings_on, title="Visit", job=job, start=now + days * DAY)
    with CaptureQueriesContext(connection) as many:
        as_admin.get(f"/jobs/{job.number}/")
    assert len(many) == len(few)
