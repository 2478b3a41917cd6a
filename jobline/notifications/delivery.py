"""Sending what the outbox holds (run by the ``deliver_email`` background task).

A customer update is written at send time from the feed entries it lists, through
jobs.customer_view (the portal's own reading of a job), so nothing that became internal
meanwhile goes out. A failed send is tried
again with backoff; after the last attempt the e-mail is marked failed for admins to see.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from jobline.billing.models import Invoice, InvoiceStatus
from jobline.bookings.models import Booking, BookingStatus
from jobline.core.background import DATABASE_DOWN
from jobline.core.mail import email_message
from jobline.core.wall_time import span_words
from jobline.customers.unsubscribe import unsubscribe_token
from jobline.jobs import customer_view
from jobline.notifications.models import (
    REPLY_KINDS,
    EmailKind,
    EmailStatus,
    Notification,
    OutgoingEmail,
)
from jobline.quotes import selectors as quote_selectors
from jobline.quotes.models import OPEN_STATUSES, Quote
from jobline.quotes.services import quote_totals
from jobline.quotes.tokens import token_for as quote_token
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


def _visit_reminder(email: OutgoingEmail) -> EmailMultiAlternatives | None:
    """A reminder of a visit, as the visit is when it is sent (moved: its new time; cancelled,
    taken off the job, or no longer the customer's: nothing)."""
    customer = email.customer
    if customer is None or not customer.email or customer.archived_at or email.job.archived_at:
        return None
    booking = (
        Booking.objects.visible_to(customer_viewer(customer))
        .filter(pk=email.booking_id, job_id=email.job_id, status=BookingStatus.SCHEDULED)
        .first()
    )
    if booking is None:
        return None
    job = email.job
    workspace = job.workspace
    when = span_words(booking.starts_at, booking.ends_at, workspace.time_zone)
    context = {
        "business": workspace.name,
        "customer": customer,
        "job": job,
        "visit": booking,
        "when": when,
        "time_zone": workspace.time_zone,
        "job_url": absolute(reverse("portal:job", args=[job.pk]))
        if workspace.portal_shows_jobs
        else "",
        "calendar_url": absolute(reverse("portal:visit_ics", args=[booking.pk]))
        if workspace.portal_shows_jobs
        else "",
    }
    return _compose(
        "visit_reminder",
        subject=f"{workspace.name}: reminder of your visit, {when}",
        to=customer.email,
        context=context,
        headers={},
    )


def _quote_to_customer(email: OutgoingEmail) -> EmailMultiAlternatives | None:
    """A quote's link for its customer, as the quote is when it is sent (through the quotes'
    own visibility rule: a quote no longer the customer's, or withdrawn, is not sent)."""
    customer = email.customer
    if customer is None or not customer.email or customer.archived_at:
        return None
    quote = (
        Quote.objects.visible_to(customer_viewer(customer))
        .select_related("workspace", "customer")
        .filter(pk=email.quote_id, status__in=OPEN_STATUSES)
        .first()
    )
    if quote is None:
        return None
    business = quote.workspace.name
    result = quote_totals(quote)
    revised = bool(email.lines) and email.lines[0] == "revised"
    context = {
        "business": business,
        "customer": customer,
        "quote": quote,
        "total": result.total,
        "deposit": result.deposit,
        "revised": revised,
        "viewer": customer_viewer(customer),
        "workspace": quote.workspace,
        "quote_url": absolute(reverse("quote_public:page", args=[quote_token(quote.uid)])),
    }
    subject = f"{business}: {'updated ' if revised else ''}quote {quote.reference}, {quote.title}"
    return _compose("quote", subject=subject, to=customer.email, context=context, headers={})


def _quote_decided(email: OutgoingEmail) -> EmailMultiAlternatives | None:
    recipient = email.recipient
    if recipient is None or not recipient.is_active or email.quote_id is None:
        return None
    quote = quote_selectors.quote_for_member(recipient, email.quote_id)
    if quote is None:
        return None
    query = urlencode({"workspace": quote.workspace_id})
    context = {
        "recipient": recipient,
        "quote": quote,
        "lines": email.lines,
        "quote_url": absolute(f"{reverse('quotes:detail', args=[quote.pk])}?{query}"),
        "business": quote.workspace.name,
    }
    subject = email.lines[0] if email.lines else f"{quote.reference}: decided"
    return _compose("quote_decided", subject=subject, to=recipient.email, context=context,
                    headers={})  # fmt: skip


def _invoice(email: OutgoingEmail) -> EmailMultiAlternatives | None:
    """A payment request (or reminder) for its customer, as the invoice is when it is sent
    (through Invoice.visible_to: no longer theirs, void, or paid meanwhile: nothing)."""
    customer = email.customer
    if customer is None or not customer.email or customer.archived_at or email.invoice_id is None:
        return None
    viewer = customer_viewer(customer)
    invoice = (
        Invoice.objects.visible_to(viewer)
        .select_related("job", "workspace", "instalment")
        .filter(pk=email.invoice_id, status=InvoiceStatus.ISSUED)
        .first()
    )
    if invoice is None:
        return None
    owed = invoice.owed
    if owed <= 0:
        return None
    workspace = invoice.workspace
    reminder = email.kind == EmailKind.INVOICE_REMINDER
    context = {
        "business": workspace.name,
        "workspace": workspace,
        "customer": customer,
        "invoice": invoice,
        "owed": owed,
        "reminder": reminder,
        "viewer": viewer,
        "invoice_url": absolute(reverse("portal:invoice", args=[invoice.pk]))
        if workspace.portal_shows_jobs
        else "",
    }
    due = f"{invoice.due_on.day} {invoice.due_on:%b %Y}"
    if reminder:
        subject = f"{workspace.name}: reminder, {invoice.reference} was due on {due}"
    else:
        subject = f"{workspace.name}: payment request {invoice.reference}, {invoice.job.title}"
    return _compose("invoice", subject=subject, to=customer.email, context=context, headers={})


def build(email: OutgoingEmail) -> EmailMultiAlternatives | None:
    """The message as it would go now, or None when nothing in it may be sent any more."""
    if email.kind in (EmailKind.INVOICE, EmailKind.INVOICE_REMINDER):
        return _invoice(email)
    if email.kind == EmailKind.QUOTE:
        return _quote_to_customer(email)
    if email.kind == EmailKind.QUOTE_DECIDED:
        return _quote_decided(email)
    if email.kind == EmailKind.CUSTOMER_UPDATE:
        return _customer_update(email)
    if email.kind == EmailKind.VISIT_REMINDER:
        return _visit_reminder(email)
    return _staff_alert(email)


def retry_delay(attempts: int) -> dt.timedelta:
    """1, 4, 16, 64 minutes… after the first, second, third, fourth failure."""
    return dt.timedelta(seconds=settings.JOBLINE_EMAIL_RETRY_BASE_SECONDS * 4 ** (attempts - 1))


@dataclass(frozen=True)
class Outcome:
    """What a delivery did (the task's result), and when to try again after a failure."""

    status: str
    retry_at: dt.datetime | None = None


SENDABLE = (EmailStatus.WAITING, EmailStatus.RETRYING)
UNCERTAIN_ERROR = (
    "The worker stopped while handing this e-mail to the mail server, so it may have gone "
    "out. It is not sent again by itself: send it again only if the recipient did not get it."
)


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.JOBLINE_TASK_LEASE_SECONDS)


