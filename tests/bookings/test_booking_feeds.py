"""The private calendar feed over HTTP: switching it on, renewing and revoking it (audited),
the member's own links on the calendar page, and the .ics itself read back with icalendar —
the business's time zone, refresh hints, stable UIDs with rising SEQUENCEs, cancellations
kept, only the member's own visits, ETag/304, and every way a token stops working. A
customer's single-visit .ics never carries the internal notes the staff feed does.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from icalendar import Calendar

from jobline.bookings import feeds, services
from jobline.bookings.models import Booking, CalendarFeed
from jobline.jobs.models import Job
from jobline.workspaces.models import AuditLogEntry, Membership
from jobline.workspaces.services import member_remove
from tests.bookings.conftest import (
    HOUR,
    INTERNAL_SECRET,
    SYDNEY,
    T10,
    book,
    fresh,
    local,
    set_bookings_module,
    set_time_zone,
)
from tests.conftest import Cast
from tests.portal.conftest import as_priya, portal, priya  # noqa: F401  (fixtures)

FEED_URL = re.compile(r'id="feed-url" type="text" readonly value="([^"]+)"')
CUSTOMER_NOTES = "Please use the side gate."


def renew(client: Client) -> None:
    response = client.post("/bookings/feed/", {"action": "renew"})
    assert response.status_code == 302
    assert response["Location"] == "/bookings/#feed"


def token_on_page(client: Client) -> str:
    """The token of the feed link the calendar page shows the signed-in member."""
    page = client.get("/bookings/")
    assert page.status_code == 200
    match = FEED_URL.search(page.text)
    assert match is not None, "the calendar page shows no feed link"
    return match.group(1).rsplit("/", 1)[1].removesuffix(".ics")


def feed_of(client: Client) -> str:
    renew(client)
    return token_on_page(client)


def fetch(token: str, **headers: Any) -> Any:
    """The feed as a phone fetches it: no sign-in."""
    return Client().get(f"/bookings/feed/{token}.ics", headers=headers)


def calendar_of(token: str) -> Calendar:
    response = fetch(token)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def events(calendar: Calendar) -> dict[str, Any]:
    """The calendar's events by SUMMARY."""
    return {str(event["SUMMARY"]): event for event in calendar.walk("VEVENT")}


def audit(action: str, cast: Cast) -> list[AuditLogEntry]:
    return list(
        AuditLogEntry.objects.filter(workspace=cast.workspace, action=action).order_by("id")
    )


# ----------------------------------------------------------------------------- the link


def test_switching_the_feed_on_and_renewing_it_are_audited_and_the_page_shows_own_links(
    any_member: tuple[str, Client], bookings_on: Cast
) -> None:
    role, client = any_member
    user = getattr(bookings_on, role)
    membership = bookings_on.membership(user)
    before = client.get("/bookings/")
    assert before.status_code == 200
    assert "Get my feed link" in before.text
    assert "webcal://" not in before.text

    renew(client)
    [created] = audit("booking.feed_regenerated", bookings_on)
    assert (created.actor, created.target, created.new_value) == (user, user.email, "created")
    row = CalendarFeed.objects.get(membership=membership)
    token = feeds.token_for(membership.pk, row.nonce)
    assert row.token_hash == feeds.token_hash(token)
    assert token not in row.token_hash  # the database keeps only the hash

    page = client.get("/bookings/", secure=True)
    assert page.status_code == 200
    assert f'value="https://testserver/bookings/feed/{token}.ics"' in page.text
    assert f'href="webcal://testserver/bookings/feed/{token}.ics"' in page.text

    renew(client)
    renewed = audit("booking.feed_regenerated", bookings_on)
    assert [e.new_value for e in renewed] == ["created", "renewed"]
    new_token = token_on_page(client)
    assert new_token != token
    page = client.get("/bookings/", secure=True)
    assert page.status_code == 200
    assert token not in page.text
    assert f"webcal://testserver/bookings/feed/{new_token}.ics" in page.text


def test_the_calendar_page_never_shows_a_colleagues_feed_link(
    as_staff: Client, as_manager: Client, bookings_on: Cast
) -> None:
    sams = feed_of(as_staff)
    maxs = feed_of(as_manager)
    assert sams != maxs
    sam_page = as_staff.get("/bookings/")
    assert sam_page.status_code == 200
    assert sams in sam_page.text
    assert maxs not in sam_page.text


def test_revoking_the_feed_is_audited_once_and_the_page_offers_a_new_link(
    as_staff: Client, bookings_on: Cast
) -> None:
    token = feed_of(as_staff)
    for _ in range(2):
        response = as_staff.post("/bookings/feed/", {"action": "revoke"})
        assert response.status_code == 302
    [revoked] = audit("booking.feed_revoked", bookings_on)
    assert (revoked.actor, revoked.old_value, revoked.new_value) == (bookings_on.staff, "on", "off")
    assert not CalendarFeed.objects.exists()
    page = as_staff.get("/bookings/")
    assert page.status_code == 200
    assert "Get my feed link" in page.text
    assert token not in page.text
    assert fetch(token).status_code == 404


