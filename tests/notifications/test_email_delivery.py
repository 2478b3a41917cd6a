"""Delivery: staff e-mails to the owner and followers, retries with backoff, the admins'
delivery page, the background worker, and a real SMTP conversation."""

from __future__ import annotations

import datetime as dt
import email
import email.header
import smtplib
from email.message import Message as ParsedMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from jobline.jobs import services
from jobline.jobs.models import Job, JobFollower, Message
from jobline.notifications import delivery
from jobline.notifications.models import (
    EmailKind,
    EmailStatus,
    Notification,
    OutgoingEmail,
)
from jobline.workspaces.models import Membership
from tests.conftest import Cast, client_for
from tests.mail_and_processes import Inbox, free_port, job_with_customer_reply


class RefusingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages: Any) -> int:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture(autouse=True)
def base_url(settings: Any) -> None:
    settings.JOBLINE_BASE_URL = "http://testserver"


def later(minutes: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


# --- Staff e-mails ------------------------------------------------------------------------


def test_the_owner_and_followers_are_emailed_when_the_customer_replies(
    portal: Cast, priya_job: Job, as_priya: Client
) -> None:
    JobFollower.objects.create(job=priya_job, user=portal.manager)
    as_priya.post(f"/user/jobs/{priya_job.pk}/reply/", {"body": "Is it fixed?"})

    assert delivery.deliver_due() == {"sent": 2}  # staff e-mails do not wait
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert set(by_recipient) == {portal.staff.email, portal.manager.email}
    message = by_recipient[portal.staff.email]
    assert "Is it fixed?" in message.body
    assert (
        f"http://testserver/jobs/{priya_job.number}/?workspace={portal.workspace.pk}"
        in message.body
    )
    assert {n.recipient for n in Notification.objects.all()} == {portal.staff, portal.manager}


def test_a_removed_follower_hears_nothing(portal: Cast, priya_job: Job, as_priya: Client) -> None:
    JobFollower.objects.create(job=priya_job, user=portal.manager)
    Membership.objects.filter(user=portal.manager).update(removed_at=timezone.now())
    as_priya.post(f"/user/jobs/{priya_job.pk}/reply/", {"body": "Hello"})
    assert set(OutgoingEmail.objects.values_list("to_address", flat=True)) == {portal.staff.email}


@pytest.mark.parametrize("role", ["admin", "manager", "staff"])
def test_any_member_can_follow_and_unfollow_a_job(portal: Cast, priya_job: Job, role: str) -> None:
    user = getattr(portal, role)
    client = client_for(user)
    page = client.get(f"/jobs/{priya_job.number}/").text
    if user == priya_job.owner:
        assert "/follow/" not in page  # the owner hears anyway
        return
    assert ">Follow<" in page
    client.post(f"/jobs/{priya_job.number}/follow/", {"follow": "1"})
    assert JobFollower.objects.filter(job=priya_job, user=user).exists()
    assert ">Following<" in client.get(f"/jobs/{priya_job.number}/").text
    client.post(f"/jobs/{priya_job.number}/follow/", {"follow": "0"})
    assert not JobFollower.objects.filter(job=priya_job, user=user).exists()


def test_following_another_workspaces_job_is_a_404(
    portal: Cast, priya_job: Job, as_outsider: Client
) -> None:
    response = as_outsider.post(f"/jobs/{priya_job.number}/follow/", {"follow": "1"})
    assert response.status_code == 404
    assert not JobFollower.objects.exists()


# --- Retries, and what admins see -----------------------------------------------------------


def test_a_failed_send_is_retried_with_backoff_then_marked_failed(
    portal: Cast, priya_job: Job, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "tests.notifications.test_email_delivery.RefusingBackend"
    services.message_add(job=priya_job, body="Hello", visibility="customer", actor=portal.staff)
    # The change is saved whatever happens to the e-mail.
    assert Message.objects.filter(body="Hello").exists()

    now = later(6)
    assert delivery.deliver_due(now=now) == {"retrying": 1}
    email_row = OutgoingEmail.objects.get()
    assert email_row.attempts == 1
    assert email_row.send_after == now + dt.timedelta(minutes=1)
    assert "SMTPServerDisconnected" in email_row.last_error

    for attempt, wait_minutes in ((2, 4), (3, 16), (4, 64)):
        now = email_row.send_after
        assert delivery.deliver_due(now=now - dt.timedelta(seconds=1)) == {}  # not due yet
        delivery.deliver_due(now=now)
        email_row.refresh_from_db()
        assert (email_row.attempts, email_row.status) == (attempt, EmailStatus.RETRYING)
        assert email_row.send_after == now + dt.timedelta(minutes=wait_minutes)

    delivery.deliver_due(now=email_row.send_after)
    email_row.refresh_from_db()
    assert (email_row.attempts, email_row.status) == (5, EmailStatus.FAILED)
    assert delivery.deliver_due(now=later(60 * 24)) == {}  # failed e-mails stay failed
    # Admins (only they) are told on the bell.
    [note] = Notification.objects.all()
    assert note.recipient == portal.admin and portal.customer.email in note.text


def test_admins_see_failed_emails_and_can_send_them_again(
    portal: Cast, priya_job: Job, settings: Any, as_admin: Client
) -> None:
    failed = OutgoingEmail.objects.create(
        workspace=portal.workspace, job=priya_job, kind=EmailKind.STAFF_ALERT,
        recipient=portal.staff, to_address=portal.staff.email, lines=["Priya replied"],
        status=EmailStatus.FAILED, attempts=5, last_error="SMTPServerDisconnected: closed",
        send_after=timezone.now(),
    )  # fmt: skip
    page = as_admin.get("/notifications/email/?show=problems").text
    assert portal.staff.email in page and "SMTPServerDisconnected" in page and "Failed" in page

    as_admin.post(f"/notifications/email/{failed.pk}/send-again/")
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (EmailStatus.RETRYING, 0)
    assert delivery.deliver_due() == {"sent": 1}
    assert mail.outbox[0].to == [portal.staff.email]


@pytest.mark.parametrize("role", ["manager", "staff"])
def test_only_admins_see_the_delivery_page(portal: Cast, role: str) -> None:
    client = client_for(getattr(portal, role))
    assert client.get("/notifications/email/").status_code in (403, 404)


def test_the_delivery_page_shows_only_its_own_workspace(
    portal: Cast, priya_job: Job, as_outsider: Client
) -> None:
    OutgoingEmail.objects.create(
        workspace=portal.workspace, job=priya_job, kind=EmailKind.STAFF_ALERT,
        recipient=portal.staff, to_address="visible-only-to-harbour@example.com",
        send_after=timezone.now(),
    )  # fmt: skip
    assert "visible-only-to-harbour" not in as_outsider.get("/notifications/email/").text


# --- The background worker ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_what_a_committed_change_enqueued(settings: Any, cast: Cast) -> None:
    """Through django-tasks-db: the task is enqueued after commit and `db_worker` runs it."""
    settings.JOBLINE_EMAIL_DIGEST_SECONDS = 0
    job_with_customer_reply(cast, "Back tomorrow")

    call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)
    [message] = mail.outbox
    assert message.to == [cast.customer.email] and "Back tomorrow" in message.body
    assert OutgoingEmail.objects.get().status == EmailStatus.SENT


def test_the_scheduler_sends_what_is_due_when_its_task_was_lost(
    portal: Cast, priya_job: Job, settings: Any
) -> None:
    settings.JOBLINE_EMAIL_DIGEST_SECONDS = 0
    services.message_add(job=priya_job, body="Done", visibility="customer", actor=portal.staff)
    # No worker ran the delivery task; the scheduler's safety net (cron: --once) sends it.
    call_command("run_scheduler", once=True, verbosity=0)
    assert [m.to for m in mail.outbox] == [[portal.customer.email]]


# --- Real SMTP ----------------------------------------------------------------------------


def test_a_notification_goes_through_a_real_smtp_server(
    portal: Cast, priya_job: Job, settings: Any
) -> None:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        settings.EMAIL_USE_TLS = False
        settings.DEFAULT_FROM_EMAIL = "Harbour <jobs@harbour.test>"
        services.message_add(
            job=priya_job, body="Your phone is ready ✓", visibility="customer", actor=portal.staff
        )
        assert delivery.deliver_due(now=later(6)) == {"sent": 1}
    finally:
        controller.stop()

    [(recipients, raw)] = inbox.messages
    assert recipients == [portal.customer.email]
    parsed = email.message_from_bytes(raw)
    assert parsed["To"] == portal.customer.email
    assert parsed["From"] == "Harbour <jobs@harbour.test>"
    subject = str(email.header.make_header(email.header.decode_header(parsed["Subject"])))
    assert "Harbour Renovations" in subject
    unsubscribe = " ".join(parsed["List-Unsubscribe"].split())  # unfold the long header
    assert unsubscribe.startswith("<http://testserver/user/unsubscribe/")
    assert parsed["Auto-Submitted"] == "auto-generated"
    parts: dict[str, ParsedMessage] = {
        part.get_content_type(): part for part in parsed.walk() if not part.is_multipart()
    }
    assert set(parts) == {"text/plain", "text/html"}
    text = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    link = f"http://testserver/user/jobs/{priya_job.pk}/"
    assert "Your phone is ready ✓" in text and link in text
    assert "Your phone is ready ✓" in html and f'href="{link}"' in html


def test_a_staff_emails_link_opens_the_job_in_its_own_workspace(
    portal: Cast, priya_job: Job, as_outsider: Client
) -> None:
    """Someone in two workspaces lands in the one the e-mail is about, not the one they used
    last (job numbers repeat across workspaces)."""
    Membership.objects.create(workspace=portal.workspace, user=portal.outsider, role="staff")
    as_outsider.get("/dashboard/")  # the session settles on their first workspace: Elsewhere
    assert as_outsider.get(f"/jobs/{priya_job.number}/").status_code == 404
    linked = as_outsider.get(f"/jobs/{priya_job.number}/?workspace={portal.workspace.pk}")
    assert linked.status_code == 200 and "Priya&#39;s phone" in linked.text
