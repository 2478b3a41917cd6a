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
from django.utils import timezone

from jobline.accounts.models import User
from jobline.jobs.models import Activity, ActivityKind, ActorKind, Job, Visibility
from jobline.notifications.models import EmailKind, EmailStatus, OutgoingEmail

logger = logging.getLogger(__name__)

# Feed entries the customer is e-mailed about (when they are customer-visible and not their own).
CUSTOMER_EMAIL_KINDS = frozenset(
    {
        ActivityKind.STATUS_CHANGED,
        ActivityKind.REPLY,
        ActivityKind.FILE_ADDED,
        ActivityKind.FILE_VISIBILITY_CHANGED,
        ActivityKind.REQUEST_CREATED,
        ActivityKind.REQUEST_REOPENED,
    }
)
# Of those, the ones a customer can switch off with "Notify on replies" / unsubscribe.
REPLY_KINDS = frozenset(
    {ActivityKind.REPLY, ActivityKind.FILE_ADDED, ActivityKind.FILE_VISIBILITY_CHANGED}
)


def schedule(email: OutgoingEmail) -> None:
    """Enqueue the e-mail's delivery task for its send time, once the transaction commits."""
    email_id, when = email.pk, email.send_after

    def enqueue() -> None:
        from jobline.notifications.tasks import deliver_email

        try:
            deliver_email.using(run_after=when).enqueue(email_id)
        except Exception:  # the outbox row stays; `manage.py send_due_emails` picks it up
            logger.exception("Could not enqueue the delivery of e-mail %s", email_id)

    transaction.on_commit(enqueue)


def customer_update_queue(activity: Activity) -> OutgoingEmail | None:
    """Tell the job's customer about a feed entry, in a digest with whatever else reaches
    them within the window. Called by ``jobs.services.log`` for every entry."""
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
    return _queue(
        job=job,
        kind=EmailKind.CUSTOMER_UPDATE,
        customer=customer,
        to_address=customer.email,
        activity_ids=[activity.pk],
        send_after=now + dt.timedelta(seconds=settings.JOBLINE_EMAIL_DIGEST_SECONDS),
    )


def staff_alert_queue(*, job: Job, recipient: User, text: str) -> OutgoingEmail:
    """E-mail a member about what the customer did (sent at once, no digest window)."""
    return _queue(
        job=job,
        kind=EmailKind.STAFF_ALERT,
        recipient=recipient,
        to_address=recipient.email,
        lines=[text],
        send_after=timezone.now(),
    )


def _queue(*, job: Job, **fields: Any) -> OutgoingEmail:
    email = OutgoingEmail.objects.create(workspace_id=job.workspace_id, job=job, **fields)
    schedule(email)
    return email


def send_again(email: OutgoingEmail) -> OutgoingEmail:
    """An admin's "Send again" for a failed e-mail: a fresh round of attempts, now."""
    if email.status not in (EmailStatus.FAILED, EmailStatus.RETRYING):
        return email
    email.status = EmailStatus.RETRYING
    email.attempts = 0
    email.send_after = timezone.now()
    email.save(update_fields=["status", "attempts", "send_after"])
    schedule(email)
    return email
