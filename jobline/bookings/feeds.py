"""Calendar feeds (iCalendar, RFC 5545, through the ``icalendar`` package): a staff member's
private feed of their own visits, and a customer's single visit "add to calendar".

Each event keeps its UID for ever and raises its SEQUENCE with every change, so a phone
updates the event instead of adding a second one; a cancelled visit stays in the feed with
STATUS:CANCELLED, so it disappears from the phone instead of lingering there. Times are
written in the business's time zone with its VTIMEZONE block (Outlook shifts floating or
UTC-only feeds by the difference).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from icalendar import Calendar, Event, vText

from jobline.bookings.models import Booking, BookingStatus
from jobline.core import wall_time

REFRESH_MINUTES = 15
PRODUCT_ID = "-//Jobline//Bookings//EN"

ICAL_STATUS = {
    BookingStatus.SCHEDULED: "CONFIRMED",
    BookingStatus.COMPLETED: "CONFIRMED",
    BookingStatus.NO_SHOW: "CONFIRMED",
    BookingStatus.CANCELLED: "CANCELLED",
}


def new_nonce() -> str:
    return secrets.token_hex(16)


def token_for(membership_id: int, nonce: str) -> str:
    """The feed URL's token: the server's secret key signs the member and the nonce."""
    message = f"jobline.calendar-feed:{membership_id}:{nonce}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()
    return digest


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def uid_domain() -> str:
    """The domain of every event's UID: the site's own, the same whichever address the
    feed was fetched by (a UID that changed would duplicate every event on the phone)."""
    return urlsplit(settings.JOBLINE_BASE_URL).hostname or "jobline.invalid"


def _calendar(name: str, time_zone: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", time_zone)
    # How often a subscribed calendar should look again (RFC 7986, and Outlook's own name).
    calendar.add("refresh-interval", dt.timedelta(minutes=REFRESH_MINUTES),
                 parameters={"VALUE": "DURATION"})  # fmt: skip
    calendar.add("x-published-ttl", f"PT{REFRESH_MINUTES}M")
    return calendar


def _event(booking: Booking, *, time_zone: str, domain: str, for_customer: bool) -> Event:
    event = Event()
    event.add("uid", f"{booking.uid}@{domain}")
    event.add("sequence", booking.sequence)
    event.add("dtstamp", booking.updated_at.astimezone(dt.UTC))
    event.add("last-modified", booking.updated_at.astimezone(dt.UTC))
    event.add("created", booking.created_at.astimezone(dt.UTC))
    event.add("dtstart", wall_time.local(booking.starts_at, time_zone))
    event.add("dtend", wall_time.local(booking.ends_at, time_zone))
    event.add("summary", booking.title)
    event.add("status", ICAL_STATUS[BookingStatus(booking.status)])
    if booking.location:
        event.add("location", vText(booking.location))
    description = [booking.customer_notes] if booking.customer_notes else []
    if not for_customer:
        # The staff member's own phone: who it is for and the internal notes.
        if booking.customer is not None:
            description.insert(0, f"Customer: {booking.customer.name}")
        if booking.internal_notes:
            description.append(f"Internal: {booking.internal_notes}")
        if booking.status == BookingStatus.CANCELLED and booking.cancel_reason:
            description.append(f"Cancelled: {booking.cancel_reason}")
    if description:
        event.add("description", "\n\n".join(description))
    return event


def staff_feed(bookings: Iterable[Booking], *, name: str, time_zone: str) -> bytes:
    calendar = _calendar(name, time_zone)
    domain = uid_domain()
    for booking in bookings:
        calendar.add_component(
            _event(booking, time_zone=time_zone, domain=domain, for_customer=False)
        )
    _add_time_zone(calendar)
    return calendar.to_ical()


def _add_time_zone(calendar: Calendar) -> None:
    """The VTIMEZONE of the events' zone, with its rules from a year back to ten ahead (the
    package's default, 1970-2038, lists every change of 68 years in each feed)."""
    today = dt.date.today()
    calendar.add_missing_timezones(
        first_date=today.replace(year=today.year - 1, day=1),
        last_date=today.replace(year=today.year + 10, day=1),
    )


def single_visit(booking: Booking, *, business: str, time_zone: str) -> bytes:
    """One visit for the customer's calendar: the customer's words only."""
    calendar = _calendar(business, time_zone)
    calendar.add_component(
        _event(booking, time_zone=time_zone, domain=uid_domain(), for_customer=True)
    )
    _add_time_zone(calendar)
    return calendar.to_ical()


def etag_of(parts: Iterable[object]) -> str:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f'"{digest}"'
