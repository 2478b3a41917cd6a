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
from jobline.billing.models import OWING, Invoice, InvoiceStatus
from jobline.bookings.models import Booking, BookingStatus
from jobline.core import wall_time
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
from jobline.quotes.models import Quote
from jobline.workspaces.models import Workspace

logger = logging.getLogger(__name__)


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
    time. Returns how many were queued.

    Only visits that can be reminded are read (a customer with an address, not archived), one
    query per workspace with its own window, so visits that cannot be reminded never crowd
    out those that can."""
    now = now or timezone.now()
    queued = 0
    windows = Workspace.objects.filter(
        module_bookings=True, booking_reminder_hours__gt=0
    ).values_list("pk", "booking_reminder_hours")
    for workspace_id, hours in windows:
        due = (
            Booking.objects.filter(
                workspace_id=workspace_id,
                status=BookingStatus.SCHEDULED,
                starts_at__gt=now,
                starts_at__lte=now + dt.timedelta(hours=hours),
                job__isnull=False,
                job__customer_id=F("customer_id"),
                customer__archived_at__isnull=True,
            )
            .exclude(customer__email="")
            .exclude(reminded_for=F("starts_at"), reminded_for__isnull=False)
            .select_related("customer", "job")
            .order_by("starts_at")[:REMINDERS_PER_RUN]
        )
        for booking in due:
            queued += _queue_reminder(booking, now=now)
    return queued


# A run queues at most this many per workspace; the rest go on the next run, minutes later.
REMINDERS_PER_RUN = 500


def _queue_reminder(booking: Booking, *, now: dt.datetime) -> int:
    with transaction.atomic(durable=True):
        claimed = (
            Booking.objects.filter(
                pk=booking.pk, status=BookingStatus.SCHEDULED, starts_at=booking.starts_at
            )
            .exclude(reminded_for=booking.starts_at)
            .update(reminded_for=booking.starts_at)
        )
        if not claimed:
            return 0
        queue(
            job=booking.job, kind=EmailKind.VISIT_REMINDER, customer=booking.customer,
            booking=booking, to_address=booking.customer.email, send_after=now,
        )  # fmt: skip
        return 1


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


def quote_queue(*, quote: Quote, **fields: Any) -> OutgoingEmail:
    """An e-mail about a quote (to its customer, or to staff of its decision), sent now."""
    email = OutgoingEmail.objects.create(
        workspace_id=quote.workspace_id, quote=quote, send_after=timezone.now(), **fields
    )
    schedule(email)
    return email


def invoice_queue(*, invoice: Invoice, kind: str = EmailKind.INVOICE) -> OutgoingEmail | None:
    """Ask the job's customer for an invoice's money (or remind them), sent now: inside the
    request's (or the reminder's) transaction. No address, or an archived customer: nothing."""
    customer = invoice.job.customer
    if customer is None or not customer.email or customer.archived_at is not None:
        return None
    return queue(job=invoice.job, kind=kind, customer=customer, invoice=invoice,
                 to_address=customer.email, send_after=timezone.now())  # fmt: skip


def invoice_reminders_queue(*, now: dt.datetime | None = None) -> int:
    """Remind the customer of every invoice overdue by one of its workspace's reminder days
    (3 and 10 by default) that has not had that reminder. Each reminder is claimed by one
    conditional UPDATE of the invoice's ``reminders_sent`` in the same transaction as its
    e-mail, so running twice (or two schedulers) sends it once. Returns how many were queued."""
    now = now or timezone.now()
    queued = 0
    workspaces = Workspace.objects.exclude(invoice_reminder_days="").only(
        "pk", "time_zone", "invoice_reminder_days"
    )
    for workspace in workspaces:
        days = workspace.reminder_days
        if not days:
            continue
        today = timezone.localdate(now, timezone=wall_time.zone(workspace.time_zone))
        overdue = (
            Invoice.objects.filter(
                OWING, workspace=workspace, status=InvoiceStatus.ISSUED,
                reminders_sent__lt=len(days),
                due_on__lte=today - dt.timedelta(days=days[0]),
            )
            .select_related("job__customer")
            .order_by("due_on", "pk")[:REMINDERS_PER_RUN]
        )  # fmt: skip
        for invoice in overdue:
            # The reminder the invoice is owed now: the last day it has passed.
            owed = sum(1 for day in days if invoice.due_on + dt.timedelta(days=day) <= today)
            if owed <= invoice.reminders_sent:
                continue
            with transaction.atomic(durable=True):
                claimed = Invoice.objects.filter(
                    pk=invoice.pk, reminders_sent=invoice.reminders_sent
                ).update(reminders_sent=owed)
                if claimed and invoice_queue(invoice=invoice, kind=EmailKind.INVOICE_REMINDER):
                    queued += 1
    return queued


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
