"""Follow-up check-ins, from the written rule:
- a stage can schedule follow-ups "N days (or weeks) after a job enters it", with a window; the
  beauty template's Initial appointment schedules the 6-week review (window 4–8 weeks) and the
  12-week check-in;
- they are computed in the workspace's wall time: 6 weeks after 1 Sep 2026 10:00 in Sydney is
  13 Oct 2026 10:00, across the October DST change;
- when one falls due the job's owner is told (bell and e-mail) once, however often the
  periodic job runs; the job page and the dashboard offer "Book the follow-up", pre-filled;
- a visit on the job inside the window counts as booked; a lost job cancels its follow-ups;
- an offset of zero or more than two years is refused."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from jobline.bookings.services import booking_create
from jobline.followups import services
from jobline.followups.models import FollowUp, FollowUpRule, FollowUpStatus
from jobline.jobs.models import Job
from jobline.jobs.services import job_create, job_move
from jobline.notifications.models import EmailKind, Notification, OutgoingEmail
from jobline.pipelines.models import Pipeline
from jobline.pipelines.services import pipeline_create_from_blueprint
from tests.bookings.conftest import section, text_of
from tests.conftest import Cast, client_for

SYDNEY = ZoneInfo("Australia/Sydney")


@pytest.fixture
def beauty(cast: Cast) -> Pipeline:
    cast.workspace.module_bookings = True
    cast.workspace.time_zone = "Australia/Sydney"
    cast.workspace.save()
    return pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="beauty", actor=cast.admin
    )


def brows(cast: Cast, beauty: Pipeline, at: dt.datetime) -> Job:
    """Priya's microblading, owned by Sam, created in Initial appointment at ``at``."""
    return job_create(
        workspace=cast.workspace, pipeline=beauty, title="Microblading", actor=cast.admin,
        owner=cast.staff, customer=cast.customer, at=at,
    )  # fmt: skip


def test_the_beauty_template_schedules_its_reviews(cast: Cast, beauty: Pipeline) -> None:
    rules = FollowUpRule.objects.filter(stage__pipeline=beauty).order_by("position")
    assert [(r.stage.name, r.label, r.offset_days, r.window_before_days, r.window_after_days)
            for r in rules] == [
        ("Initial appointment", "6-week review", 42, 14, 14),
        ("Initial appointment", "12-week check-in", 84, 14, 14),
    ]  # fmt: skip


def test_six_weeks_on_is_the_same_wall_time_across_a_dst_change(
    cast: Cast, beauty: Pipeline
) -> None:
    entered = dt.datetime(2026, 9, 1, 10, 0, tzinfo=SYDNEY)
    job = brows(cast, beauty, entered)
    review = FollowUp.objects.get(job=job, label="6-week review")
    assert review.due_at.astimezone(SYDNEY) == dt.datetime(2026, 10, 13, 10, 0, tzinfo=SYDNEY)
    assert review.window_starts_at.astimezone(SYDNEY) == dt.datetime(
        2026, 9, 29, 10, 0, tzinfo=SYDNEY
    )
    assert review.window_ends_at.astimezone(SYDNEY) == dt.datetime(
        2026, 10, 27, 10, 0, tzinfo=SYDNEY
    )
    # Sydney moved to daylight time on 4 Oct: six weeks of wall time is an hour less.
    assert review.due_at - entered == dt.timedelta(weeks=6) - dt.timedelta(hours=1)


def test_the_owner_is_told_once_when_it_falls_due(cast: Cast, beauty: Pipeline) -> None:
    entered = timezone.now() - dt.timedelta(weeks=7)
    job = brows(cast, beauty, entered)
    assert services.follow_ups_notice() == 1  # the 6-week review; the 12-week one waits
    assert services.follow_ups_notice() == 0
    [bell] = Notification.objects.filter(recipient=cast.staff, job=job)
    assert bell.text == f"{job.reference} Microblading: the 6-week review is due — book it"
    assert (
        OutgoingEmail.objects.filter(kind=EmailKind.STAFF_ALERT, recipient=cast.staff).count() == 1
    )
    assert FollowUp.objects.get(job=job, label="6-week review").status == FollowUpStatus.DUE
    assert FollowUp.objects.get(job=job, label="12-week check-in").status == FollowUpStatus.PENDING


def test_the_dashboard_and_job_page_offer_to_book_it(cast: Cast, beauty: Pipeline) -> None:
    job = brows(cast, beauty, timezone.now() - dt.timedelta(weeks=6, days=-2))
    dashboard = client_for(cast.staff).get("/dashboard/").text
    due = text_of(section(dashboard, "follow-ups-due"))
    assert "6-week review: Microblading" in due and "Book the follow-up" in due
    assert f"/bookings/new/?job={job.number}&amp;start=" in dashboard
    assert "title=6-week review" in dashboard
    page = client_for(cast.staff).get(f"/jobs/{job.number}/").text
    assert "Book the follow-up" in text_of(section(page, "follow-ups"))
    form = client_for(cast.staff).get(f"/bookings/new/?job={job.number}&title=6-week%20review")
    assert 'value="6-week review"' in form.text
    assert "6-week review" not in client_for(cast.manager).get("/dashboard/").text  # not Max's


