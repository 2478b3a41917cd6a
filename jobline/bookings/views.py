"""The calendar (day, week, month, agenda), a visit's page and form, its actions, and the
staff member's private calendar feed. Each view parses its input, calls one service or
selector, and renders; the Bookings module switched off makes every page a 404."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from jobline.bookings import feeds, selectors, services
from jobline.bookings.forms import AttachForm, BookingForm, MoveForm, StatusForm, initial_when
from jobline.bookings.models import TITLE_MAX, Booking, BookingStatus, CalendarFeed
from jobline.core import one_time, wall_time
from jobline.jobs import selectors as job_selectors
from jobline.jobs.views.common import apply_errors, job_url
from jobline.workspaces.middleware import parse_id
from jobline.workspaces.models import Module
from jobline.workspaces.permissions import module_required
from jobline.workspaces.viewers import request_viewer

View = Callable[..., HttpResponse]
_bookings_module = module_required(Module.BOOKINGS)
VIEWS = ("week", "day", "month", "agenda")
AGENDA_DAYS = 14
DEFAULT_MINUTES = 60


def bookings_page(view: View) -> View:
    return _bookings_module(require_safe(view))


def bookings_action(view: View) -> View:
    return _bookings_module(require_POST(view))


def bookings_form(view: View) -> View:
    return _bookings_module(require_http_methods(["GET", "HEAD", "POST"])(view))


def _booking(request: HttpRequest, pk: int) -> Booking:
    return selectors.get_booking(viewer=request_viewer(request), pk=pk)


# The calendar pages move a week or a month either side of the day they show: a day near the
# edges of what a date can be would overflow (a 500), and nobody books there.
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


def _day(raw: str, time_zone: str) -> dt.date:
    try:
        day = (
            dt.date.fromisoformat(raw)
            if raw
            else timezone.localdate(timezone=wall_time.zone(time_zone))
        )
    except ValueError:
        raise Http404("Not a date.") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Http404("No calendar that far away.")
    return day


def _member_id(request: HttpRequest, people: list[Any]) -> int | None:
    raw = request.GET.get("staff", "")
    if not raw:
        return None
    member_id = parse_id(raw)
    if member_id is None or member_id not in {m.pk for m in people}:
        raise Http404("No such staff member.")
    return member_id


@bookings_page
def calendar(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    viewer = request_viewer(request)
    view = request.GET.get("view", "week")
    if view not in VIEWS:
        view = "week"
    day = _day(request.GET.get("date", ""), workspace.time_zone)
    people = selectors.members(workspace)
    member_id = _member_id(request, people)
    context: dict[str, Any] = {
        "view": view,
        "day": day,
        "today": timezone.localdate(timezone=wall_time.zone(workspace.time_zone)),
        "people": people,
        "member_id": member_id,
        "feed": _feed_link(request),
    }
    if view == "week":
        monday = day - dt.timedelta(days=day.weekday())
        days = [monday + dt.timedelta(days=i) for i in range(7)]
        context["grid"] = selectors.week_grid(
            viewer=viewer, workspace=workspace, days=days, membership_id=member_id, people=people
        )
        context["previous"], context["next"] = monday - dt.timedelta(7), monday + dt.timedelta(7)
        context["heading"] = f"{days[0].day} {days[0]:%b} – {days[-1].day} {days[-1]:%b %Y}"
    elif view == "day":
        if member_id is None:
            context["grid"] = selectors.day_grid(
                viewer=viewer, workspace=workspace, day=day, people=people
            )
        else:
            context["grid"] = selectors.week_grid(
                viewer=viewer, workspace=workspace, days=[day], membership_id=member_id,
                people=people,
            )  # fmt: skip
        context["previous"], context["next"] = day - dt.timedelta(1), day + dt.timedelta(1)
        context["heading"] = f"{day:%A} {day.day} {day:%B %Y}"
    elif view == "month":
        first = day.replace(day=1)
        context["weeks"] = selectors.month_cells(
            viewer=viewer, workspace=workspace, month=first, membership_id=member_id
        )
        context["previous"] = (first - dt.timedelta(days=1)).replace(day=1)
        context["next"] = (first + dt.timedelta(days=32)).replace(day=1)
        context["heading"] = f"{first:%B %Y}"
    else:
        context["agenda"] = selectors.agenda(
            viewer=viewer, workspace=workspace, start_day=day, days=AGENDA_DAYS,
            membership_id=member_id,
        )  # fmt: skip
        context["previous"] = day - dt.timedelta(AGENDA_DAYS)
        context["next"] = day + dt.timedelta(AGENDA_DAYS)
        last = day + dt.timedelta(AGENDA_DAYS - 1)
        context["heading"] = f"{day.day} {day:%b} – {last.day} {last:%b %Y}"
    if "grid" in context:
        _with_urls(event for column in context["grid"].columns for event in column.events)
    elif "weeks" in context:
        _with_urls(event for week in context["weeks"] for cell in week for event in cell.events)
    return render(request, "bookings/calendar.html", context)


def _with_urls(events: Any) -> None:
    """Each visit's page and move URLs from one reverse() per page (one per visit cost
    ~0.1 ms, hundreds of them on a busy week)."""
    detail, move = job_url("bookings:detail"), job_url("bookings:move")
    for event in events:
        event.url, event.move_url = detail(event.pk), move(event.pk)


@bookings_page
def job_visits(request: HttpRequest, number: int) -> HttpResponse:
    """Every visit of one job (the job page shows the next and the last few)."""
    viewer = request_viewer(request)
    job = job_selectors.get_job(viewer=viewer, number=number)
    visits = selectors.job_visits(job=job, viewer=viewer, now=timezone.now())
    context = {"job": job, "visits": visits, "next_pk": selectors.next_visit_pk(visits)}
    return render(request, "bookings/job_visits.html", context)


def _feed_link(request: HttpRequest) -> dict[str, str] | None:
    """The signed-in member's own feed URLs (https and webcal), if they switched it on."""
    feed = CalendarFeed.objects.filter(membership=request.membership).first()
    if feed is None:
        return None
    token = feeds.token_for(request.membership.pk, feed.nonce)
    https = request.build_absolute_uri(reverse("bookings:feed", args=[token]))
    return {"https": https, "webcal": "webcal://" + https.split("://", 1)[1]}


