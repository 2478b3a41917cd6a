"""Sending what the outbox holds (run by the ``deliver_email`` background task).

A customer update is written at send time from the feed entries it lists, through
jobs.customer_view (the portal's own reading of a job), so nothing that became internal
meanwhile goes out. A failed send is tried
again with backoff; after the last attempt the e-mail is marked failed for admins to see.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from jobline.core.mail import email_message
from jobline.customers.unsubscribe import unsubscribe_token
from jobline.jobs import customer_view
from jobline.notifications.models import (
    REPLY_KINDS,
    EmailKind,
    EmailStatus,
    Notification,
    OutgoingEmail,
)
from jobline.workspaces.models import Membership, Role
from jobline.workspaces.viewers import customer_viewer

logger = logging.getLogger(__name__)

# What every send attempt records on the outbox row.
ATTEMPT_FIELDS = ("subject", "to_address", "attempts", "last_error", "status")


def absolute(path: str) -> str:
    return f"{settings.JOBLINE_BASE_URL}{path}"


def _customer_update(email: OutgoingEmail) -> EmailMultiAlternatives | None:
    job = email.job
    customer = email.customer
    if customer is None or not customer.email or customer.archived_at or job.archived_at:
        return None
    viewer = customer_viewer(customer)
    entries = customer_view.CustomerJob(job, viewer).update_entries(email.activity_ids)
    if not customer.notify_on_replies:  # unsubscribed while the e-mail waited
        entries = [entry for entry in entries if entry.kind not in REPLY_KINDS]
    if not entries:
        return None
    business = job.workspace.name
    job_url = (
        absolute(reverse("portal:job", args=[job.pk])) if job.workspace.portal_shows_jobs else ""
    )
    unsubscribe_url = absolute(reverse("portal:unsubscribe", args=[unsubscribe_token(customer)]))
    context = {
        "business": business,
        "customer": customer,
        "job": job,
        "entries": entries,
        "status": customer_view.status_label(job),
        "job_url": job_url,
        "unsubscribe_url": unsubscribe_url,
        "notify_on_replies": customer.notify_on_replies,
    }
    if len(entries) == 1:
        subject = f"{business}: {_one_line(entries[0])} ({job.title})"
    else:
        subject = f"{business}: {len(entries)} updates on {job.title}"
    return _compose(
        "customer_update",
        subject=subject,
        to=customer.email,
        context=context,
        # RFC 8058 one-click unsubscribe, for mail programs that offer it.
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def _compose(
    template: str, *, subject: str, to: str, context: dict[str, Any], headers: dict[str, str]
) -> EmailMultiAlternatives:
    """Plain text and HTML from notifications/email/<template>.txt and .html; every header
    (the subject holds a business name and a job title) folded to one line."""
    return email_message(
        subject=subject,
        text=render_to_string(f"notifications/email/{template}.txt", context),
        html=render_to_string(f"notifications/email/{template}.html", context),
        to=[to],
        headers={"Auto-Submitted": "auto-generated", **headers},
    )


def _one_line(entry: customer_view.CustomerEntry) -> str:
    """An entry as a subject line."""
    if entry.kind == "reply":
        return f"new reply from {entry.actor_name}"
    if entry.file is not None:
        return f"{entry.actor_name} shared {entry.file.original_name}"
    if entry.status:
        return f"now {entry.status}"
    return entry.text


def _staff_alert(email: OutgoingEmail) -> EmailMultiAlternatives | None:
    recipient = email.recipient
    if recipient is None or not recipient.is_active:
        return None
    job = email.job
    query = urlencode({"workspace": job.workspace_id})
    context = {
        "recipient": recipient,
        "job": job,
        "lines": email.lines,
        "job_url": absolute(f"{reverse('jobs:detail', args=[job.number])}?{query}"),
        "business": job.workspace.name,
    }
    subject = f"{job.reference}: {email.lines[0] if email.lines else 'customer activity'}"
    return _compose("staff_alert", subject=subject, to=recipient.email, context=context, headers={})


def build(email: OutgoingEmail) -> EmailMultiAlternatives | None:
    """The message as it would go now, or None when nothing in it may be sent any more."""
    if email.kind == EmailKind.CUSTOMER_UPDATE:
        return _customer_update(email)
    return _staff_alert(email)


def retry_delay(attempts: int) -> dt.timedelta:
    """1, 4, 16, 64 minutes… after the first, second, third, fourth failure."""
    return dt.timedelta(seconds=settings.JOBLINE_EMAIL_RETRY_BASE_SECONDS * 4 ** (attempts - 1))


@dataclass(frozen=True)
class Outcome:
    """What a delivery did (the task's result), and when to try again after a failure."""

    status: str
    retry_at: dt.datetime | None = None


def deliver(email_id: int, *, now: dt.datetime | None = None) -> Outcome:
    """Send one e-mail if it is due."""
    now = now or timezone.now()
    with transaction.atomic():
        email = (
            # Lock only the e-mail's row (PostgreSQL refuses to lock the nullable outer joins).
            OutgoingEmail.objects.select_for_update(of=("self",))
            .select_related("job__workspace", "customer", "recipient")
            .filter(pk=email_id)
            .first()
        )
        if email is None or email.status not in (EmailStatus.WAITING, EmailStatus.RETRYING):
            return Outcome("nothing to do")
        if email.send_after > now:
            return Outcome("not due yet")  # a task for its send time is queued
        message = build(email)
        if message is None:
            email.status = EmailStatus.WITHHELD
            email.save(update_fields=["status"])
            return Outcome("withheld")
        # Where it goes now: the profile's or member's current address.
        email.subject, email.to_address = message.subject, message.to[0]
        email.attempts += 1
        try:
            message.send()
        except Exception as error:  # any failure of the mail server: retry, never raise
            logger.warning("Sending e-mail %s failed: %s", email.pk, error)
            email.last_error = f"{type(error).__name__}: {error}"[:2000]
            if email.attempts >= settings.JOBLINE_EMAIL_MAX_ATTEMPTS:
                email.status = EmailStatus.FAILED
                _tell_admins(email)
            else:
                email.status = EmailStatus.RETRYING
                email.send_after = now + retry_delay(email.attempts)
            email.save(update_fields=[*ATTEMPT_FIELDS, "send_after"])
            retrying = email.status == EmailStatus.RETRYING
            return Outcome(email.status, retry_at=email.send_after if retrying else None)
        email.status = EmailStatus.SENT
        email.sent_at = timezone.now()
        email.last_error = ""
        email.save(update_fields=[*ATTEMPT_FIELDS, "sent_at"])
        return Outcome("sent")


def _tell_admins(email: OutgoingEmail) -> None:
    """A bell notification for each Admin when an e-mail has finally failed."""
    admins = Membership.objects.active().filter(
        workspace_id=email.workspace_id, role=Role.ADMIN, user__is_active=True
    )
    text = (
        f"An e-mail to {email.to_address} could not be sent after {email.attempts} attempts "
        "(Settings → E-mail delivery)"
    )
    Notification.objects.bulk_create(
        Notification(recipient_id=admin.user_id, job_id=email.job_id, text=text[:255])
        for admin in admins
    )


def deliver_due(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Send every e-mail that is due (for `manage.py send_due_emails`, and a safety net when
    a delivery task was lost)."""
    now = now or timezone.now()
    due = OutgoingEmail.objects.filter(
        status__in=(EmailStatus.WAITING, EmailStatus.RETRYING), send_after__lte=now
    ).order_by("send_after", "id")
    outcome: dict[str, int] = {}
    for email_id in due.values_list("pk", flat=True):
        status = deliver(email_id, now=now).status
        outcome[status] = outcome.get(status, 0) + 1
    return outcome