def deliver(email_id: int, *, now: dt.datetime | None = None) -> Outcome:
    """Send one e-mail if it is due. Safe to run twice, or after a worker died mid-send: the
    outbox row is claimed ("sending") before the mail server is reached, and an e-mail is
    handed to the mail server at most once."""
    now = now or timezone.now()
    with transaction.atomic():
        email = (
            # Lock only the e-mail's row (PostgreSQL refuses to lock the nullable outer joins).
            OutgoingEmail.objects.select_for_update(of=("self",))
            .select_related("job__workspace", "customer", "recipient", "quote")
            .filter(pk=email_id)
            .first()
        )
        if email is None:
            return Outcome("nothing to do")
        if email.status == EmailStatus.SENDING:
            if email.claimed_at and email.claimed_at > now - _lease():
                # Another worker took it inside the lease: alive, or died a moment ago. Look
                # again once its lease is over (then it is sent, or recovered below).
                return Outcome("being sent", retry_at=email.claimed_at + _lease())
            if _recover_abandoned_send(email) != EmailStatus.WAITING:
                return Outcome(email.status)
        if email.status not in SENDABLE:
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
        email.status, email.claimed_at, email.handed_over_at = EmailStatus.SENDING, now, None
        email.save(update_fields=[*ATTEMPT_FIELDS, "claimed_at", "handed_over_at"])
    # The row says "sending" (committed): no other worker takes it. Reach the mail server
    # first; only the hand-over itself is the moment a dead worker leaves in doubt.
    message.extra_headers["Message-ID"] = f"<jobline-{email.pk}@{_message_id_domain()}>"
    mail_server = get_connection()

    def handing_over() -> None:
        OutgoingEmail.objects.filter(pk=email.pk).update(handed_over_at=timezone.now())

    try:
        mail_server.open()
        if not _marked_at_data(mail_server, handing_over):
            handing_over()  # a backend that is not SMTP: the whole send is the hand-over
        mail_server.send_messages([message])
    except DATABASE_DOWN:  # not the mail server's failure: the worker waits it out
        raise  # the row stays "sending"; recovered after the lease like a dead worker's
    except Exception as error:  # any failure of the mail server: retry, never raise
        return _failed(email, error, now=now)
    finally:
        _close_quietly(mail_server)
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status=EmailStatus.SENT, sent_at=timezone.now(), last_error=""
    )
    return Outcome("sent")


