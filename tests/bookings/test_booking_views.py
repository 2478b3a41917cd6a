"""The bookings pages over HTTP, from each side: every member may use the calendar and book;
an outsider (the Admin of another workspace, the module on there too) gets 404 for
Harbour's visits; the module switched off makes every page a 404 for everyone; POST-only
actions refuse GET. The calendar draws times on the business's clock across a
daylight-saving change; the form refuses bad input field by field and keeps what was typed;
overlaps, double submits, stale pages, moves, cancelling, attaching and the job page's side.

Harbour's zone is Europe/London unless a test says otherwise: 4 Jun 2030 09:00 UTC is
Tue 4 Jun 2030 10:00 BST.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from jobline.bookings import services
from jobline.bookings.models import (
    Assignment,
    Booking,
    BookingEvent,
    BookingEventKind,
    BookingStatus,
)
from jobline.core.one_time import new_token
from jobline.customers.models import Customer
from jobline.jobs.models import Job
from jobline.pipelines.models import Pipeline
from jobline.workspaces.models import Membership
from tests.bookings.conftest import (
    HOUR,
    INTERNAL_SECRET,
    SYDNEY,
    T10,
    UTC,
    Page,
    book,
    fresh,
    local,
    section,
    set_bookings_module,
    set_time_zone,
    text_of,
)
from tests.conftest import Cast, client_for

DAY = dt.timedelta(days=1)


def form_data(cast: Cast, **changes: Any) -> dict[str, Any]:
    """A complete booking form for Sam, Tue 4 Jun 2030 10:00–11:30 (London); a change of
    ``None`` leaves the field out."""
    data: dict[str, Any] = {
        "one_time_token": new_token(),
        "title": "Fit thermostat",
        "date": "2030-06-04",
        "start_time": "10:00",
        "end_time": "11:30",
        "staff": [cast.membership(cast.staff).pk],
        "customer": cast.customer.pk,
        "location": "12 Quay Street",
        "customer_notes": "Please keep the dog in.",
        "internal_notes": INTERNAL_SECRET,
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def counts() -> tuple[int, int, int]:
    return Booking.objects.count(), BookingEvent.objects.count(), Assignment.objects.count()


def followed(client: Client, response: Any) -> str:
    """The page a redirect leads to (its status checked), as text."""
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    return page.text


def detail_url(booking: Booking) -> str:
    return f"/bookings/{booking.pk}/"


# ----------------------------------------------------------------------------- who may


def test_every_member_opens_every_bookings_page(
    any_member: tuple[str, Client], bookings_on: Cast
) -> None:
    _role, client = any_member
    booking = book(bookings_on, title="Annual boiler service")
    for url in ("/bookings/", "/bookings/new/", detail_url(booking),
                f"/bookings/{booking.pk}/edit/", f"/bookings/{booking.pk}/move/"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 200, url
    detail = client.get(detail_url(booking))
    assert detail.status_code == 200
    assert "Annual boiler service" in detail.text
    assert "Tue 4 Jun 2030, 10:00–11:00" in detail.text
    agenda = client.get("/bookings/", {"view": "agenda", "date": "2030-06-04"})
    assert agenda.status_code == 200
    assert "Annual boiler service" in agenda.text


def test_every_member_books_a_visit_from_the_form(
    any_member: tuple[str, Client], bookings_on: Cast
) -> None:
    role, client = any_member
    response = client.post("/bookings/new/", form_data(bookings_on))
    booking = Booking.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(booking)
    assert booking.created_by == getattr(bookings_on, role)
    assert booking.title == "Fit thermostat"
    assert (booking.starts_at, booking.ends_at) == (T10, T10 + 1.5 * HOUR)
    assert booking.customer == bookings_on.customer
    assert [a.membership.user for a in booking.assignments.all()] == [bookings_on.staff]
    page = followed(client, response)
    assert "Booked: Fit thermostat." in page
    assert "Tue 4 Jun 2030, 10:00–11:30" in page


def test_every_member_edits_moves_cancels_completes_marks_no_shows_attaches_and_detaches(
    any_member: tuple[str, Client], bookings_on: Cast, job: Job
) -> None:
    _role, client = any_member
    cast = bookings_on
    edited, moved, cancelled, completed, missed, attached = (
        book(cast, title=f"Visit {i}", start=T10 + i * DAY) for i in range(6)
    )

    data = form_data(cast, title="Visit 0, renamed", date="2030-06-04", start_time="10:00",
                     end_time="11:00", version=edited.version, one_time_token=None)  # fmt: skip
    response = client.post(f"/bookings/{edited.pk}/edit/", data)
    assert response.status_code == 302
    assert response["Location"] == detail_url(edited)
    assert fresh(edited).title == "Visit 0, renamed"

    response = client.post(
        f"/bookings/{moved.pk}/move/",
        {"date": "2030-06-20", "start_time": "15:00", "version": moved.version},
    )
    assert response.status_code == 302
    assert fresh(moved).starts_at == dt.datetime(2030, 6, 20, 14, 0, tzinfo=UTC)

    response = client.post(f"/bookings/{cancelled.pk}/cancel/", {"reason": "Customer away"})
    assert response.status_code == 302
    assert (fresh(cancelled).status, fresh(cancelled).cancel_reason) == (
        BookingStatus.CANCELLED,
        "Customer away",
    )

    response = client.post(f"/bookings/{completed.pk}/complete/", {})
    assert response.status_code == 302
    assert fresh(completed).status == BookingStatus.COMPLETED

    response = client.post(f"/bookings/{missed.pk}/no-show/", {})
    assert response.status_code == 302
    assert fresh(missed).status == BookingStatus.NO_SHOW

    response = client.post(f"/bookings/{attached.pk}/attach/", {"job_number": job.number})
    assert response.status_code == 302
    assert (fresh(attached).job_id, fresh(attached).customer_id) == (job.pk, job.customer_id)
    response = client.post(f"/bookings/{attached.pk}/detach/")
    assert response.status_code == 302
    assert fresh(attached).job_id is None


def test_an_outsider_gets_404_for_every_page_and_action_on_harbours_visits(
    bookings_on: Cast, as_outsider: Client, job: Job, sam: Membership
) -> None:
    cast = bookings_on
    booking = book(cast, title="Harbour-only visit", job=job, internal_notes=INTERNAL_SECRET)
    pk = booking.pk
    for url in (detail_url(booking), f"/bookings/{pk}/edit/", f"/bookings/{pk}/move/",
                f"/bookings/new/?job={job.number}", f"/bookings/?staff={sam.pk}"):  # fmt: skip
        response = as_outsider.get(url)
        assert response.status_code == 404, url
        assert "Harbour-only visit" not in response.text
        assert INTERNAL_SECRET not in response.text
    posts = {
        f"/bookings/{pk}/edit/": form_data(cast, title="Taken over", version=booking.version),
        f"/bookings/{pk}/move/": {"date": "2030-07-01", "start_time": "08:00"},
        f"/bookings/{pk}/cancel/": {"reason": "Because I can"},
        f"/bookings/{pk}/complete/": {},
        f"/bookings/{pk}/no-show/": {},
        f"/bookings/{pk}/attach/": {"job_number": job.number},
        f"/bookings/{pk}/detach/": {},
    }
    for url, data in posts.items():
        response = as_outsider.post(url, data)
        assert response.status_code == 404, url
    after = fresh(booking)
    assert (after.title, after.starts_at, after.status, after.job_id, after.version) == (
        "Harbour-only visit", T10, BookingStatus.SCHEDULED, job.pk, booking.version,
    )  # fmt: skip
    # Their own calendar of the same week does not show Harbour's visit.
    calendar = as_outsider.get("/bookings/", {"view": "agenda", "date": "2030-06-04"})
    assert calendar.status_code == 200
    assert "Harbour-only visit" not in calendar.text


def test_an_outsider_cannot_book_harbours_staff_customer_or_job(
    bookings_on: Cast, as_outsider: Client, job: Job, sam: Membership
) -> None:
    before = counts()
    staff = as_outsider.post("/bookings/new/", form_data(bookings_on, customer=None))
    assert staff.status_code == 400
    assert Page(staff.text).errors("staff") == [
        f"Select a valid choice. {sam.pk} is not one of the available choices."
    ]
    own = bookings_on.other_workspace.memberships.get().pk
    customer = as_outsider.post("/bookings/new/", form_data(bookings_on, staff=[own]))
    assert customer.status_code == 400
    assert Page(customer.text).errors("customer") == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    on_job = as_outsider.post(
        "/bookings/new/", form_data(bookings_on, staff=[own], customer=None, job=job.number)
    )
    assert on_job.status_code == 404
    assert counts() == before


@pytest.mark.parametrize("who", ["admin", "manager", "staff", "outsider"])
def test_with_the_module_off_every_bookings_url_is_404_for_everyone(
    cast: Cast, job: Job, who: str
) -> None:
    booking = book(cast, title="Switched-off visit", job=job)
    token = services.calendar_feed_renew(membership=cast.membership(cast.staff), actor=cast.staff)
    set_bookings_module(cast, False)
    client = client_for(getattr(cast, who))
    pk = booking.pk
    both = [
        "/bookings/",
        "/bookings/new/",
        f"/bookings/new/?job={job.number}",
        detail_url(booking),
        f"/bookings/{pk}/edit/",
        f"/bookings/{pk}/move/",
    ]
    post_only = [
        "/bookings/feed/",
        f"/bookings/{pk}/cancel/",
        f"/bookings/{pk}/complete/",
        f"/bookings/{pk}/no-show/",
        f"/bookings/{pk}/attach/",
        f"/bookings/{pk}/detach/",
    ]
    for url in both + post_only:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"reason": "x", "job_number": job.number}).status_code == 404, url
    assert client.get(f"/bookings/feed/{token}.ics").status_code == 404
    assert Client().get(f"/bookings/feed/{token}.ics").status_code == 404
    after = fresh(booking)
    assert (after.status, after.job_id, after.version) == (
        BookingStatus.SCHEDULED,
        job.pk,
        booking.version,
    )


@pytest.mark.parametrize(
    "action", ["feed", "{pk}/cancel", "{pk}/complete", "{pk}/no-show", "{pk}/attach",
               "{pk}/detach"],
)  # fmt: skip
def test_get_on_a_post_only_action_is_405_and_changes_nothing(
    any_member: tuple[str, Client], bookings_on: Cast, job: Job, action: str
) -> None:
    _role, client = any_member
    booking = book(bookings_on, job=job)
    response = client.get(f"/bookings/{action.format(pk=booking.pk)}/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    after = fresh(booking)
    assert (after.status, after.job_id, after.version) == (
        BookingStatus.SCHEDULED,
        job.pk,
        booking.version,
    )


def test_pages_refuse_the_methods_they_do_not_take(as_staff: Client, bookings_on: Cast) -> None:
    booking = book(bookings_on)
    assert as_staff.post("/bookings/", {}).status_code == 405
    assert as_staff.post(detail_url(booking), {}).status_code == 405
    assert as_staff.put("/bookings/new/").status_code == 405
    assert as_staff.delete(f"/bookings/{booking.pk}/edit/").status_code == 405
    assert as_staff.delete(f"/bookings/{booking.pk}/move/").status_code == 405
    assert Booking.objects.filter(pk=booking.pk).exists()


# ----------------------------------------------------------------------------- the calendar

# Sydney's clocks go forward at 02:00 on Sun 4 Oct 2026 (AEST +10 → AEDT +11).
BEFORE_DAY = dt.date(2026, 10, 3)  # Saturday, AEST
AFTER_DAY = dt.date(2026, 10, 4)  # Sunday, AEDT


@pytest.fixture
def across_the_change(bookings_on: Cast) -> tuple[Booking, Booking]:
    """Two 10:00–11:00 visits in Sydney, the day before and the day the clocks go forward."""
    set_time_zone(bookings_on, SYDNEY)
    before = book(bookings_on, title="Gutter clean before", start=local(BEFORE_DAY, 10))
    after = book(bookings_on, title="Gutter clean after", start=local(AFTER_DAY, 10))
    return before, after


def shown(html: str, view: str, booking: Booking) -> tuple[str, str]:
    """(time, title) the calendar draws for the visit, in the given view."""
    if view in ("week", "day"):
        pattern = (
            rf'data-booking="{booking.pk}"[^>]*>\s*<span class="cal-event-time">([^<]*)</span>'
            r'\s*<span class="cal-event-title">([^<]*)</span>'
        )
    elif view == "month":
        pattern = (
            rf'href="/bookings/{booking.pk}/"><span class="cal-event-time">([^<]*)</span>'
            r"\s*([^<]*)</a>"
        )
    else:
        pattern = (
            r'<span class="cal-agenda-time">([^<]*)</span>\s*<span class="cal-agenda-what">'
            rf'<a href="/bookings/{booking.pk}/">([^<]*)</a>'
        )
    match = re.search(pattern, html)
    assert match is not None, f"{booking.title} is not on the {view} page"
    return match.group(1), match.group(2).strip()


@pytest.mark.parametrize(
    ("view", "dates", "time"),
    [
        ("week", ["2026-10-01"], "10:00–11:00"),
        ("day", ["2026-10-03", "2026-10-04"], "10:00–11:00"),
        ("month", ["2026-10-15"], "10:00"),
        ("agenda", ["2026-10-03"], "10:00–11:00"),
    ],
)
def test_each_calendar_view_shows_the_visit_at_its_local_time_on_both_sides_of_the_change(
    any_member: tuple[str, Client],
    across_the_change: tuple[Booking, Booking],
    view: str,
    dates: list[str],
    time: str,
) -> None:
    _role, client = any_member
    before, after = across_the_change
    # The same wall time is a different UTC hour on each side of the change.
    assert before.starts_at.hour == 0 and after.starts_at.hour == 23
    html = ""
    for date in dates:
        response = client.get("/bookings/", {"view": view, "date": date})
        assert response.status_code == 200
        assert "times in Australia/Sydney" in response.text
        html += response.text
    assert shown(html, view, before) == (time, "Gutter clean before")
    assert shown(html, view, after) == (time, "Gutter clean after")


def test_the_week_puts_each_visit_in_the_column_of_its_local_day(
    as_staff: Client, across_the_change: tuple[Booking, Booking]
) -> None:
    before, after = across_the_change
    response = as_staff.get("/bookings/", {"view": "week", "date": "2026-10-01"})
    assert response.status_code == 200
    html = response.text
    saturday = html.index('data-day="2026-10-03"')
    sunday = html.index('data-day="2026-10-04"')
    assert saturday < html.index(f'data-booking="{before.pk}"') < sunday
    assert sunday < html.index(f'data-booking="{after.pk}"')


@pytest.mark.parametrize("view", ["week", "day", "month", "agenda"])
@pytest.mark.parametrize("date", ["garbage", "2026-13-01", "2026-02-30", "١٢٣"])
def test_a_date_that_is_not_a_date_is_404(
    as_manager: Client, bookings_on: Cast, view: str, date: str
) -> None:
    assert as_manager.get("/bookings/", {"view": view, "date": date}).status_code == 404


@pytest.mark.parametrize("view", ["week", "day", "month", "agenda"])
@pytest.mark.parametrize("date", ["0001-01-01", "9999-12-31"])
def test_the_first_and_last_representable_days_are_not_a_server_error(
    cast: Cast, bookings_on: Cast, view: str, date: str
) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(cast.manager)
    response = client.get("/bookings/", {"view": view, "date": date})
    assert response.status_code in (200, 404)


def test_a_staff_filter_naming_another_workspaces_member_is_404(
    as_admin: Client, bookings_on: Cast, sam: Membership, max_: Membership
) -> None:
    book(bookings_on, title="Visit for Sam", staff=[sam])
    book(bookings_on, title="Visit for Max", staff=[max_])
    other = bookings_on.other_workspace.memberships.get()
    for raw in (str(other.pk), "abc", "-1", "99999999"):
        response = as_admin.get("/bookings/", {"staff": raw, "date": "2030-06-04"})
        assert response.status_code == 404, raw
        assert "Visit for Sam" not in response.text
    for view in ("week", "day", "month", "agenda"):
        mine = as_admin.get("/bookings/", {"view": view, "staff": sam.pk, "date": "2030-06-04"})
        assert mine.status_code == 200
        assert "Visit for Sam" in mine.text, view
        assert "Visit for Max" not in mine.text, view


# ----------------------------------------------------------------------------- booking


def test_the_new_visit_form_offers_no_book_anyway_until_there_is_an_overlap(
    as_staff: Client, bookings_on: Cast, sam: Membership
) -> None:
    response = as_staff.get("/bookings/new/")
    assert response.status_code == 200
    page = Page(response.text)
    assert not page.has_input("book_anyway")
    assert page.checked("staff") == {str(sam.pk)}  # the member themself by default
    assert page.value("one_time_token")


def _other_member(cast: Cast) -> dict[str, Any]:
    return {"staff": [cast.other_workspace.memberships.get().pk]}


def _foreign_customer(cast: Cast) -> dict[str, Any]:
    other = Customer.objects.create(workspace=cast.other_workspace, name="Elsie", email="e@x.test")
    return {"customer": other.pk}


def _archived_customer(cast: Cast) -> dict[str, Any]:
    gone = Customer.objects.create(
        workspace=cast.workspace, name="Gone Away", email="g@x.test", archived_at=T10
    )
    return {"customer": gone.pk}


BAD_INPUT = {
    "end-before-start": (lambda c: {"start_time": "10:00", "end_time": "09:00"}, "end_time",
                         "The end must be after the start."),
    "zero-length": (lambda c: {"start_time": "10:00", "end_time": "10:00"}, "end_time",
                    "The end must be after the start."),
    "empty-title": (lambda c: {"title": "   "}, "title", "This field is required."),
    "no-staff": (lambda c: {"staff": None}, "staff", "This field is required."),
    "staff-of-another-workspace": (_other_member, "staff", "Select a valid choice. {id} is not "
                                   "one of the available choices."),
    "customer-of-another-workspace": (_foreign_customer, "customer", "Select a valid choice. "
                                      "That choice is not one of the available choices."),
    "archived-customer": (_archived_customer, "customer", "Select a valid choice. That choice "
                          "is not one of the available choices."),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_refused_next_to_its_field_keeping_what_was_typed_and_saving_nothing(
    as_manager: Client, bookings_on: Cast, case: str
) -> None:
    make, field, message = BAD_INPUT[case]
    changes = make(bookings_on)
    data = form_data(bookings_on, **changes)
    before = counts()
    response = as_manager.post("/bookings/new/", data)
    assert response.status_code == 400
    page = Page(response.text)
    wanted = message.format(id=(changes.get("staff") or [""])[0])
    assert wanted in page.errors(field), page.errors(field)
    # What was typed is still there.
    if case != "empty-title":
        assert page.value("title") == "Fit thermostat"
    assert page.value("date") == "2030-06-04"
    assert page.value("start_time") == data["start_time"]
    assert page.value("end_time") == data["end_time"]
    assert page.value("location") == "12 Quay Street"
    assert page.value("one_time_token") == data["one_time_token"]
    assert page.textareas["customer_notes"].strip() == "Please keep the dog in."
    assert page.textareas["internal_notes"].strip() == INTERNAL_SECRET
    if field != "staff":
        assert page.checked("staff") == {str(s) for s in data["staff"]}
    if field != "customer":
        assert page.selected["customer"] == [str(bookings_on.customer.pk)]
    assert counts() == before


def test_an_overlap_is_409_naming_the_visit_in_the_way_and_book_anyway_books_it(
    as_manager: Client, bookings_on: Cast
) -> None:
    first = book(bookings_on, title="Boiler service")  # Sam, 10:00–11:00
    data = form_data(bookings_on, title="Leak check", start_time="10:30", end_time="11:30")
    response = as_manager.post("/bookings/new/", data)
    assert response.status_code == 409
    page = Page(response.text)
    words = text_of(response.text)
    assert "This time is taken." in words
    assert "Sam Staff already has: Boiler service, Tue 4 Jun 2030, 10:00–11:00" in words
    assert f'href="/bookings/{first.pk}/"' in response.text
    assert page.has_input("book_anyway")
    assert page.value("title") == "Leak check"
    assert Booking.objects.count() == 1

    # The same submission (its one-time token kept by the page) with "Book anyway" ticked.
    again = {**data, "one_time_token": page.value("one_time_token"), "book_anyway": "on"}
    response = as_manager.post("/bookings/new/", again)
    assert response.status_code == 302
    second = Booking.objects.get(title="Leak check")
    assert response["Location"] == detail_url(second)
    assert second.overlap_allowed
    assert BookingEventKind.BOOKED_ANYWAY in second.events.values_list("kind", flat=True)
    assert not fresh(first).overlap_allowed


def test_a_double_submitted_form_books_one_visit(as_staff: Client, bookings_on: Cast) -> None:
    data = form_data(bookings_on)
    first = as_staff.post("/bookings/new/", data)
    second = as_staff.post("/bookings/new/", data)
    booking = Booking.objects.get()
    assert first.status_code == 302
    assert second.status_code == 302
    assert first["Location"] == second["Location"] == detail_url(booking)
    assert booking.events.count() == 1


def test_a_booking_that_runs_past_midnight_takes_its_end_day(
    as_staff: Client, bookings_on: Cast
) -> None:
    data = form_data(bookings_on, start_time="22:00", end_time="02:00", end_date="2030-06-05")
    response = as_staff.post("/bookings/new/", data)
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert booking.ends_at - booking.starts_at == 4 * HOUR


# ----------------------------------------------------------------------------- changing


def test_moving_keeps_the_length_and_the_staff(
    as_staff: Client, bookings_on: Cast, sam: Membership, max_: Membership
) -> None:
    booking = book(bookings_on, end=T10 + 1.5 * HOUR, staff=[sam, max_])
    dialog = as_staff.get(f"/bookings/{booking.pk}/move/")
    assert dialog.status_code == 200
    assert Page(dialog.text).value("start_time") == "10:00"
    response = as_staff.post(
        f"/bookings/{booking.pk}/move/",
        {"date": "2030-06-05", "start_time": "14:00", "version": booking.version},
    )
    assert response.status_code == 302
    assert response["Location"] == detail_url(booking)
    moved = fresh(booking)
    assert moved.starts_at == dt.datetime(2030, 6, 5, 13, 0, tzinfo=UTC)
    assert moved.ends_at - moved.starts_at == 1.5 * HOUR
    assert set(moved.assignments.values_list("membership_id", flat=True)) == {sam.pk, max_.pk}
    assert "Moved to Wed 5 Jun 2030, 14:00–15:30" in followed(as_staff, response)


def test_a_move_into_a_taken_slot_is_409_and_book_anyway_moves_it(
    as_staff: Client, bookings_on: Cast
) -> None:
    in_the_way = book(bookings_on, title="Boiler service", start=T10 + DAY)
    booking = book(bookings_on, title="Radiator bleed")
    move = {"date": "2030-06-05", "start_time": "10:30", "version": booking.version}
    response = as_staff.post(f"/bookings/{booking.pk}/move/", move)
    assert response.status_code == 409
    assert "Sam Staff already has: Boiler service, Wed 5 Jun 2030, 10:00–11:00" in text_of(
        response.text
    )
    assert f'href="/bookings/{in_the_way.pk}/"' in response.text
    assert Page(response.text).has_input("book_anyway")
    assert fresh(booking).starts_at == T10

    response = as_staff.post(f"/bookings/{booking.pk}/move/", {**move, "book_anyway": "on"})
    assert response.status_code == 302
    moved = fresh(booking)
    assert moved.starts_at == T10 + DAY + HOUR / 2
    assert moved.overlap_allowed


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/bookings/?view=day&date=2030-06-05", "/bookings/?view=day&date=2030-06-05"),
        ("https://evil.example/phish", None),
        ("//evil.example/phish", None),
        ("http://evil.example/bookings/", None),
        ("javascript:alert(1)", None),
    ],
    ids=["same-host-path", "absolute", "scheme-relative", "http", "javascript"],
)
def test_a_move_follows_next_only_to_a_path_of_this_site(
    as_staff: Client, bookings_on: Cast, next_url: str, lands_on: str | None
) -> None:
    booking = book(bookings_on)
    response = as_staff.post(
        f"/bookings/{booking.pk}/move/",
        {"date": "2030-06-05", "start_time": "10:00", "next": next_url},
    )
    assert response.status_code == 302
    assert response["Location"] == (lands_on or detail_url(booking))
    assert fresh(booking).starts_at == T10 + DAY


def test_a_move_from_a_stale_page_says_so_and_changes_nothing(
    as_staff: Client, bookings_on: Cast, cast: Cast
) -> None:
    booking = book(bookings_on)
    stale_version = booking.version
    services.booking_move(booking=booking, actor=cast.manager, starts_at=T10 + 2 * HOUR)
    current = fresh(booking)
    response = as_staff.post(
        f"/bookings/{booking.pk}/move/",
        {"date": "2030-06-06", "start_time": "08:00", "version": stale_version},
    )
    assert response.status_code == 302
    assert response["Location"] == detail_url(booking)
    assert "This visit changed since you opened it." in followed(as_staff, response)
    after = fresh(booking)
    assert (after.starts_at, after.version) == (current.starts_at, current.version)


def test_an_edit_from_a_stale_page_says_so_and_changes_nothing(
    as_staff: Client, bookings_on: Cast, cast: Cast
) -> None:
    booking = book(bookings_on, title="Original title")
    form = as_staff.get(f"/bookings/{booking.pk}/edit/")
    assert form.status_code == 200
    stale_version = Page(form.text).value("version")
    assert stale_version == str(booking.version)
    services.booking_move(booking=booking, actor=cast.manager, starts_at=T10 + 2 * HOUR)
    current = fresh(booking)
    data = form_data(cast, title="Stale rename", version=stale_version, one_time_token=None)
    response = as_staff.post(f"/bookings/{booking.pk}/edit/", data)
    assert response.status_code == 302
    assert response["Location"] == f"/bookings/{booking.pk}/edit/"
    assert "This visit changed since you opened it." in followed(as_staff, response)
    after = fresh(booking)
    assert (after.title, after.starts_at, after.version) == (
        "Original title",
        current.starts_at,
        current.version,
    )


def test_edit_bad_input_is_400_next_to_the_field_and_changes_nothing(
    as_staff: Client, bookings_on: Cast
) -> None:
    booking = book(bookings_on, title="Original title")
    data = form_data(bookings_on, title="Renamed", end_time="09:00", version=booking.version)
    response = as_staff.post(f"/bookings/{booking.pk}/edit/", data)
    assert response.status_code == 400
    page = Page(response.text)
    assert page.errors("end_time") == ["The end must be after the start."]
    assert page.value("title") == "Renamed"
    after = fresh(booking)
    assert (after.title, after.version) == ("Original title", booking.version)


def test_cancelling_without_a_reason_says_why_not_and_the_visit_stays_scheduled(
    as_staff: Client, bookings_on: Cast
) -> None:
    booking = book(bookings_on)
    for reason in ("", "   "):
        response = as_staff.post(
            f"/bookings/{booking.pk}/cancel/", {"reason": reason, "version": booking.version}
        )
        assert response.status_code == 302
        assert response["Location"] == detail_url(booking)
        assert "Say why the visit is cancelled." in followed(as_staff, response)
        assert fresh(booking).status == BookingStatus.SCHEDULED
        assert fresh(booking).version == booking.version
    response = as_staff.post(
        f"/bookings/{booking.pk}/cancel/", {"reason": "Rained off", "version": booking.version}
    )
    assert response.status_code == 302
    assert "Visit cancelled." in followed(as_staff, response)
    assert fresh(booking).status == BookingStatus.CANCELLED


def test_a_status_change_from_a_stale_page_says_so_and_changes_nothing(
    as_staff: Client, bookings_on: Cast, cast: Cast
) -> None:
    booking = book(bookings_on)
    services.booking_move(booking=booking, actor=cast.manager, starts_at=T10 + HOUR)
    response = as_staff.post(f"/bookings/{booking.pk}/complete/", {"version": booking.version})
    assert response.status_code == 302
    assert "This visit changed since you opened it." in followed(as_staff, response)
    assert fresh(booking).status == BookingStatus.SCHEDULED


# ----------------------------------------------------------------------------- jobs


def test_attaching_by_an_unknown_job_number_is_400_next_to_the_field(
    as_staff: Client, bookings_on: Cast, job: Job
) -> None:
    booking = book(bookings_on)
    for number in ("999999", "0", "abc"):
        response = as_staff.post(f"/bookings/{booking.pk}/attach/", {"job_number": number})
        assert response.status_code == 400, number
        assert Page(response.text).errors("job_number"), number
        assert fresh(booking).job_id is None
    response = as_staff.post(f"/bookings/{booking.pk}/attach/", {"job_number": "999999"})
    assert response.status_code == 400
    assert Page(response.text).errors("job_number") == ["There is no job with that number here."]


def test_attaching_and_detaching_put_the_visit_on_and_off_the_job(
    as_staff: Client, bookings_on: Cast, job: Job
) -> None:
    booking = book(bookings_on, title="Touch-up visit")
    response = as_staff.post(f"/bookings/{booking.pk}/attach/", {"job_number": job.number})
    assert response.status_code == 302
    assert f"Attached to {job.reference}." in followed(as_staff, response)
    assert (fresh(booking).job_id, fresh(booking).customer_id) == (job.pk, job.customer_id)
    job_page = as_staff.get(f"/jobs/{job.number}/")
    assert job_page.status_code == 200
    assert "Touch-up visit" in section(job_page.text, "visits")

    response = as_staff.post(f"/bookings/{booking.pk}/detach/")
    assert response.status_code == 302
    assert "Detached from the job" in followed(as_staff, response)
    assert fresh(booking).job_id is None
    job_page = as_staff.get(f"/jobs/{job.number}/")
    assert job_page.status_code == 200
    assert f'href="/bookings/{booking.pk}/"' not in section(job_page.text, "visits")
    assert "No visits yet." in section(job_page.text, "visits")


def test_the_job_page_offers_book_a_visit_and_lists_its_visits(
    any_member: tuple[str, Client], bookings_on: Cast, job: Job
) -> None:
    _role, client = any_member
    visit = book(bookings_on, title="Fit new boiler", job=job)
    response = client.get(f"/jobs/{job.number}/")
    assert response.status_code == 200
    assert f'href="/bookings/new/?job={job.number}"' in response.text
    assert "Book a visit" in response.text
    visits = section(response.text, "visits")
    assert f'href="/bookings/{visit.pk}/">Fit new boiler</a>' in visits
    assert "Next visit" in response.text


def test_with_the_module_off_the_job_page_neither_offers_nor_lists_visits(
    as_admin: Client, cast: Cast, job: Job
) -> None:
    book(cast, title="Fit new boiler", job=job)
    response = as_admin.get(f"/jobs/{job.number}/")
    assert response.status_code == 200
    assert "Book a visit" not in response.text
    assert "/bookings/new/" not in response.text
    assert 'id="visits"' not in response.text
    assert "Next visit" not in response.text


def test_booking_from_the_job_prefills_its_title_customer_and_owner(
    as_admin: Client, bookings_on: Cast, job: Job, sam: Membership, ada: Membership
) -> None:
    response = as_admin.get("/bookings/new/", {"job": job.number})
    assert response.status_code == 200
    page = Page(response.text)
    assert page.value("title") == "Boiler replacement"
    assert page.value("job") == str(job.number)
    assert page.checked("staff") == {str(sam.pk)}  # the job's owner, not the admin
    assert str(ada.pk) not in page.checked("staff")
    assert f"Book a visit for {job.reference}" in response.text
    assert "For Priya Natarajan (the job&#39;s customer)." in response.text or (
        "For Priya Natarajan (the job's customer)." in response.text
    )

    data = form_data(bookings_on, title=page.value("title"), job=page.value("job"),
                     staff=[sam.pk], customer=None)  # fmt: skip
    created = as_admin.post("/bookings/new/", data)
    assert created.status_code == 302
    booking = Booking.objects.get()
    assert (booking.job_id, booking.customer_id) == (job.pk, bookings_on.customer.pk)


def test_booking_for_an_unknown_job_number_is_404(as_admin: Client, bookings_on: Cast) -> None:
    assert as_admin.get("/bookings/new/", {"job": "424242"}).status_code == 404


def test_the_board_card_shows_the_jobs_next_visit(
    as_staff: Client, bookings_on: Cast, job: Job, repair: Pipeline
) -> None:
    board = as_staff.get(f"/jobs/board/{repair.pk}/", {"cards": "all"})
    assert board.status_code == 200
    assert "Visit " not in _card(board.text, job)
    book(bookings_on, title="Fit new boiler", job=job)
    board = as_staff.get(f"/jobs/board/{repair.pk}/", {"cards": "all"})
    assert board.status_code == 200
    assert "Visit Tue 4 Jun, 10:00" in _card(board.text, job)


def test_the_board_card_shows_the_next_visit_on_the_workspaces_clock(
    as_staff: Client, bookings_on: Cast, job: Job, repair: Pipeline
) -> None:
    set_time_zone(bookings_on, SYDNEY)
    book(bookings_on, title="Fit new boiler", job=job, start=local(dt.date(2030, 6, 4), 10))
    board = as_staff.get(f"/jobs/board/{repair.pk}/", {"cards": "all"})
    assert board.status_code == 200
    assert "Visit Tue 4 Jun, 10:00" in _card(board.text, job)


def _card(html: str, job: Job) -> str:
    start = html.index(f'id="job-card-{job.number}"')
    return html[start : html.index("</li>", start)]


# ----------------------------------------------------------------------------- internal notes


def test_internal_notes_show_on_the_visits_staff_pages(
    any_member: tuple[str, Client], bookings_on: Cast, job: Job
) -> None:
    _role, client = any_member
    booking = book(bookings_on, job=job, internal_notes=INTERNAL_SECRET,
                   customer_notes="Side gate is open.")  # fmt: skip
    detail = client.get(detail_url(booking))
    assert detail.status_code == 200
    assert INTERNAL_SECRET in detail.text
    assert "Side gate is open." in detail.text
    edit = client.get(f"/bookings/{booking.pk}/edit/")
    assert edit.status_code == 200
    assert Page(edit.text).textareas["internal_notes"].strip() == INTERNAL_SECRET


def test_internal_notes_stay_off_the_calendar_and_the_job_page(
    as_staff: Client, bookings_on: Cast, job: Job
) -> None:
    book(bookings_on, job=job, internal_notes=INTERNAL_SECRET)
    for url, params in (("/bookings/", {"view": "agenda", "date": "2030-06-04"}),
                        ("/bookings/", {"view": "week", "date": "2030-06-04"}),
                        (f"/jobs/{job.number}/", {})):  # fmt: skip
        response = as_staff.get(url, params)
        assert response.status_code == 200
        assert INTERNAL_SECRET not in response.text


def test_attaching_another_customers_visit_is_400_and_says_why(
    as_staff: Client, bookings_on: Cast, job: Job
) -> None:
    toms = book(bookings_on, title="Tom tablet pickup", customer=bookings_on.second_customer)
    response = as_staff.post(f"/bookings/{toms.pk}/attach/", {"job_number": job.number})
    assert response.status_code == 400
    assert "A visit on a job is for the job&#39;s customer." in response.text or (
        "A visit on a job is for the job's customer." in response.text
    )
    assert fresh(toms).job_id is None


def test_booking_on_a_job_of_an_archived_customer_says_why_it_is_refused(
    as_staff: Client, bookings_on: Cast, job: Job
) -> None:
    Customer.objects.filter(pk=bookings_on.customer.pk).update(archived_at=T10)
    data = form_data(bookings_on, job=job.number, customer=None)
    response = as_staff.post("/bookings/new/", data)
    assert response.status_code == 400
    assert "This customer is archived; restore them first." in text_of(response.text)
    assert Booking.objects.count() == 0


def test_the_job_pages_history_shows_visits_on_the_business_clock(
    as_staff: Client, bookings_on: Cast, job: Job
) -> None:
    set_time_zone(bookings_on, SYDNEY)
    visit = book(
        bookings_on, title="Fit new boiler", job=job, start=local(dt.date(2026, 10, 4), 10)
    )
    services.booking_move(booking=visit, actor=bookings_on.staff,
                          starts_at=local(dt.date(2026, 10, 3), 10))  # fmt: skip
    response = as_staff.get(f"/jobs/{job.number}/")
    assert response.status_code == 200
    words = text_of(response.text)
    assert "booked the visit Fit new boiler, Sun 4 Oct 2026, 10:00–11:00" in words
    assert (
        "moved the visit Fit new boiler, Sat 3 Oct 2026, 10:00–11:00 "
        "(was Sun 4 Oct 2026, 10:00–11:00)"
    ) in words
    assert "Sat 3 Oct Fit new boiler 10:00–11:00" in text_of(section(response.text, "visits"))


def test_saving_a_visit_whose_customer_was_archived_does_not_drop_the_customer(
    as_staff: Client, bookings_on: Cast
) -> None:
    """The edit form as the browser sends it back (its own values, one title changed): the
    visit's customer, archived since, must stay, or the save must be refused."""
    booking = book(bookings_on, title="Tablet pickup", customer=bookings_on.second_customer)
    Customer.objects.filter(pk=bookings_on.second_customer.pk).update(archived_at=T10)
    form = as_staff.get(f"/bookings/{booking.pk}/edit/")
    assert form.status_code == 200
    page = Page(form.text)
    data = {
        "version": page.value("version"), "title": "Tablet pickup, with charger",
        "date": page.value("date"), "start_time": page.value("start_time"),
        "end_time": page.value("end_time"), "staff": sorted(page.checked("staff")),
        "location": page.value("location") or "",
        "customer_notes": page.textareas["customer_notes"].strip(),
        "internal_notes": page.textareas["internal_notes"].strip(),
    }  # fmt: skip
    if page.selected["customer"] and page.selected["customer"][0]:
        data["customer"] = page.selected["customer"][0]
    response = as_staff.post(f"/bookings/{booking.pk}/edit/", data)
    assert response.status_code in (302, 400)
    assert fresh(booking).customer_id == bookings_on.second_customer.pk


def test_the_workspaces_time_zone_is_active_only_during_its_request(
    as_staff: Client, bookings_on: Cast
) -> None:
    set_time_zone(bookings_on, SYDNEY)
    book(bookings_on, title="Fit new boiler", start=local(dt.date(2030, 6, 4), 10))
    response = as_staff.get("/bookings/", {"view": "agenda", "date": "2030-06-04"})
    assert response.status_code == 200
    assert "10:00–11:00" in response.text
    assert timezone.get_current_timezone_name() == "UTC"
    anonymous = Client().get("/accounts/sign-in/")
    assert anonymous.status_code == 200
    assert timezone.get_current_timezone_name() == "UTC"