# ----------------------------------------------------------------------------- the .ics


@pytest.fixture
def sydney(bookings_on: Cast) -> Cast:
    set_time_zone(bookings_on, SYDNEY)
    return bookings_on


def test_the_feed_carries_the_workspaces_time_zone_and_refresh_hints(
    as_staff: Client, sydney: Cast, job: Job
) -> None:
    start = local(dt.date(2030, 6, 4), 10)
    book(sydney, title="Fit new boiler", start=start, job=job)
    calendar = calendar_of(feed_of(as_staff))
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == SYDNEY
    assert str(calendar["X-WR-TIMEZONE"]) == SYDNEY
    assert "REFRESH-INTERVAL" in calendar
    assert calendar.decoded("REFRESH-INTERVAL") == dt.timedelta(minutes=15)
    assert str(calendar["X-PUBLISHED-TTL"]) == "PT15M"
    event = events(calendar)["Fit new boiler"]
    assert event["DTSTART"].params["TZID"] == SYDNEY
    assert event["DTEND"].params["TZID"] == SYDNEY
    local_start = event.decoded("DTSTART")
    assert (local_start.hour, local_start.minute) == (10, 0)
    assert local_start == start
    assert event.decoded("DTEND") == start + HOUR
    assert str(event["STATUS"]) == "CONFIRMED"


def test_an_event_keeps_its_uid_and_raises_its_sequence_when_the_visit_moves(
    as_staff: Client, sydney: Cast
) -> None:
    booking = book(sydney, title="Fit new boiler", start=local(dt.date(2030, 6, 4), 10))
    token = feed_of(as_staff)
    first = events(calendar_of(token))["Fit new boiler"]
    response = as_staff.post(
        f"/bookings/{booking.pk}/move/",
        {"date": "2030-06-05", "start_time": "15:00", "version": booking.version},
    )
    assert response.status_code == 302
    second = events(calendar_of(token))["Fit new boiler"]
    assert str(second["UID"]) == str(first["UID"])
    assert str(first["UID"]).startswith(f"{booking.uid}@")
    assert second.decoded("SEQUENCE") > first.decoded("SEQUENCE")
    moved = second.decoded("DTSTART")
    assert (moved.date(), moved.hour) == (dt.date(2030, 6, 5), 15)


def test_a_cancelled_visit_stays_in_the_feed_as_cancelled(as_staff: Client, sydney: Cast) -> None:
    booking = book(sydney, title="Fit new boiler")
    token = feed_of(as_staff)
    before = events(calendar_of(token))["Fit new boiler"]
    response = as_staff.post(f"/bookings/{booking.pk}/cancel/", {"reason": "Customer away"})
    assert response.status_code == 302
    after = events(calendar_of(token))["Fit new boiler"]
    assert str(after["STATUS"]) == "CANCELLED"
    assert str(after["UID"]) == str(before["UID"])
    assert after.decoded("SEQUENCE") > before.decoded("SEQUENCE")


def test_the_feed_lists_only_the_visits_the_member_is_assigned_to(
    as_staff: Client, bookings_on: Cast, sam: Membership, max_: Membership
) -> None:
    book(bookings_on, title="Sam alone", staff=[sam])
    book(bookings_on, title="Max alone", staff=[max_], start=T10 + 3 * HOUR)
    book(bookings_on, title="Both of them", staff=[sam, max_], start=T10 + 6 * HOUR)
    assert set(events(calendar_of(feed_of(as_staff)))) == {"Sam alone", "Both of them"}


