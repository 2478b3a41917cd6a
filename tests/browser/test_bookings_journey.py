"""Bookings in a real browser: staff book a visit from a job and find it on the week view,
drag it to another day, meet an overlap and "Book anyway", and the customer sees the visit
(their words only) in the portal and takes it to their own calendar. Then axe on every
calendar page, and no page scrolls sideways on a phone (the week grid scrolls inside its
own box)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from jobline.bookings.models import Booking
from jobline.bookings.services import booking_create
from jobline.jobs.models import Job
from jobline.jobs.services import job_create
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.portal.services import customer_invite
from tests.browser.conftest import (
    PHONE_WIDTH,
    SCREENSHOT_DIR,
    WIDTHS,
    Screenshot,
    assert_accessible,
    scroll_width,
    set_width,
)
from tests.conftest import Cast

# Not the server's UTC: a visit at 10:00 is 09:00 UTC here, so a page that forgot the
# business's clock shows the wrong hour.
TIME_ZONE = "Europe/Berlin"
PLACE = "14 Quay Street, back door"
CUSTOMER_NOTES = "Please leave the side gate open."
INTERNAL_NOTES = "Dog in the garden, ring first. Charge the call-out fee."


# ----------------------------------------------------------------------------- helpers


def bookings_on(cast: Cast, *, portal: bool = False) -> None:
    cast.workspace.module_bookings = True
    cast.workspace.time_zone = TIME_ZONE
    cast.workspace.portal_enabled = portal or cast.workspace.portal_enabled
    cast.workspace.save()


def make_job(cast: Cast, title: str = "Leaking radiator valve") -> Job:
    pipeline = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="repair", actor=cast.admin
    )
    return job_create(
        workspace=cast.workspace, pipeline=pipeline, title=title, actor=cast.admin,
        owner=cast.staff, customer=cast.customer,
    )  # fmt: skip


def next_week(weekday: int) -> dt.date:
    """A day of next week on the business's clock (0 = Monday)."""
    today = timezone.localdate(timezone=ZoneInfo(TIME_ZONE))
    monday = today + dt.timedelta(days=7 - today.weekday())
    return monday + dt.timedelta(days=weekday)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(TIME_ZONE))


def words(day: dt.date, start: str, end: str) -> str:
    """How the app writes a visit's time: "Tue 8 Dec 2026, 10:00–11:30"."""
    return f"{day:%a} {day.day} {day:%b %Y}, {start}–{end}"


def book(cast: Cast, day: dt.date, *, job: Job | None = None, title: str | None = None,
         hour: int = 10, minutes: int = 90) -> Booking:  # fmt: skip
    starts_at = at(day, hour)
    return booking_create(
        workspace=cast.workspace, actor=cast.staff, title=title or (job.title if job else "Visit"),
        starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=minutes),
        staff=[cast.membership(cast.staff)], job=job,
        customer=None if job else cast.customer, location=PLACE,
        customer_notes=CUSTOMER_NOTES, internal_notes=INTERNAL_NOTES,
    )  # fmt: skip


def week_url(day: dt.date) -> str:
    return f"/bookings/?view=week&date={day.isoformat()}"


def day_column(page: Page, day: dt.date) -> Any:
    return page.locator(f'.cal-day[data-day="{day.isoformat()}"]')


