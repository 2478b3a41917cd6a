"""Staff notifications: the owner hears about what the customer did, and the bell counts."""

from __future__ import annotations

from django.test import Client

from jobline.jobs.models import Job
from jobline.notifications.models import Notification
from tests.conftest import Cast, client_for


def test_the_owner_is_told_when_the_customer_replies(
    portal: Cast, priya_job: Job, as_priya: Client
) -> None:
    as_priya.post(f"/user/jobs/{priya_job.pk}/reply/", {"body": "When can you come?"})
    note = Notification.objects.get()
    assert note.recipient == portal.staff  # the job's owner
    assert "Priya Natarajan replied" in note.text and "When can you come?" in note.text

    owner = client_for(portal.staff)
    dashboard = owner.get("/dashboard/").text
    assert 'class="bell-count">1<' in dashboard
    bell = owner.get("/notifications/bell/").text
    assert "1 unread" in bell
    listing = owner.get("/notifications/").text
    assert "When can you come?" in listing and f"/jobs/{priya_job.number}/" in listing
    owner.post("/notifications/read/")
    assert "bell-count" not in owner.get("/notifications/bell/").text


def test_nobody_else_sees_the_notification(portal: Cast, priya_job: Job, as_priya: Client) -> None:
    as_priya.post(f"/user/jobs/{priya_job.pk}/reply/", {"body": "Hello"})
    for user in (portal.admin, portal.manager, portal.outsider):
        assert "Hello" not in client_for(user).get("/notifications/").text


def test_staff_actions_notify_nobody(portal: Cast, priya_job: Job, as_staff: Client) -> None:
    as_staff.post(
        f"/jobs/{priya_job.number}/messages/",
        {"body": "Internal", "visibility": "internal", "version": priya_job.version},
    )
    assert not Notification.objects.exists()
