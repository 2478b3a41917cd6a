"""The dashboard answers "what needs me today", from the written rule: each list is the
signed-in member's own — their visits today and tomorrow (the workspace's wall time), their
open jobs past due, their open jobs waiting on the customer (an open document request, or a
payment asked for and not yet paid; an approval asked: tests/approvals), the bell lines about
jobs they have not read — and, for
Admins and Managers only, this month's money: requested, received, and overdue now. Staff
never see an amount. Its query count does not grow with the data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobline.billing import services as billing_services
from jobline.billing.models import AmountKind
from jobline.billing.services import InstalmentInput
from jobline.bookings.services import booking_create
from jobline.core import wall_time
from jobline.jobs.models import Job
from jobline.jobs.requests import request_create
from jobline.jobs.services import job_create
from jobline.notifications.models import Notification
from jobline.pipelines.models import Pipeline
from jobline.pipelines.services import pipeline_create_from_blueprint
from tests.bookings.conftest import section, text_of
from tests.conftest import Cast, client_for


@pytest.fixture
def standard(cast: Cast) -> Pipeline:
    cast.workspace.module_bookings = True
    cast.workspace.save()
    return pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="standard", actor=cast.admin
    )


def local_today(cast: Cast) -> dt.date:
    return timezone.localdate(timezone=wall_time.zone(cast.workspace.time_zone))


def a_job(cast: Cast, pipeline: Pipeline, title: str, owner: object, **fields: object) -> Job:
    job = job_create(workspace=cast.workspace, pipeline=pipeline, title=title, actor=cast.admin,
                     owner=owner, customer=cast.customer)  # fmt: skip
    if fields:
        Job.objects.filter(pk=job.pk).update(**fields)
    return Job.objects.get(pk=job.pk)


def asked_for(cast: Cast, job: Job, value: str) -> None:
    [instalment] = billing_services.schedule_save(
        job=job, value=Decimal(value), actor=cast.admin, expected_version=None,
        rows=[InstalmentInput(label="Balance", amount_kind=AmountKind.BALANCE)],
    )  # fmt: skip
    billing_services.instalment_request(instalment=instalment, actor=cast.admin)


def at_local(cast: Cast, day: dt.date, hour: int) -> dt.datetime:
    return wall_time.instant_on(day, dt.time(hour), cast.workspace.time_zone)


def test_each_member_sees_their_own_overdue_jobs(cast: Cast, standard: Pipeline) -> None:
    yesterday = local_today(cast) - dt.timedelta(days=1)
    a_job(cast, standard, "Sam's late one", cast.staff, due_date=yesterday)
    a_job(cast, standard, "Sam's on time", cast.staff, due_date=yesterday + dt.timedelta(days=9))
    a_job(cast, standard, "Max's late one", cast.manager, due_date=yesterday)
    closed = a_job(cast, standard, "Sam's finished", cast.staff, due_date=yesterday)
    Job.objects.filter(pk=closed.pk).update(closed_at=timezone.now())
    sams = text_of(section(client_for(cast.staff).get("/dashboard/").text, "my-overdue"))
    assert "Sam's late one" in sams
    assert "Sam's on time" not in sams and "Max's late one" not in sams
    assert "Sam's finished" not in sams
    maxs = text_of(section(client_for(cast.manager).get("/dashboard/").text, "my-overdue"))
    assert "Max's late one" in maxs and "Sam's late one" not in maxs


def test_my_visits_today_and_tomorrow_in_the_workspaces_wall_time(
    cast: Cast, standard: Pipeline
) -> None:
    cast.workspace.time_zone = "Australia/Sydney"
    cast.workspace.save()
    today = local_today(cast)
    sam, max_ = cast.membership(cast.staff), cast.membership(cast.manager)
    for title, day, hour, who in (
        ("Today's drop-off", today, 9, sam),
        ("Tomorrow's fitting", today + dt.timedelta(days=1), 14, sam),
        ("In two days", today + dt.timedelta(days=2), 9, sam),
        ("Max's visit", today, 11, max_),
    ):
        start = at_local(cast, day, hour)
        booking_create(
            workspace=cast.workspace, actor=cast.admin, title=title, starts_at=start,
            ends_at=start + dt.timedelta(hours=1), staff=[who],
        )  # fmt: skip
    visits = text_of(section(client_for(cast.staff).get("/dashboard/").text, "my-visits"))
    assert "Today" in visits and "09:00–10:00 Today's drop-off" in visits
    assert "14:00–15:00 Tomorrow's fitting" in visits
    assert "In two days" not in visits and "Max's visit" not in visits


def test_jobs_waiting_on_the_customer_name_what_they_wait_for(
    cast: Cast, standard: Pipeline
) -> None:
    photo = a_job(cast, standard, "Needs a photo", cast.staff)
    request_create(job=photo, title="Photo of the meter", actor=cast.staff)
    unpaid = a_job(cast, standard, "Awaits payment", cast.staff)
    asked_for(cast, unpaid, "480")
    a_job(cast, standard, "Nothing asked", cast.staff)
    staff_page = client_for(cast.staff).get("/dashboard/").text
    waiting = text_of(section(staff_page, "waiting-on-customers"))
    assert "Needs a photo" in waiting and "Photo of the meter" in waiting
    assert "Awaits payment" in waiting and "payment due" in waiting
    assert "Nothing asked" not in waiting
    assert "480" not in staff_page  # Staff never see an amount
    admins_own = text_of(section(client_for(cast.admin).get("/dashboard/").text,
                                 "waiting-on-customers"))  # fmt: skip
    assert "Awaits payment" not in admins_own  # Sam's job, not the Admin's


def test_the_owner_sees_the_amount_due_on_their_job(cast: Cast, standard: Pipeline) -> None:
    mine = a_job(cast, standard, "Manager's job", cast.manager)
    asked_for(cast, mine, "480")
    waiting = text_of(section(client_for(cast.manager).get("/dashboard/").text,
                              "waiting-on-customers"))  # fmt: skip
    assert "payment of £480.00 due" in waiting


def test_unread_customer_activity_is_listed_until_read(cast: Cast, standard: Pipeline) -> None:
    job = a_job(cast, standard, "Replied to", cast.staff)
    note = Notification.objects.create(recipient=cast.staff, workspace=cast.workspace, job=job,
                                       text="Priya Natarajan replied on J-1001")  # fmt: skip
    Notification.objects.create(recipient=cast.manager, workspace=cast.workspace, job=job,
                                text="For Max only")  # fmt: skip
    unread = text_of(section(client_for(cast.staff).get("/dashboard/").text, "unread"))
    assert "Priya Natarajan replied on J-1001" in unread and "For Max only" not in unread
    Notification.objects.filter(pk=note.pk).update(read_at=timezone.now())
    assert "Nothing unread." in text_of(
        section(client_for(cast.staff).get("/dashboard/").text, "unread")
    )


def test_this_months_money_is_for_admins_and_managers_only(cast: Cast, standard: Pipeline) -> None:
    job = a_job(cast, standard, "Paid in part", cast.staff)
    asked_for(cast, job, "1000")
    instalment = job.instalments.get()
    billing_services.payment_record(
        instalment=instalment, amount="250", paid_on=local_today(cast), method="cash",
        actor=cast.admin,
    )  # fmt: skip
    late = a_job(cast, standard, "Late payer", cast.staff)
    asked_for(cast, late, "300")
    late.instalments.get().invoices.update(due_on=local_today(cast) - dt.timedelta(days=5))
    for user in (cast.admin, cast.manager):
        words = text_of(client_for(user).get("/dashboard/").text)
        assert "Requested this month £1,300.00 2 invoices" in words
        assert "Received this month £250.00" in words
        assert "Overdue now £300.00 1 invoice" in words
    staff_page = client_for(cast.staff).get("/dashboard/").text
    assert "Requested this month" not in staff_page
    for amount in ("1,300", "250.00", "300.00"):
        assert amount not in staff_page


def test_the_dashboard_reads_the_same_number_of_queries_whatever_the_data(
    cast: Cast, standard: Pipeline
) -> None:
    client = client_for(cast.staff)

    def queries() -> int:
        client.get("/dashboard/")
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/dashboard/").status_code == 200
        return len(captured)

    # Each list shows its first 8 and counts the rest: past 8 rows, nothing more is read.
    yesterday = local_today(cast) - dt.timedelta(days=1)
    for index in range(9):
        job = a_job(cast, standard, f"Late {index}", cast.staff, due_date=yesterday)
        request_create(job=job, title="Photo", actor=cast.staff)
    few = queries()
    for index in range(16):
        job = a_job(cast, standard, f"More {index}", cast.staff, due_date=yesterday)
        request_create(job=job, title="Photo", actor=cast.staff)
        asked_for(cast, job, "100")
    assert queries() == few
