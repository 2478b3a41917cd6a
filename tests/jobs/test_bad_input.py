"""Bad input gets a clear 4xx answer, never a server error, and nothing is half-saved."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from jobline.jobs.models import Attachment, Job, Message
from jobline.jobs.uploads import attachment_add
from jobline.notifications.delivery import deliver_due
from jobline.notifications.models import EmailStatus, OutgoingEmail
from jobline.pipelines.models import Pipeline
from tests.conftest import Cast, client_for


def test_a_board_column_with_an_impossible_cursor_is_a_400(job: Job, as_staff: Client) -> None:
    response = as_staff.get(
        f"/jobs/board/stages/{job.stage_id}/more/",
        {"after": "9999-99-99T99:99:99", "after_id": "5"},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("after_id", ["9" * 30, "-1", "x"])
def test_a_board_column_with_a_bad_cursor_id_is_a_400(
    job: Job, as_staff: Client, after_id: str
) -> None:
    response = as_staff.get(
        f"/jobs/board/stages/{job.stage_id}/more/",
        {"after": "2026-01-01T10:00:00+00:00", "after_id": after_id},
    )
    assert response.status_code == 400


def test_a_four_megabyte_note_is_refused_next_to_the_field(job: Job, as_staff: Client) -> None:
    response = as_staff.post(
        f"/jobs/{job.number}/messages/",
        {"body": "x" * (4 * 1024 * 1024), "visibility": "internal", "version": job.version},
    )
    assert response.status_code == 400
    assert "at most" in response.text
    assert not Message.objects.filter(job=job).exists()


def test_add_files_without_a_file_is_refused(job: Job, as_staff: Client) -> None:
    response = as_staff.post(f"/jobs/{job.number}/files/", {"visibility": "internal"})
    assert response.status_code == 400
    assert "Choose at least one file" in response.text
    assert not Attachment.objects.filter(job=job).exists()


@pytest.mark.parametrize("method", ["delete", "put", "patch"])
@pytest.mark.parametrize("url", ["/jobs/{n}/", "/jobs/{n}/feed/", "/jobs/", "/jobs/board/"])
def test_read_only_pages_answer_405_to_writing_methods(
    job: Job, as_admin: Client, method: str, url: str
) -> None:
    response = getattr(as_admin, method)(url.format(n=job.number))
    assert response.status_code == 405
    assert Job.objects.filter(pk=job.pk).exists()


def test_a_line_break_in_a_job_title_does_not_stop_the_customers_email(
    portal: Cast, repair: Pipeline
) -> None:
    as_admin = client_for(portal.admin)
    response = as_admin.post(
        "/jobs/new/",
        {"title": "Boiler\r\nservice", "pipeline": repair.pk, "customer": portal.customer.pk},
    )
    assert response.status_code == 302
    job = Job.objects.get(workspace=portal.workspace)
    as_admin.post(
        f"/jobs/{job.number}/messages/",
        {"body": "We'll come on Monday", "visibility": "customer", "version": job.version},
    )
    deliver_due(now=timezone.now() + timezone.timedelta(hours=1))
    email = OutgoingEmail.objects.get(job=job, customer=portal.customer)
    assert email.status == EmailStatus.SENT, email.last_error
    (message,) = [m for m in mail.outbox if portal.customer.email in m.to]
    assert "\n" not in message.subject and "\r" not in message.subject
    assert "Boiler service" in message.subject


def test_a_line_break_at_the_start_of_a_customer_reply_does_not_stop_the_staff_alert(
    portal: Cast, priya_job: Job, as_priya: Client
) -> None:
    response = as_priya.post(f"/user/jobs/{priya_job.pk}/reply/", {"body": "Hi\nit broke again"})
    assert response.status_code == 302
    deliver_due(now=timezone.now())
    alert = OutgoingEmail.objects.get(job=priya_job, recipient=portal.staff)
    assert alert.status == EmailStatus.SENT, alert.last_error
    (message,) = [m for m in mail.outbox if portal.staff.email in m.to]
    assert "\n" not in message.subject and "Hi it broke again" in message.subject


def test_a_made_up_file_visibility_is_refused_and_changes_nothing(
    cast: Cast, job: Job, as_staff: Client
) -> None:
    attachment = attachment_add(
        job=job, upload=SimpleUploadedFile("quote.txt", b"Parts and labour"),
        visibility="internal", actor=cast.staff,
    )  # fmt: skip
    entries = job.activities.count()
    response = as_staff.post(
        f"/jobs/{job.number}/files/{attachment.pk}/visibility/", {"visibility": "public"},
        follow=True,
    )  # fmt: skip
    assert response.status_code == 200
    assert "Choose internal or visible." in response.text
    attachment.refresh_from_db()
    assert attachment.visibility == "internal"
    assert job.activities.count() == entries
