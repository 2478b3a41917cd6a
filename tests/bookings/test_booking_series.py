"""Repeating visits: "every week, 6 visits" books six ordinary visits at once, on the
business's wall clock across daylight-saving changes; all or none (an overlap anywhere, or
bad input, saves nothing); each is on the job's feed; "also cancel the later visits" cancels
the rest of the series and nothing before it.

Expected times are written out as the wall clock reads them, not computed with the code's own
arithmetic: Sydney's clocks went forward on Sun 4 Oct 2026, so a 10:00 visit is 00:00 UTC
before it and 23:00 UTC (the day before) after it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from jobline.bookings import services
from jobline.bookings.models import Booking, BookingSeries, BookingStatus, Repeat
from jobline.core import wall_time
from jobline.jobs.choices import ActivityKind, Visibility
from jobline.jobs.models import Activity, Job
from jobline.workspaces.models import Membership
from tests.bookings.conftest import (
    HOUR,
    SYDNEY,
    UTC,
    Page,
    book,
    fresh,
    set_time_zone,
    text_of,
)
from tests.bookings.test_booking_views import counts, form_data
from tests.conftest import Cast


def series(cast: Cast, *, repeat: str = Repeat.WEEKLY, count: int = 4, start: dt.datetime,
           length: dt.timedelta = HOUR, **extra: Any) -> list[Booking]:  # fmt: skip
    return services.booking_series_create(
        workspace=cast.workspace, actor=cast.manager, repeat=repeat, count=count,
        title="Physio session", starts_at=start, ends_at=start + length,
        staff=[cast.membership(cast.staff)], **extra,
    )  # fmt: skip


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


# ----------------------------------------------------------------------------- the times


def test_a_weekly_series_keeps_its_wall_clock_time_across_sydneys_change(
    bookings_on: Cast,
) -> None:
    set_time_zone(bookings_on, SYDNEY)
    # Tue 22 Sep 2026 10:00–11:00 AEST is 00:00–01:00 UTC.
    visits = series(bookings_on, count=3, start=utc(2026, 9, 22, 0))
    assert [(v.starts_at, v.ends_at) for v in visits] == [
        (utc(2026, 9, 22, 0), utc(2026, 9, 22, 1)),  # Tue 22 Sep 10:00 AEST
        (utc(2026, 9, 29, 0), utc(2026, 9, 29, 1)),  # Tue 29 Sep 10:00 AEST
        (utc(2026, 10, 5, 23), utc(2026, 10, 6, 0)),  # Tue 6 Oct 10:00 AEDT
    ]
    assert len({v.series_id for v in visits}) == 1
    assert BookingSeries.objects.get().count == 3


@pytest.mark.parametrize(
    ("repeat", "walls"),
    [
        (Repeat.DAILY, ["2027-01-30 09:00", "2027-01-31 09:00", "2027-02-01 09:00"]),
        (Repeat.FORTNIGHTLY, ["2027-01-30 09:00", "2027-02-13 09:00", "2027-02-27 09:00"]),
        (Repeat.FOUR_WEEKLY, ["2027-01-30 09:00", "2027-02-27 09:00", "2027-03-27 09:00"]),
    ],
)
def test_each_repeat_steps_by_its_days(bookings_on: Cast, repeat: str, walls: list[str]) -> None:
    # London is on GMT from 30 Jan to 27 Mar 2027 (the clocks go forward on 28 Mar).
    visits = series(bookings_on, repeat=repeat, count=3, start=utc(2027, 1, 30, 9))
    assert [f"{v.starts_at:%Y-%m-%d %H:%M}" for v in visits] == walls


def test_a_monthly_series_on_the_31st_takes_the_last_day_of_a_shorter_month(
    bookings_on: Cast,
) -> None:
    # Sun 31 Jan 2027 09:00 GMT; 2027 is not a leap year; BST from 28 Mar (09:00 BST is 08:00
    # UTC).
    visits = series(bookings_on, repeat=Repeat.MONTHLY, count=5, start=utc(2027, 1, 31, 9))
    assert [v.starts_at for v in visits] == [
        utc(2027, 1, 31, 9),
        utc(2027, 2, 28, 9),
        utc(2027, 3, 31, 8),
        utc(2027, 4, 30, 8),
        utc(2027, 5, 31, 8),
    ]
    assert all(v.ends_at - v.starts_at == HOUR for v in visits)


def test_a_visit_past_midnight_keeps_its_end_time_in_each_repeat(bookings_on: Cast) -> None:
    # Sat 20 Mar 2027 22:00 GMT to 02:00 the next day; a week later the clocks have gone
    # forward in between (Sun 28 Mar 01:00 GMT), so the night lasts an hour less by the clock.
    visits = series(bookings_on, count=2, start=utc(2027, 3, 20, 22), length=dt.timedelta(hours=4))
    ends = [wall_time.local(v.ends_at, "Europe/London") for v in visits]
    assert [f"{e:%a %d %b %H:%M}" for e in ends] == ["Sun 21 Mar 02:00", "Sun 28 Mar 02:00"]
    assert visits[1].starts_at == utc(2027, 3, 27, 22)


# ----------------------------------------------------------------------------- all or none


def test_an_overlap_with_any_visit_of_the_series_books_none_and_names_it(
    bookings_on: Cast,
) -> None:
    in_the_way = book(bookings_on, title="Boiler service", start=utc(2030, 6, 18, 9))
    before = counts()
    with pytest.raises(services.Overlap) as refused:
        series(bookings_on, count=4, start=utc(2030, 6, 4, 9))  # 4, 11, 18, 25 Jun
    assert [b.pk for b in refused.value.conflicts] == [in_the_way.pk]
    assert "Sam Staff is already booked: Boiler service, Tue 18 Jun 2030" in str(refused.value)
    assert counts() == before
    assert not BookingSeries.objects.exists()


def test_book_anyway_books_the_whole_series_and_marks_only_the_overlapping_visit(
    bookings_on: Cast,
) -> None:
    book(bookings_on, title="Boiler service", start=utc(2030, 6, 18, 9))
    visits = series(bookings_on, count=4, start=utc(2030, 6, 4, 9), book_anyway=True)
    assert [v.overlap_allowed for v in visits] == [False, False, True, False]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"repeat": "hourly"}, "repeat", "Choose how often the visit repeats."),
        ({"count": 1}, "repeat_count", "at least twice"),
        ({"count": 53}, "repeat_count", "52 times at most"),
        ({"count": None}, "repeat_count", "at least twice"),
        ({"repeat": Repeat.DAILY, "length": dt.timedelta(hours=30)}, "repeat",
         "still be running when the next one starts"),
        ({"title": "  "}, "title", "Give the visit a title"),
    ],
)  # fmt: skip
def test_bad_input_books_nothing(
    bookings_on: Cast, change: dict[str, Any], field: str, message: str
) -> None:
    before = counts()
    arguments: dict[str, Any] = {"start": utc(2030, 6, 4, 9), **change}
    title = arguments.pop("title", "Physio session")
    with pytest.raises(ValidationError) as refused:
        services.booking_series_create(
            workspace=bookings_on.workspace, actor=bookings_on.manager,
            repeat=arguments.pop("repeat", Repeat.WEEKLY), count=arguments.pop("count", 3),
            title=title, starts_at=arguments["start"],
            ends_at=arguments["start"] + arguments.get("length", HOUR),
            staff=[bookings_on.membership(bookings_on.staff)],
        )  # fmt: skip
    assert any(message in m for m in refused.value.message_dict[field])
    assert counts() == before
    assert not BookingSeries.objects.exists()


# ----------------------------------------------------------------------------- the job's side


def test_a_series_on_a_job_puts_each_visit_in_the_customers_feed(
    bookings_on: Cast, job: Job
) -> None:
    visits = series(bookings_on, count=3, start=utc(2030, 6, 4, 9), job=job)
    booked = Activity.objects.filter(job=job, kind=ActivityKind.VISIT_BOOKED)
    assert booked.count() == 3
    assert set(booked.values_list("visibility", flat=True)) == {Visibility.CUSTOMER}
    assert all(v.customer_id == job.customer_id for v in visits)
    job.refresh_from_db()
    assert job.next_visit_at == utc(2030, 6, 4, 9)


# ----------------------------------------------------------------------------- over HTTP


def test_the_form_books_a_series_and_the_visit_page_shows_it(
    as_manager: Client, bookings_on: Cast
) -> None:
    response = as_manager.get("/bookings/new/")
    assert response.status_code == 200
    assert Page(response.text).selected["repeat"] == [""]  # "Does not repeat" by default

    data = form_data(bookings_on, repeat=Repeat.FORTNIGHTLY, repeat_count="3")
    response = as_manager.post("/bookings/new/", data)
    assert response.status_code == 302
    visits = list(Booking.objects.order_by("starts_at"))
    assert [f"{v.starts_at:%d %b %H:%M}" for v in visits] == [
        "04 Jun 09:00", "18 Jun 09:00", "02 Jul 09:00",  # 10:00 BST
    ]  # fmt: skip
    assert response["Location"] == f"/bookings/{visits[0].pk}/"
    page = as_manager.get(response["Location"])
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Booked 3 visits: Fit thermostat, every 2 weeks." in words
    assert "Every 2 weeks, 3 visits. This is visit 1 of 3." in words
    assert f'href="/bookings/{visits[2].pk}/"' in page.text
    assert "Also cancel the 2 later visits of this series" in words


def test_the_edit_page_offers_no_repeat(as_manager: Client, bookings_on: Cast) -> None:
    visit = series(bookings_on, count=2, start=utc(2030, 6, 4, 9))[0]
    response = as_manager.get(f"/bookings/{visit.pk}/edit/")
    assert response.status_code == 200
    assert "repeat" not in Page(response.text).selected
    assert not Page(response.text).has_input("repeat_count")


def test_a_repeat_without_a_count_is_refused_next_to_it_keeping_what_was_typed(
    as_manager: Client, bookings_on: Cast
) -> None:
    before = counts()
    data = form_data(bookings_on, repeat=Repeat.WEEKLY)
    response = as_manager.post("/bookings/new/", data)
    assert response.status_code == 400
    page = Page(response.text)
    assert page.errors("repeat_count") == ["Say how many visits in all, this one included."]
    assert page.selected["repeat"] == [Repeat.WEEKLY]
    assert page.value("title") == "Fit thermostat"
    assert counts() == before


def test_a_count_over_the_limit_is_refused_next_to_it(
    as_manager: Client, bookings_on: Cast
) -> None:
    before = counts()
    response = as_manager.post(
        "/bookings/new/", form_data(bookings_on, repeat=Repeat.WEEKLY, repeat_count="53")
    )
    assert response.status_code == 400
    assert Page(response.text).errors("repeat_count") == [
        "Ensure this value is less than or equal to 52."
    ]
    assert Page(response.text).value("repeat_count") == "53"
    assert counts() == before


def test_an_overlapping_series_is_409_and_book_anyway_books_it(
    as_manager: Client, bookings_on: Cast
) -> None:
    in_the_way = book(bookings_on, title="Boiler service", start=utc(2030, 6, 11, 9))
    data = form_data(bookings_on, repeat=Repeat.WEEKLY, repeat_count="3")
    response = as_manager.post("/bookings/new/", data)
    assert response.status_code == 409
    assert "Sam Staff already has: Boiler service, Tue 11 Jun 2030" in text_of(response.text)
    assert Booking.objects.count() == 1
    page = Page(response.text)
    again = {**data, "one_time_token": page.value("one_time_token"), "book_anyway": "on"}
    assert as_manager.post("/bookings/new/", again).status_code == 302
    assert Booking.objects.exclude(pk=in_the_way.pk).count() == 3


def test_a_double_submitted_series_is_booked_once(as_staff: Client, bookings_on: Cast) -> None:
    data = form_data(bookings_on, repeat=Repeat.WEEKLY, repeat_count="4")
    first = as_staff.post("/bookings/new/", data)
    second = as_staff.post("/bookings/new/", data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Booking.objects.count() == 4
    assert BookingSeries.objects.count() == 1


# ----------------------------------------------------------------------------- cancelling


def test_cancelling_with_the_later_visits_leaves_the_earlier_and_the_finished_ones(
    as_manager: Client, bookings_on: Cast, sam: Membership
) -> None:
    first, second, third, fourth = series(bookings_on, count=4, start=utc(2030, 6, 4, 9))
    services.booking_set_status(
        booking=third, actor=bookings_on.manager, status=BookingStatus.COMPLETED
    )
    response = as_manager.post(
        f"/bookings/{second.pk}/cancel/",
        {"version": fresh(second).version, "reason": "Moved away", "and_later": "on"},
    )
    assert response.status_code == 302
    page = as_manager.get(response["Location"])
    assert "Visit cancelled, and the 1 later visit of its series." in text_of(page.text)
    assert [fresh(b).status for b in (first, second, third, fourth)] == [
        BookingStatus.SCHEDULED, BookingStatus.CANCELLED, BookingStatus.COMPLETED,
        BookingStatus.CANCELLED,
    ]  # fmt: skip
    assert fresh(fourth).cancel_reason == "Moved away"


def test_cancelling_without_the_box_cancels_that_visit_alone(
    as_manager: Client, bookings_on: Cast
) -> None:
    visits = series(bookings_on, count=3, start=utc(2030, 6, 4, 9))
    response = as_manager.post(
        f"/bookings/{visits[0].pk}/cancel/",
        {"version": visits[0].version, "reason": "Ill"},
    )
    assert response.status_code == 302
    assert [fresh(b).status for b in visits] == [
        BookingStatus.CANCELLED, BookingStatus.SCHEDULED, BookingStatus.SCHEDULED,
    ]  # fmt: skip


def test_cancelling_the_series_needs_a_reason_and_changes_nothing_without_one(
    as_manager: Client, bookings_on: Cast
) -> None:
    visits = series(bookings_on, count=3, start=utc(2030, 6, 4, 9))
    response = as_manager.post(
        f"/bookings/{visits[0].pk}/cancel/",
        {"version": visits[0].version, "reason": "", "and_later": "on"},
    )
    assert response.status_code == 302
    assert "Say why the visit is cancelled." in text_of(as_manager.get(response["Location"]).text)
    assert {fresh(b).status for b in visits} == {BookingStatus.SCHEDULED}