# ----------------------------------------------------------------------------- a visit


def _prefill(request: HttpRequest) -> tuple[dict[str, Any], Any]:
    """A new visit's form from a clicked slot (?start=2026-12-08T10:00&staff=3) or from a
    job's "Book a visit" (?job=1042: its customer, its owner, its title)."""
    workspace = request.workspace
    initial: dict[str, Any] = {}
    job = None
    raw_start = request.GET.get("start", "")
    try:
        local_start = dt.datetime.fromisoformat(raw_start) if raw_start else None
    except ValueError:
        local_start = None
    if local_start is None or local_start.tzinfo is not None:
        now = wall_time.local(timezone.now(), workspace.time_zone)
        local_start = (now + dt.timedelta(days=1)).replace(
            hour=9, minute=0, second=0, microsecond=0, tzinfo=None
        )
    start = wall_time.instant_at(local_start, workspace.time_zone)
    initial.update(initial_when(start, DEFAULT_MINUTES, workspace.time_zone))
    staff_id = parse_id(request.GET.get("staff", ""))
    if staff_id is not None:
        initial["staff"] = [staff_id]
    job_number = parse_id(request.GET.get("job", ""))
    if job_number is not None:
        job = job_selectors.get_job(viewer=request_viewer(request), number=job_number)
        initial.update({"job": job.number, "title": job.title, "customer": job.customer_id})
        # A follow-up's "Book the follow-up" names the visit (?title=6-week review).
        if title := request.GET.get("title", "").strip()[:TITLE_MAX]:
            initial["title"] = title
        if job.owner_id and "staff" not in initial:
            owner = next(
                (m for m in selectors.members(workspace) if m.user_id == job.owner_id), None
            )
            if owner is not None:
                initial["staff"] = [owner.pk]
    if "staff" not in initial:
        initial["staff"] = [request.membership.pk]
    return initial, job


def _job_of_form(request: HttpRequest, form: BookingForm) -> Any:
    number = form.cleaned_data.get("job")
    if not number:
        return None
    return job_selectors.get_job(viewer=request_viewer(request), number=number)


def _form_page(request: HttpRequest, form: BookingForm, *, booking: Booking | None = None,
               job: Any = None, overlap: services.Overlap | None = None,
               status: int = 200) -> HttpResponse:  # fmt: skip
    return render(
        request,
        "bookings/form.html",
        {"form": form, "booking": booking, "job": job, "overlap": overlap},
        status=status,
    )


