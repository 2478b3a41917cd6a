"""Putting e-mails in the outbox, inside the transaction of the change they report.

Nothing is sent here: each e-mail is an ``OutgoingEmail`` row plus a background task enqueued
once the change commits (``delivery.deliver`` sends it). A change that rolls back therefore
leaves no e-mail behind, and a failed send can never roll back the change.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobline.accounts.models import User
from jobline.bookings.models import Booking, BookingStatus
from jobline.jobs.choices import ActorKind, Visibility
from jobline.jobs.models import Activity, Job
from jobline.notifications import tasks
from jobline.notifications.models import (
    CUSTOMER_EMAIL_KINDS,
    REPLY_KINDS,
    EmailKind,
    EmailStatus,
    OutgoingEmail,
)

logger = logging.getLogger(__name__)

# The longest reminder window a workspace may set (Workspace.clean): two weeks.
MAX_REMINDER_HOURS = 24 * 14


def schedule(email: OutgoingEmail) -> None:
    """Enqueue the e-mail's delivery task for its send time, once the transaction commits."""
    transaction.on_commit(lambda: tasks.enqueue_delivery(email.pk, email.send_after))


def customer_update_queue(activity: Activity) -> OutgoingEmail | None:
    """Tell the job's customer about a feed entry, in a digest with whatever else reaches
    them within the window. What the e-mail says is decided when it is sent (delivery.py),
    through the same visibility rules as the portal."""
    if (
        activity.kind not in CUSTOMER_EMAIL_KINDS
        or activity.visibility != Visibility.CUSTOMER
        or activity.actor_kind == ActorKind.CUSTOMER
    ):
        return None
    job: Job = activity.job
    customer = job.customer
    if customer is None or not customer.email or customer.archived_at is not None:
        return None
    if activity.kind in REPLY_KINDS and not customer.notify_on_replies:
        return None
    now = timezone.now()
    waiting = (
        OutgoingEmail.objects.select_for_update()
        .filter(
            job=job,
            kind=EmailKind.CUSTOMER_UPDATE,
            customer=customer,
            status=EmailStatus.WAITING,
            send_after__gt=now,
        )
        .order_by("-id")
        .first()
    )
    if waiting is not None:
        waiting.activity_ids = [*waiting.activity_ids, activity.pk]
        waiting.save(update_fields=["activity_ids"])
        return waiting
    return queue(
        job=job,
        kind=EmailKind.CUSTOMER_UPDATE,
        customer=customer,
        to_address=customer.email,
        activity_ids=[activity.pk],
        send_after=now + dt.timedelta(seconds=settings.JOBLINE_EMAIL_DIGEST_SECONDS),
    )


def visit_reminders_queue(*, now: dt.datetime | None = None) -> int:
    """Queue the reminder of every visit on a job that starts within its workspace's
    reminder window and has had none for this start time. Each visit is claimed by one
    conditional UPDATE of its ``reminded_for`` in the same transaction as its e-mail, so two
    runs (or two schedulers) queue it once; a visit moved later gets a reminder for its new
    time. Returns how many were queued."""
    now = now or timezone.now()
    due = (
        Booking.objects.filter(
            status=BookingStatus.SCHEDULED,
            starts_at__gt=now,
            starts_at__lte=now + dt.timedelta(hours=MAX_REMINDER_HOURS),
            job__isnull=False,
            customer__isnull=False,
            job__customer_id=F("customer_id"),
            workspace__module_bookings=True,
            workspace__booking_reminder_hours__gt=0,
        )
        .exclude(reminded_for=F("starts_at"), reminded_for__isnull=False)
        .select_related("workspace", "customer", "job")
        .order_by("starts_at")[:500]
    )
    queued = 0
    for booking in due:
        window = dt.timedelta(hours=booking.workspace.booking_reminder_hours)
        customer = booking.customer
        if booking.starts_at > now + window or not customer.email or customer.archived_at:
            continue
        with transaction.atomic(durable=True):
            claimed = (
                Booking.objects.filter(
                    pk=booking.pk, status=BookingStatus.SCHEDULED, starts_at=booking.starts_at
                )
                .exclude(reminded_for=booking.starts_at)
                .update(reminded_for=booking.starts_at)
            )
            if not claimed:
                continue
            queue(
                job=booking.job, kind=EmailKind.VISIT_REMINDER, customer=customer,
                booking=booking, to_address=customer.email, send_after=now,
            )  # fmt: skip
            queued += 1
    return queued


def staff_alert_queue(*, job: Job, recipient: User, text: str, at: dt.datetime) -> OutgoingEmail:
    """E-mail a member about what the customer did (sent at once, no digest window). One
    action of the customer (a reply with two files) is one e-mail: entries written at the same
    instant update the e-mail still waiting."""
    waiting = (
        OutgoingEmail.objects.select_for_update()
        .filter(
            job=job,
            kind=EmailKind.STAFF_ALERT,
            recipient=recipient,
            status=EmailStatus.WAITING,
            created_at=at,
        )
        .first()
    )
    if waiting is not None:
        waiting.lines = [text]
        waiting.save(update_fields=["lines"])
        return waiting
    return queue(
        job=job, kind=EmailKind.STAFF_ALERT, recipient=recipient, to_address=recipient.email,
        lines=[text], send_after=at, created_at=at,
    )  # fmt: skip


def queue(*, job: Job, **fields: Any) -> OutgoingEmail:
    email = OutgoingEmail.objects.create(workspace_id=job.workspace_id, job=job, **fields)
    schedule(email)
    return email


def send_again(email: OutgoingEmail) -> OutgoingEmail:
    """A fresh round of attempts for a failed or held e-mail, now (inside the caller's
    transaction)."""
    if not email.can_be_sent_again:
        return email
    email.status = EmailStatus.RETRYING
    email.attempts = 0
    email.send_after = timezone.now()
    email.claimed_at = email.handed_over_at = None
    email.save(update_fields=["status", "attempts", "send_after", "claimed_at", "handed_over_at"])
    schedule(email)
    return email
