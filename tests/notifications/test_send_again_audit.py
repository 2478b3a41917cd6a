"""An Admin's "Send again" on the e-mail delivery page is in the audit log."""

from __future__ import annotations

from django.test import Client
from django.utils import timezone

from jobline.jobs.models import Job
from jobline.notifications.models import EmailKind, EmailStatus, OutgoingEmail
from jobline.workspaces.models import AuditLogEntry
from tests.conftest import Cast


def test_send_again_is_audited(cast: Cast, job: Job, as_admin: Client) -> None:
    email = OutgoingEmail.objects.create(
        workspace=cast.workspace, job=job, kind=EmailKind.STAFF_ALERT, recipient=cast.staff,
        to_address=cast.staff.email, status=EmailStatus.FAILED, send_after=timezone.now(),
        attempts=5,
    )  # fmt: skip
    response = as_admin.post(f"/notifications/email/{email.pk}/send-again/")
    assert response.status_code == 302
    entry = AuditLogEntry.objects.get(workspace=cast.workspace, action="email.sent_again")
    assert entry.actor == cast.admin
    assert (entry.target, entry.old_value, entry.new_value) == (
        f"{job.reference} → {cast.staff.email}", "failed", "retrying",
    )  # fmt: skip