def _marked_at_data(mail_server: Any, mark: Callable[[], None]) -> bool:
    """Over SMTP, ``mark`` the hand-over just before the DATA command, not at the connection.

    Until the end of DATA the mail server keeps nothing: a connection cut before it aborts the
    transaction (RFC 5321, 4.1.1.4), so a worker that dies while connecting, greeting, naming the
    sender or the recipients leaves an e-mail that is safely sent again. Django's SMTP backend
    hands its ``smtplib.SMTP`` connection the message through ``sendmail``, which calls
    ``data``; the connection's own ``data`` is wrapped for this one send. False for any other
    backend (it has no such moment to mark)."""
    connection = getattr(mail_server, "connection", None)
    if not isinstance(connection, smtplib.SMTP):
        return False
    send_data = connection.data

    def data(msg: Any) -> Any:
        mark()
        return send_data(msg)

    connection.data = data  # type: ignore[method-assign]
    return True


def _message_id_domain() -> str:
    return urlsplit(settings.JOBLINE_BASE_URL).hostname or "jobline.localhost"


def _close_quietly(mail_server: Any) -> None:
    try:
        mail_server.close()
    except Exception:  # the message is sent (or failed) already; a bad QUIT changes nothing
        logger.debug("Closing the mail connection failed", exc_info=True)


def _failed(email: OutgoingEmail, error: Exception, *, now: dt.datetime) -> Outcome:
    """A send the mail server refused or never took: retried later, or failed for good."""
    logger.warning("Sending e-mail %s failed: %s", email.pk, error)
    email.last_error = f"{type(error).__name__}: {error}"[:2000]
    with transaction.atomic():
        if email.attempts >= settings.JOBLINE_EMAIL_MAX_ATTEMPTS:
            email.status = EmailStatus.FAILED
            _tell_admins(email)
        else:
            email.status = EmailStatus.RETRYING
            email.send_after = now + retry_delay(email.attempts)
        email.save(update_fields=[*ATTEMPT_FIELDS, "send_after"])
    retrying = email.status == EmailStatus.RETRYING
    return Outcome(email.status, retry_at=email.send_after if retrying else None)


def _recover_abandoned_send(email: OutgoingEmail) -> str:
    """An e-mail left "sending" by a worker that died (its lease is over; the row is locked).
    Never handed to the mail server: waiting again. Handed over: it may have gone out, so it
    is failed for an Admin to check, never sent twice."""
    if email.handed_over_at is None:
        email.status = EmailStatus.WAITING
        email.attempts = max(0, email.attempts - 1)  # the attempt never reached the server
    else:
        email.status = EmailStatus.FAILED
        email.last_error = UNCERTAIN_ERROR
        _tell_admins(email, uncertain=True)
    email.claimed_at = None
    email.save(update_fields=["status", "attempts", "last_error", "claimed_at"])
    logger.warning("E-mail %s was abandoned mid-send: now %s", email.pk, email.status)
    return email.status


def _tell_admins(email: OutgoingEmail, *, uncertain: bool = False) -> None:
    """A bell notification for each Admin when an e-mail has finally failed."""
    admins = Membership.objects.active().filter(
        workspace_id=email.workspace_id, role=Role.ADMIN, user__is_active=True
    )
    if uncertain:
        text = (
            f"An e-mail to {email.to_address} may not have gone out: check it before sending "
            "it again (Settings → E-mail delivery)"
        )
    else:
        text = (
            f"An e-mail to {email.to_address} could not be sent after {email.attempts} "
            "attempts (Settings → E-mail delivery)"
        )
    Notification.objects.bulk_create(
        Notification(
            recipient_id=admin.user_id,
            workspace_id=email.workspace_id,
            job_id=email.job_id,
            text=text[:255],
        )
        for admin in admins
    )


def deliver_due(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Send every e-mail that is due, and settle the ones dead workers left "sending": the
    scheduler's periodic safety net (notifications/periodic.py) for a lost delivery task."""
    now = now or timezone.now()
    abandoned = Q(status=EmailStatus.SENDING, claimed_at__lt=now - _lease())
    due = OutgoingEmail.objects.filter(
        Q(status__in=SENDABLE, send_after__lte=now) | abandoned
    ).order_by("send_after", "id")
    outcome: dict[str, int] = {}
    for email_id in due.values_list("pk", flat=True):
        status = deliver(email_id, now=now).status
        outcome[status] = outcome.get(status, 0) + 1
    return outcome