def portal_sign_in(page: Page, cast: Cast, live_server: Any, mailoutbox: list) -> None:
    """As the portal journey: staff invite the customer, who opens the e-mailed link."""
    customer_invite(
        customer=cast.customer,
        actor=cast.staff,
        build_url=lambda token: live_server.url + reverse("portal:sign_in_link", args=[token]),
    )
    link = re.search(r"https?://\S+/user/sign-in/\S+/", mailoutbox[-1].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Your jobs")).to_be_visible()


# ----------------------------------------------------------------------------- journeys


def test_staff_book_a_visit_from_a_job_and_find_it_on_the_week_view(
    page: Page, cast: Cast, sign_in: Callable[..., None], screenshot: Screenshot
) -> None:
    bookings_on(cast)
    job = make_job(cast)
    day = next_week(1)  # Tuesday
    sign_in(cast.staff.email)

    page.goto(f"/jobs/{job.number}/")
    visits = page.locator("#visits")
    expect(visits).to_contain_text("No visits yet.")
    visits.get_by_role("link", name="Book a visit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Book a visit for {job.reference}")
    expect(page.get_by_label("Title or service")).to_have_value(job.title)
    expect(page.get_by_text("For Priya Natarajan (the job's customer).")).to_be_visible()
    page.get_by_label("Date", exact=True).fill(day.isoformat())
    page.get_by_label("Start", exact=True).fill("10:00")
    page.get_by_label("End", exact=True).fill("11:30")
    expect(page.get_by_role("checkbox", name="Sam Staff")).to_be_checked()  # the job's owner
    expect(page.get_by_role("checkbox", name="Ada Admin")).not_to_be_checked()
    page.get_by_label("Place").fill(PLACE)
    page.get_by_label("Notes for the customer").fill(CUSTOMER_NOTES)
    page.get_by_label("Internal notes").fill(INTERNAL_NOTES)
    page.get_by_role("button", name="Book visit").click()

    booking = Booking.objects.get(job=job)
    expect(page).to_have_url(re.compile(rf"/bookings/{booking.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(job.title)
    expect(page.locator(".toast-success")).to_contain_text(f"Booked: {job.title}.")
    expect(page.locator(".job-meta")).to_contain_text(words(day, "10:00", "11:30"))
    details = page.locator("dl.details")
    expect(details).to_contain_text("Sam Staff")
    expect(details).to_contain_text(PLACE)
    expect(details).to_contain_text(CUSTOMER_NOTES)
    expect(details).to_contain_text(f"{job.reference} {job.title}")
    expect(page.locator(".internal-note")).to_have_text(INTERNAL_NOTES)
    screenshot(page, "booking-detail")
    assert booking.starts_at.astimezone(ZoneInfo(TIME_ZONE)) == at(day, 10)
    assert booking.ends_at.astimezone(ZoneInfo(TIME_ZONE)) == at(day, 11, 30)

    page.goto(week_url(day))
    event = day_column(page, day).locator(".cal-event")
    expect(event).to_have_count(1)
    expect(event.locator(".cal-event-title")).to_have_text(job.title)
    expect(event.locator(".cal-event-time")).to_have_text("10:00–11:30")
    expect(page.locator(".cal-event")).to_have_count(1)  # in no other column
    screenshot(page, "bookings-week")

    page.goto(f"/jobs/{job.number}/")
    expect(page.locator("#visits")).to_contain_text(job.title)
    expect(page.locator("#visits")).to_contain_text("10:00–11:30")
    expect(page.locator("#feed-entries")).to_contain_text("booked the visit")
    page.locator("#visits").scroll_into_view_if_needed()
    for width in WIDTHS:  # the job page's Visits section, close up
        set_width(page, width)
        page.locator("#visits").screenshot(path=str(SCREENSHOT_DIR / f"job-visits-{width}.png"))


def test_drag_a_visit_to_another_day_moves_it(
    page: Page, cast: Cast, sign_in: Callable[..., None], screenshot: Screenshot
) -> None:
    """Playwright's drag_to: real mouse events, and Chromium's own HTML5 drag and drop
    (dragstart, dragover, drop) reach bookings.js, which fills and submits the move form."""
    bookings_on(cast)
    job = make_job(cast)
    tuesday, wednesday = next_week(1), next_week(2)
    booking = book(cast, tuesday, job=job)
    sign_in(cast.staff.email)

    page.goto(week_url(tuesday))
    event = day_column(page, tuesday).locator(".cal-event")
    expect(event.locator(".cal-event-time")).to_have_text("10:00–11:30")
    target = day_column(page, wednesday).locator('.cal-slot[data-hour="14"]')
    with page.expect_navigation():
        event.drag_to(target, target_position={"x": 10, "y": 2})

    expect(page.locator(".toast-success")).to_contain_text(
        f"Moved to {words(wednesday, '14:00', '15:30')}: {job.title}."
    )
    expect(page).to_have_url(re.compile(re.escape(week_url(tuesday)) + "$"))  # back where it was
    expect(day_column(page, tuesday).locator(".cal-event")).to_have_count(0)
    moved = day_column(page, wednesday).locator(".cal-event")
    expect(moved).to_have_count(1)
    expect(moved.locator(".cal-event-title")).to_have_text(job.title)
    expect(moved.locator(".cal-event-time")).to_have_text("14:00–15:30")
    screenshot(page, "bookings-week-moved")

    booking.refresh_from_db()
    assert booking.starts_at.astimezone(ZoneInfo(TIME_ZONE)) == at(wednesday, 14)
    assert booking.ends_at.astimezone(ZoneInfo(TIME_ZONE)) == at(wednesday, 15, 30)
    assert booking.assignments.get().membership == cast.membership(cast.staff)

    page.goto(f"/jobs/{job.number}/")
    entry = page.locator("#feed-entries .feed-entry", has_text="moved the visit")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text(job.title)
    expect(entry).to_contain_text(words(wednesday, "14:00", "15:30"))
    expect(entry).to_contain_text(f"(was {words(tuesday, '10:00', '11:30')})")


def test_an_overlap_names_the_other_visit_and_book_anyway_books_it(
    page: Page, cast: Cast, sign_in: Callable[..., None], screenshot: Screenshot
) -> None:
    bookings_on(cast)
    job = make_job(cast)
    day = next_week(2)
    first = book(cast, day, job=job, hour=14)
    sign_in(cast.staff.email)

    page.goto("/bookings/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text("New visit")
    page.get_by_label("Title or service").fill("Boiler service")
    page.get_by_label("Date", exact=True).fill(day.isoformat())
    page.get_by_label("Start", exact=True).fill("14:00")
    page.get_by_label("End", exact=True).fill("15:30")
    page.get_by_role("combobox", name="Customer").select_option(label="Tom Whitfield")
    expect(page.get_by_role("checkbox", name="Sam Staff")).to_be_checked()  # me
    expect(page.get_by_label("Book anyway")).to_have_count(0)  # only once it overlaps
    page.get_by_role("button", name="Book visit").click()

    overlap = page.locator("#overlap")
    expect(overlap).to_contain_text("This time is taken.")
    expect(overlap).to_contain_text(
        f"Sam Staff already has: {first.title}, {words(day, '14:00', '15:30')}"
    )
    expect(overlap.get_by_role("link", name=first.title)).to_have_attribute(
        "href", f"/bookings/{first.pk}/"
    )
    book_anyway = page.get_by_label("Book anyway, although it overlaps (this is logged)")
    expect(book_anyway).not_to_be_checked()
    expect(page.get_by_label("Title or service")).to_have_value("Boiler service")  # kept
    assert Booking.objects.count() == 1
    screenshot(page, "booking-conflict")

    book_anyway.check()
    page.get_by_role("button", name="Book visit").click()
    second = Booking.objects.exclude(pk=first.pk).get()
    expect(page).to_have_url(re.compile(rf"/bookings/{second.pk}/$"))
    expect(page.locator(".toast-success")).to_contain_text("Booked: Boiler service.")
    expect(page.locator(".job-meta")).to_contain_text("Overlaps another visit (booked anyway)")
    expect(page.locator(".job-side")).to_contain_text(first.title)  # the history names it
    assert second.overlap_allowed and second.customer == cast.second_customer

    page.goto(week_url(day))
    column = day_column(page, day)
    expect(column.locator(".cal-event")).to_have_count(2)
    expect(column.locator(".cal-event.is-overlap")).to_contain_text("Boiler service")


def test_a_weekly_series_is_booked_in_one_go_and_its_later_visits_cancelled_together(
    page: Page, cast: Cast, sign_in: Callable[..., None], screenshot: Screenshot
) -> None:
    bookings_on(cast)
    job = make_job(cast, title="Physio package")
    monday = next_week(0)
    sign_in(cast.staff.email)

    page.goto(f"/bookings/new/?job={job.number}")
    page.get_by_label("Title or service").fill("Physio session")
    page.get_by_label("Date", exact=True).fill(monday.isoformat())
    page.get_by_label("Start", exact=True).fill("09:00")
    page.get_by_label("End", exact=True).fill("09:45")
    page.get_by_label("Repeats").select_option(label="Every week")
    page.get_by_label("Visits in all").fill("4")
    screenshot(page, "booking-series-form")
    page.get_by_role("button", name="Book visit").click()

    expect(page.locator(".toast-success")).to_contain_text(
        "Booked 4 visits: Physio session, every week."
    )
    series = page.locator("section", has=page.get_by_role("heading", name="Repeating series"))
    expect(series).to_contain_text("Every week, 4 visits. This is visit 1 of 4.")
    expect(series.locator("li")).to_have_count(4)
    later = monday + dt.timedelta(weeks=3)
    expect(series.locator("li").nth(3)).to_have_text(words(later, "09:00", "09:45"))
    screenshot(page, "booking-series")

    # The second visit: cancel it and the two after it, for one reason.
    series.locator("li").nth(1).get_by_role("link").click()
    expect(page.locator(".series-visits [aria-current]")).to_contain_text(
        words(monday + dt.timedelta(weeks=1), "09:00", "09:45")
    )
    page.get_by_label("Reason for cancelling").fill("Treatment finished early")
    page.get_by_label("Also cancel the 2 later visits of this series").check()
    page.get_by_role("button", name="Cancel visit").click()
    expect(page.locator(".toast-success")).to_contain_text(
        "Visit cancelled, and the 2 later visits of its series."
    )
    expect(page.locator(".series-visits .chip-lost")).to_have_count(3)
    statuses = list(Booking.objects.filter(job=job).order_by("starts_at").values_list(
        "status", flat=True))  # fmt: skip
    assert statuses == ["scheduled", "cancelled", "cancelled", "cancelled"]

    page.goto(f"/jobs/{job.number}/")
    expect(page.locator("#visits")).to_contain_text("Physio session")


def test_the_customer_sees_the_visit_in_the_portal_without_the_internal_notes(
    page: Page, cast: Cast, live_server: Any, mailoutbox: list, screenshot: Screenshot
) -> None:
    bookings_on(cast, portal=True)
    job = make_job(cast)
    day = next_week(1)
    booking = book(cast, day, job=job)
    portal_sign_in(page, cast, live_server, mailoutbox)

    page.get_by_role("link", name=job.title).click()
    visits = page.locator("#visits")
    expect(visits.get_by_role("heading", name="Visits")).to_be_visible()
    expect(visits).to_contain_text(words(day, "10:00", "11:30"))  # the business's clock
    expect(visits).to_contain_text(f"{job.title} · {PLACE}")
    expect(visits).to_contain_text(CUSTOMER_NOTES)
    expect(visits).to_contain_text(f"Times are in {TIME_ZONE}.")
    expect(page.locator("body")).not_to_contain_text(INTERNAL_NOTES)
    screenshot(page, "portal-job-visits")
    for width in WIDTHS:  # and the section itself, close up
        set_width(page, width)
        visits.screenshot(path=str(SCREENSHOT_DIR / f"portal-job-visits-section-{width}.png"))

    page.get_by_role("navigation").get_by_role("link", name="Visits").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your visits")
    coming = page.locator(".card", has=page.get_by_role("heading", name="Coming up"))
    visit = coming.locator(".portal-visit")
    expect(visit).to_have_count(1)
    expect(visit).to_contain_text(words(day, "10:00", "11:30"))
    expect(visit).to_contain_text(PLACE)
    expect(visit).to_contain_text(CUSTOMER_NOTES)
    expect(visit.get_by_role("link", name=job.title)).to_have_attribute(
        "href", f"/user/jobs/{job.pk}/"
    )
    expect(page.locator("body")).not_to_contain_text(INTERNAL_NOTES)
    screenshot(page, "portal-visits")

    calendar_link = visit.get_by_role("link", name="Add to my calendar")
    href = calendar_link.get_attribute("href")
    assert href == f"/user/visits/{booking.pk}.ics"
    response = page.request.get(href)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/calendar")
    body = response.text()
    assert "BEGIN:VCALENDAR" in body and "BEGIN:VEVENT" in body
    assert job.title in body
    assert "Quay Street" in body
    assert "Dog in the garden" not in body and "call-out fee" not in body


# ----------------------------------------------------------------------------- checks


def test_calendar_pages_pass_axe(
    page: Page, browser: Browser, cast: Cast, live_server: Any, mailoutbox: list,
    sign_in: Callable[..., None], screenshot: Screenshot,
) -> None:  # fmt: skip
    """Every page is checked, then every failure is reported together."""
    bookings_on(cast, portal=True)
    job = make_job(cast)
    day = next_week(1)
    booking = book(cast, day, job=job)
    book(cast, next_week(3), title="Quote visit", hour=9, minutes=60)
    sign_in(cast.staff.email)
    problems: list[str] = []

    def check(name: str) -> None:
        try:
            assert_accessible(page, name)
        except AssertionError as error:
            problems.append(str(error).split("\nassert ")[0])

    page.goto(week_url(day))
    expect(page.locator(".cal-event")).to_have_count(2)
    check("bookings-week")
    page.goto(f"/bookings/?view=month&date={day.isoformat()}")
    expect(page.locator(".cal-month-event")).to_have_count(2)
    screenshot(page, "bookings-month")
    check("bookings-month")
    page.goto(f"/bookings/?view=agenda&date={next_week(0).isoformat()}")
    expect(page.locator(".cal-agenda li")).to_have_count(2)
    screenshot(page, "bookings-agenda")
    check("bookings-agenda")
    page.goto(f"/bookings/?view=day&date={day.isoformat()}")
    expect(page.locator(".cal-event")).to_have_count(1)
    check("bookings-day")

    page.goto("/bookings/new/")
    page.get_by_label("Title or service").fill("")
    page.get_by_label("End", exact=True).fill("08:00")  # before the 09:00 start
    page.get_by_role("button", name="Book visit").click()
    expect(page.locator(".field-invalid").first).to_be_visible()
    expect(page.locator(".field-invalid")).to_have_count(2)
    screenshot(page, "booking-form-errors")
    check("booking-form-errors")

    page.goto(f"/bookings/{booking.pk}/")
    check("booking-detail")
    page.goto(f"/bookings/{booking.pk}/move/")
    check("booking-move")

    customer = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    portal_sign_in(customer, cast, live_server, mailoutbox)
    customer.goto(f"{live_server.url}/user/visits/")
    expect(customer.locator(".portal-visit")).to_have_count(1)
    try:
        assert_accessible(customer, "portal-visits")
    except AssertionError as error:
        problems.append(str(error).split("\nassert ")[0])
    assert not problems, "\n".join(problems)


def test_no_bookings_page_scrolls_sideways_on_a_phone(
    page: Page, browser: Browser, cast: Cast, live_server: Any, mailoutbox: list,
    sign_in: Callable[..., None],
) -> None:  # fmt: skip
    """At 375 px only the week and day grids may be wider than the screen, and they scroll
    inside their own .cal-scroll box."""
    bookings_on(cast, portal=True)
    job = make_job(cast)
    day = next_week(1)
    booking = book(cast, day, job=job)
    sign_in(cast.staff.email)
    set_width(page, PHONE_WIDTH)
    wide: list[str] = []

    def measure(target: Page, path: str) -> None:
        target.goto(f"{live_server.url}{path}")
        width = scroll_width(target)
        if width > PHONE_WIDTH:
            wide.append(f"{path}: {width}px")

    for path in (
        week_url(day),
        f"/bookings/?view=day&date={day.isoformat()}",
        f"/bookings/?view=month&date={day.isoformat()}",
        f"/bookings/?view=agenda&date={day.isoformat()}",
        "/bookings/new/",
        f"/bookings/new/?job={job.number}",
        f"/bookings/{booking.pk}/",
        f"/bookings/{booking.pk}/move/",
        f"/bookings/{booking.pk}/edit/",
        f"/jobs/{job.number}/",
    ):
        measure(page, path)

    # The week grid is wider than the phone, and scrolls inside its own box.
    page.goto(week_url(day))
    box = page.locator(".cal-scroll")
    assert box.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")
    assert box.evaluate("el => el.clientWidth") <= PHONE_WIDTH

    customer = browser.new_context(viewport={"width": PHONE_WIDTH, "height": 800}).new_page()
    portal_sign_in(customer, cast, live_server, mailoutbox)
    measure(customer, f"/user/jobs/{job.pk}/")
    measure(customer, "/user/visits/")
    assert not wide, "Pages wider than the phone: " + ", ".join(wide)