@bookings_form
def booking_create(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    if request.method != "POST":
        initial, job = _prefill(request)
        return _form_page(request, BookingForm(workspace=workspace, initial=initial), job=job)
    form = BookingForm(request.POST, workspace=workspace)
    job = None
    if form.is_valid():
        job = _job_of_form(request, form)
        data = form.cleaned_data
        visit = {
            "workspace": workspace, "actor": request.user, "title": data["title"],
            "starts_at": data["starts_at"], "ends_at": data["ends_at"],
            "staff": list(data["staff"]), "customer": None if job else data["customer"],
            "job": job, "location": data["location"], "customer_notes": data["customer_notes"],
            "internal_notes": data["internal_notes"], "book_anyway": data["book_anyway"],
            "one_time_token": data["one_time_token"],
        }  # fmt: skip
        try:
            if data["repeat"]:
                visits = services.booking_series_create(
                    repeat=data["repeat"], count=data["repeat_count"], **visit
                )
                booking = visits[0]
            else:
                visits = [booking := services.booking_create(**visit)]
        except one_time.AlreadySubmitted as done:
            pk = done.result.get("booking")
            return redirect("bookings:detail", pk) if pk else redirect("bookings:calendar")
        except services.Overlap as overlap:
            return _form_page(request, form, job=job, overlap=overlap, status=409)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            if len(visits) > 1:
                messages.success(
                    request, f"Booked {len(visits)} visits: {booking.title}, "
                    f"{booking.series.get_repeat_display().lower()}.",
                )  # fmt: skip
            else:
                messages.success(request, f"Booked: {booking.title}.")
            return redirect("bookings:detail", booking.pk)
    return _form_page(request, form, job=job, status=400)


@bookings_form
def booking_edit(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _booking(request, pk)
    workspace = request.workspace
    if request.method != "POST":
        initial = {
            **initial_when(booking.starts_at, booking.minutes, workspace.time_zone),
            "version": booking.version, "title": booking.title,
            "customer": booking.customer_id, "location": booking.location,
            "customer_notes": booking.customer_notes, "internal_notes": booking.internal_notes,
            "staff": [a.membership_id for a in booking.assignments.all()],
            "job": booking.job.number if booking.job else None,
        }  # fmt: skip
        form = BookingForm(
            workspace=workspace, initial=initial, current_customer_id=booking.customer_id
        )
        return _form_page(request, form, booking=booking, job=booking.job)
    form = BookingForm(request.POST, workspace=workspace, current_customer_id=booking.customer_id)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.booking_update(
                booking=booking, actor=request.user, title=data["title"],
                starts_at=data["starts_at"], ends_at=data["ends_at"], staff=list(data["staff"]),
                # A visit on a job is for the job's customer (the form does not offer one).
                customer=None if booking.job_id else data["customer"],
                location=data["location"], customer_notes=data["customer_notes"],
                internal_notes=data["internal_notes"], expected_version=data["version"],
                book_anyway=data["book_anyway"],
            )  # fmt: skip
        except services.Overlap as overlap:
            return _form_page(request, form, booking=booking, job=booking.job, overlap=overlap,
                              status=409)  # fmt: skip
        except services.StaleBooking as stale:
            messages.error(request, stale.message)
            return redirect("bookings:edit", booking.pk)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Visit saved.")
            return redirect("bookings:detail", booking.pk)
    return _form_page(request, form, booking=booking, job=booking.job, status=400)


def _detail_page(
    request: HttpRequest, booking: Booking, *, attach_form: AttachForm | None = None,
    status: int = 200,
) -> HttpResponse:  # fmt: skip
    return render(
        request,
        "bookings/detail.html",
        {
            "booking": booking,
            "history": selectors.history(booking),
            "series": selectors.series_of(booking, request_viewer(request)),
            "attach_form": attach_form or AttachForm(),
        },
        status=status,
    )


@bookings_page
def booking_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, _booking(request, pk))


def _safe_next(request: HttpRequest, raw: str, fallback: str) -> str:
    if raw and url_has_allowed_host_and_scheme(raw, {request.get_host()}, require_https=False):
        return raw
    return fallback


@bookings_form
def booking_move(request: HttpRequest, pk: int) -> HttpResponse:
    """The "Move to…" dialog (GET) and what it, and a drop on the calendar, send (POST)."""
    booking = _booking(request, pk)
    time_zone = booking.workspace.time_zone
    if request.method != "POST":
        form = MoveForm(
            time_zone=time_zone,
            initial={**initial_when(booking.starts_at, booking.minutes, time_zone),
                     "version": booking.version, "next": request.GET.get("next", "")},
        )  # fmt: skip
        return render(request, "bookings/move.html", {"booking": booking, "form": form})
    form = MoveForm(request.POST, time_zone=time_zone)
    overlap = None
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.booking_move(
                booking=booking, actor=request.user, starts_at=data["starts_at"],
                expected_version=data["version"], book_anyway=data["book_anyway"],
            )  # fmt: skip
        except services.Overlap as error:
            overlap, status = error, 409
        except services.StaleBooking as stale:
            messages.error(request, stale.message)
            return redirect("bookings:detail", booking.pk)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            moved = _booking(request, pk)
            messages.success(request, f"Moved to {services.when(moved, time_zone)}: {moved.title}.")
            return redirect(_safe_next(request, data.get("next", ""),
                                       reverse("bookings:detail", args=[pk])))  # fmt: skip
    return render(
        request, "bookings/move.html", {"booking": booking, "form": form, "overlap": overlap},
        status=status,
    )  # fmt: skip


def _status_action(status: BookingStatus, done: str) -> View:
    @bookings_action
    def action(request: HttpRequest, pk: int) -> HttpResponse:
        booking = _booking(request, pk)
        form = StatusForm(request.POST)
        form.is_valid()
        change = {
            "booking": booking, "actor": request.user,
            "reason": form.cleaned_data.get("reason", ""),
            "expected_version": form.cleaned_data.get("version"),
        }  # fmt: skip
        try:
            if status == BookingStatus.CANCELLED and form.cleaned_data.get("and_later"):
                changed = services.booking_series_cancel(**change)
            else:
                changed = [services.booking_set_status(status=status, **change)]
        except services.StaleBooking as stale:
            messages.error(request, stale.message)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            later = len(changed) - 1
            plural = "s" if later > 1 else ""
            messages.success(
                request,
                f"Visit cancelled, and the {later} later visit{plural} of its series."
                if later else done,
            )  # fmt: skip
        return redirect("bookings:detail", booking.pk)

    return action


booking_cancel = _status_action(BookingStatus.CANCELLED, "Visit cancelled.")
booking_complete = _status_action(BookingStatus.COMPLETED, "Visit marked completed.")
booking_no_show = _status_action(BookingStatus.NO_SHOW, "Visit marked as a no-show.")


@bookings_action
def booking_attach(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _booking(request, pk)
    form = AttachForm(request.POST)
    if form.is_valid():
        try:
            job = job_selectors.get_job(
                viewer=request_viewer(request), number=form.cleaned_data["job_number"]
            )
        except Http404:
            form.add_error("job_number", "There is no job with that number here.")
        else:
            try:
                services.booking_attach(booking=booking, job=job, actor=request.user)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, f"Attached to {job.reference}.")
                return redirect("bookings:detail", booking.pk)
    return _detail_page(request, booking, attach_form=form, status=400)


@bookings_action
def booking_detach(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _booking(request, pk)
    services.booking_detach(booking=booking, actor=request.user)
    messages.success(request, "Detached from the job; the visit stays on the calendar.")
    return redirect("bookings:detail", booking.pk)


# ----------------------------------------------------------------------------- feeds


@bookings_action
def feed_manage(request: HttpRequest) -> HttpResponse:
    """Switch the signed-in member's own feed on, renew its link, or switch it off."""
    if request.POST.get("action") == "revoke":
        services.calendar_feed_revoke(membership=request.membership, actor=request.user)
        messages.success(request, "Your calendar feed is off; its link no longer works.")
    else:
        services.calendar_feed_renew(membership=request.membership, actor=request.user)
        messages.success(request, "Your calendar feed has a new link; the old one stopped.")
    return redirect(reverse("bookings:calendar") + "#feed")


FEED_CACHE_SECONDS = 24 * 3600


@require_safe
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """A member's private calendar feed: no sign-in, the token is the key. A renewed or
    revoked token, a removed member or the module switched off: 404."""
    row = (
        CalendarFeed.objects.select_related("membership__workspace", "membership__user")
        .filter(token_hash=feeds.token_hash(token), membership__removed_at__isnull=True)
        .first()
    )
    if row is None or not row.membership.workspace.module_bookings:
        raise Http404("No such calendar.")
    membership = row.membership
    workspace = membership.workspace
    bookings = selectors.staff_feed_bookings(membership=membership)
    # What the feed says changes only when one of its visits does, or a customer's name on
    # one (any change makes that customer the latest updated), or the business's or the
    # member's name or time zone: that state is the ETag, and the body is kept under it.
    etag = feeds.etag_of(
        [row.token_hash, workspace.time_zone, workspace.name, membership.user.full_name,
         *selectors.staff_feed_state(membership=membership)]
    )  # fmt: skip
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
        response["ETag"] = etag
        return response
    key = f"bookings:feed:{etag}"
    body = cache.get(key)
    if body is None:
        body = feeds.staff_feed(
            bookings.iterator(chunk_size=1000),
            name=f"{workspace.name} · {membership.user.full_name or membership.user.email}",
            time_zone=workspace.time_zone,
        )
        cache.set(key, body, FEED_CACHE_SECONDS)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Disposition"] = 'inline; filename="jobline.ics"'
    return response