def test_a_visit_in_the_window_counts_as_booked(cast: Cast, beauty: Pipeline) -> None:
    entered = timezone.now() - dt.timedelta(weeks=7)
    job = brows(cast, beauty, entered)
    start = entered + dt.timedelta(weeks=5)
    booking_create(workspace=cast.workspace, actor=cast.admin, title="Review", starts_at=start,
                   ends_at=start + dt.timedelta(hours=1), staff=[cast.membership(cast.staff)],
                   job=job)  # fmt: skip
    assert services.follow_ups_notice() == 0  # due, but booked: nobody needs telling
    assert (
        not Notification.objects.filter(job=job, recipient=cast.staff)
        .exclude(text__contains="booked")
        .filter(text__contains="is due")
        .exists()
    )
    page = client_for(cast.staff).get(f"/jobs/{job.number}/").text
    assert "Booked" in text_of(section(page, "follow-ups"))
    assert "6-week review" not in text_of(
        section(client_for(cast.staff).get("/dashboard/").text, "follow-ups-due")
    )


def test_a_lost_job_cancels_its_follow_ups(cast: Cast, beauty: Pipeline) -> None:
    job = brows(cast, beauty, timezone.now())
    job_move(job=job, stage=beauty.stages.get(name="Cancelled"), actor=cast.admin,
             expected_version=None, enforce_required=False)  # fmt: skip
    assert set(FollowUp.objects.filter(job=job).values_list("status", flat=True)) == {
        FollowUpStatus.CANCELLED
    }


def test_reentering_the_stage_schedules_nothing_twice(cast: Cast, beauty: Pipeline) -> None:
    job = brows(cast, beauty, timezone.now())
    for name in ("6-week review", "Initial appointment"):
        job = job_move(job=Job.objects.get(pk=job.pk), stage=beauty.stages.get(name=name),
                       actor=cast.admin, expected_version=None, enforce_required=False)  # fmt: skip
    assert FollowUp.objects.filter(job=job).count() == 2


@pytest.mark.parametrize(
    ("offset", "message"),
    [(0, "at least a day and at most two years"), (731, "at least a day and at most two years")],
)
def test_an_offset_of_zero_or_over_two_years_is_refused(
    cast: Cast, beauty: Pipeline, offset: int, message: str
) -> None:
    stage = beauty.stages.get(name="Initial appointment")
    with pytest.raises(ValidationError) as refused:
        row = services.RuleInput(
            label="Review", offset_days=offset, window_from_days=0, window_to_days=offset
        )
        services.stage_follow_ups_save(stage=stage, actor=cast.admin, rows=[row])
    assert message in str(refused.value)
    assert FollowUpRule.objects.filter(stage=stage).count() == 2  # unchanged


def test_the_stage_editor_saves_and_refuses(cast: Cast, beauty: Pipeline) -> None:
    stage = beauty.stages.get(name="Initial appointment")
    url = f"/followups/stages/{stage.pk}/"
    page = client_for(cast.admin).get(url)
    assert page.status_code == 200 and 'value="6-week review"' in page.text
    data = {"rule-TOTAL_FORMS": "1", "rule-INITIAL_FORMS": "0", "rule-0-label": "Top-up",
            "rule-0-offset": "10", "rule-0-window_from": "7", "rule-0-window_to": "14",
            "rule-0-unit": "days"}  # fmt: skip
    assert client_for(cast.admin).post(url, data).status_code == 302
    saved = FollowUpRule.objects.filter(stage=stage)
    assert [(r.label, r.offset_days, r.window_before_days, r.window_after_days) for r in saved] == [
        ("Top-up", 10, 3, 4)
    ]
    bad = client_for(cast.admin).post(
        url, {**data, "rule-0-offset": "0", "rule-0-window_from": "0"}
    )
    assert bad.status_code == 400
    assert "at least a day and at most two years" in text_of(bad.text)
    assert 'value="Top-up"' in bad.text
    assert client_for(cast.manager).get(url).status_code == 403
    assert client_for(cast.outsider).get(url).status_code == 404


def test_with_the_portal_on_the_customer_is_asked_to_book(cast: Cast, beauty: Pipeline) -> None:
    job = brows(cast, beauty, timezone.now() - dt.timedelta(weeks=7))
    services.follow_ups_notice()  # portal off: the owner only
    assert not OutgoingEmail.objects.filter(kind=EmailKind.CUSTOMER_UPDATE, job=job).exists()
    cast.workspace.portal_enabled = True
    cast.workspace.save()
    later = brows(cast, beauty, timezone.now() - dt.timedelta(weeks=7))
    services.follow_ups_notice()
    [email] = OutgoingEmail.objects.filter(kind=EmailKind.CUSTOMER_UPDATE, job=later)
    assert email.to_address == "priya@example.com"
    entry = later.activities.get(kind="follow_up_invited")
    assert entry.visibility == "customer" and entry.payload.label == "6-week review"
