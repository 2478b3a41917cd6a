"""The start page: what needs the signed-in member today — their visits, their overdue jobs,
the jobs waiting on a customer, the follow-ups due this week, what customers did that they
have not read, and (for the roles that see money) this month's money."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from jobline.billing import selectors as billing_selectors
from jobline.bookings import selectors as booking_selectors
from jobline.core import wall_time
from jobline.customers import selectors as customer_selectors
from jobline.followups import selectors as followup_selectors
from jobline.jobs import selectors as job_selectors
from jobline.notifications import selectors as notification_selectors
from jobline.workspaces.permissions import member_required
from jobline.workspaces.viewers import request_viewer


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    return redirect("dashboard")


@member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    viewer = request_viewer(request)
    today = timezone.localdate(timezone=wall_time.zone(workspace.time_zone))
    tomorrow = today + dt.timedelta(days=1)
    jobs_on = workspace.module_jobs
    visits = None
    if workspace.module_bookings:
        visits = [
            (day, booking_selectors.my_visits_on(viewer=viewer, membership=request.membership,
                                                 day=day, time_zone=workspace.time_zone))
            for day in (today, tomorrow)
        ]  # fmt: skip
    return render(
        request,
        "home/dashboard.html",
        {
            "today": today,
            "visits": visits,
            "overdue": job_selectors.my_overdue_jobs(viewer=viewer, today=today)
            if jobs_on
            else None,
            "waiting": job_selectors.my_jobs_waiting_on_the_customer(viewer=viewer)
            if jobs_on
            else None,
            "follow_ups": followup_selectors.due_this_week(
                viewer=viewer, today=today, time_zone=workspace.time_zone
            )
            if jobs_on
            else None,
            "unread": notification_selectors.unread_about_jobs(
                user=request.user, workspace=workspace
            ),
            "month_money": billing_selectors.money_this_month(
                viewer=viewer,
                today=today,
                currency=workspace.currency,
                time_zone=workspace.time_zone,
            ),
            "has_customers": customer_selectors.customers(workspace=workspace).exists(),
        },
    )