def test_the_etag_answers_304_until_a_visit_changes(as_staff: Client, bookings_on: Cast) -> None:
    booking = book(bookings_on)
    token = feed_of(as_staff)
    first = fetch(token)
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag
    unchanged = fetch(token, if_none_match=etag)
    assert unchanged.status_code == 304
    assert unchanged["ETag"] == etag
    assert unchanged.content == b""

    response = as_staff.post(
        f"/bookings/{booking.pk}/move/",
        {"date": "2030-06-04", "start_time": "13:00", "version": booking.version},
    )
    assert response.status_code == 302
    changed = fetch(token, if_none_match=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert fetch(token, if_none_match=changed["ETag"]).status_code == 304


def test_a_renewed_feeds_old_token_is_404(as_staff: Client, bookings_on: Cast) -> None:
    book(bookings_on)
    old = feed_of(as_staff)
    new = feed_of(as_staff)
    assert fetch(old).status_code == 404
    assert fetch(new).status_code == 200


def test_a_revoked_feed_is_404(as_staff: Client, bookings_on: Cast) -> None:
    token = feed_of(as_staff)
    assert fetch(token).status_code == 200
    response = as_staff.post("/bookings/feed/", {"action": "revoke"})
    assert response.status_code == 302
    assert fetch(token).status_code == 404


def test_a_removed_members_feed_is_404(
    as_staff: Client, bookings_on: Cast, sam: Membership
) -> None:
    book(bookings_on)
    token = feed_of(as_staff)
    assert fetch(token).status_code == 200
    member_remove(membership=sam, actor=bookings_on.admin)
    assert fetch(token).status_code == 404


def test_a_feed_is_404_with_the_module_off(as_staff: Client, bookings_on: Cast) -> None:
    token = feed_of(as_staff)
    assert fetch(token).status_code == 200
    set_bookings_module(bookings_on, False)
    assert fetch(token).status_code == 404


@pytest.mark.parametrize("token", ["0" * 64, "not-a-token", "a" * 2000, "%00", "feed"], ids=str)
def test_a_made_up_token_is_404(as_staff: Client, bookings_on: Cast, token: str) -> None:
    feed_of(as_staff)
    assert fetch(token).status_code == 404


def test_the_token_is_bound_to_its_member(bookings_on: Cast, sam: Membership) -> None:
    """A token signed for another member id with the same nonce opens nothing."""
    token = services.calendar_feed_renew(membership=sam, actor=bookings_on.staff)
    nonce = CalendarFeed.objects.get(membership=sam).nonce
    assert fetch(token).status_code == 200
    forged = feeds.token_for(sam.pk + 1, nonce)
    assert fetch(forged).status_code == 404


def test_the_feed_is_not_cached_by_shared_caches(as_staff: Client, bookings_on: Cast) -> None:
    response = fetch(feed_of(as_staff))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("private")


# ----------------------------------------------------------------------------- internal notes


def test_internal_notes_are_in_the_staff_feed_but_never_in_the_customers_ics(
    as_staff: Client,
    portal: Cast,  # noqa: F811  (the fixture)
    bookings_on: Cast,
    job: Job,
    as_priya: Client,  # noqa: F811
) -> None:
    set_time_zone(bookings_on, SYDNEY)
    booking = book(
        bookings_on, title="Fit new boiler", job=job, start=local(dt.date(2030, 6, 4), 10),
        location="12 Quay Street", customer_notes=CUSTOMER_NOTES, internal_notes=INTERNAL_SECRET,
    )  # fmt: skip
    staff_event = events(calendar_of(feed_of(as_staff)))["Fit new boiler"]
    description = str(staff_event["DESCRIPTION"])
    assert INTERNAL_SECRET in description
    assert CUSTOMER_NOTES in description
    assert "Priya Natarajan" in description

    response = as_priya.get(f"/user/visits/{booking.pk}.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert INTERNAL_SECRET.encode() not in response.content
    assert b"Internal" not in response.content
    calendar = Calendar.from_ical(response.content)
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == SYDNEY
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == str(staff_event["UID"])
    assert str(event["DESCRIPTION"]) == CUSTOMER_NOTES
    assert str(event["LOCATION"]) == "12 Quay Street"
    assert event["DTSTART"].params["TZID"] == SYDNEY
    assert event.decoded("DTSTART").hour == 10

    # Still none after the notes change (a new revision of the same event).
    services.booking_update(
        booking=fresh(booking), actor=bookings_on.manager, title="Fit new boiler",
        starts_at=booking.starts_at, ends_at=booking.ends_at,
        staff=[bookings_on.membership(bookings_on.staff)], customer=None,
        location="12 Quay Street", customer_notes=CUSTOMER_NOTES,
        internal_notes=f"{INTERNAL_SECRET} and the alarm code 9921",
    )  # fmt: skip
    response = as_priya.get(f"/user/visits/{booking.pk}.ics")
    assert response.status_code == 200
    assert INTERNAL_SECRET.encode() not in response.content
    assert b"9921" not in response.content
    assert Booking.objects.get(pk=booking.pk).internal_notes.endswith("9921")


def test_the_feed_follows_a_change_of_the_customers_name(
    as_staff: Client, bookings_on: Cast, job: Job
) -> None:
    """The staff feed names each visit's customer: a renamed customer must not stay under the
    old name in the feed (nor behind a 304 for the old ETag)."""
    book(bookings_on, title="Fit new boiler", job=job)
    token = feed_of(as_staff)
    first = fetch(token)
    assert first.status_code == 200
    assert "Customer: Priya Natarajan" in str(
        events(Calendar.from_ical(first.content))["Fit new boiler"]["DESCRIPTION"]
    )
    customer = bookings_on.customer
    customer.name = "Priya Natarajan-Smith"
    customer.save()
    again = fetch(token, if_none_match=first["ETag"])
    assert again.status_code == 200
    description = str(events(Calendar.from_ical(again.content))["Fit new boiler"]["DESCRIPTION"])
    assert "Customer: Priya Natarajan-Smith" in description
