"""In-app notifications for staff: what customers did on the jobs they own."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from jobline.jobs.choices import ActivityKind
from jobline.jobs.models import Job


class Notification(models.Model):
    """A line in a member's bell: what a customer did on a job, or (without a job) something
    an Admin must look at, such as a background worker that stopped."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # Where the line leads when it is not about a job (a quote's page).
    link = models.CharField(max_length=255, blank=True)
    text = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Serves the bell's unread count and the notification list, newest first.
            models.Index(
                fields=["recipient", "workspace", "read_at", "-created_at"], name="notif_inbox_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.text


# Feed entries the customer is e-mailed about (when they are customer-visible and not their own).
CUSTOMER_EMAIL_KINDS = frozenset(
    {
        ActivityKind.STATUS_CHANGED,
        ActivityKind.REPLY,
        ActivityKind.FILE_ADDED,
        ActivityKind.FILE_VISIBILITY_CHANGED,
        ActivityKind.REQUEST_CREATED,
        ActivityKind.REQUEST_REOPENED,
        ActivityKind.VISIT_BOOKED,
        ActivityKind.VISIT_MOVED,
        ActivityKind.VISIT_CANCELLED,
        ActivityKind.APPROVAL_REQUESTED,
        ActivityKind.APPROVAL_REOPENED,
        ActivityKind.FOLLOW_UP_INVITED,
    }
)
# Of those, the ones a customer can switch off with "Notify on replies" / unsubscribe (like
# status changes, visits booked, moved or cancelled and their reminders always arrive: a
# customer who misses one arrives at the wrong time).
REPLY_KINDS = frozenset(
    {ActivityKind.REPLY, ActivityKind.FILE_ADDED, ActivityKind.FILE_VISIBILITY_CHANGED}
)


class EmailKind(models.TextChoices):
    CUSTOMER_UPDATE = "customer_update", "Customer update"
    STAFF_ALERT = "staff_alert", "Staff alert"
    VISIT_REMINDER = "visit_reminder", "Visit reminder"
    QUOTE = "quote", "Quote to the customer"
    QUOTE_DECIDED = "quote_decided", "Quote decision to staff"
    INVOICE = "invoice", "Payment request"
    INVOICE_REMINDER = "invoice_reminder", "Payment reminder"


class EmailStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"  # in its digest window, or queued to go now
    RETRYING = "retrying", "Retrying"  # a send failed; tried again at send_after
    SENDING = "sending", "Sending"  # a worker is handing it to the mail server now
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"  # every attempt failed; an admin can send it again
    WITHHELD = "withheld", "Withheld"  # nothing in it may reach the recipient any more
    HELD = "held", "Held after a restore"  # waits for an Admin: the original may have sent it


# What an Admin may send again by hand (OutgoingEmail.can_be_sent_again).
SENDABLE_AGAIN = (EmailStatus.FAILED, EmailStatus.RETRYING, EmailStatus.HELD)


class OutgoingEmail(models.Model):
    """One e-mail on its way: written in the same transaction as the change it reports, sent
    by a background task after that commits. The record stays, so admins see what went out,
    what is retrying and what failed.

    A customer update lists the feed entries it reports (``activity_ids``); what it says is
    decided when it is sent, through the portal's visibility rule, so a reply made internal
    during the digest window is never sent.
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="outgoing_emails"
    )
    # The job it is about; a quote's e-mails have the quote instead (before it is a job).
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    quote = models.ForeignKey(
        "quotes.Quote", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=EmailKind.choices)
    # A payment request's (or reminder's) invoice: what it says is read from it when it is sent.
    invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # A visit reminder's visit (what it says is read from it when it is sent).
    booking = models.ForeignKey(
        "bookings.Booking", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    to_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    activity_ids = models.JSONField(default=list, blank=True)
    lines = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.WAITING
    )
    send_after = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # A send in progress (status "sending"): when a worker took it, and when it began handing
    # it to the mail server. A worker that dies before the hand-over leaves an e-mail that is
    # safely sent again; one that dies during it leaves one that may have gone out, which is
    # never sent twice: it is marked failed for an Admin to check (delivery.py).
    claimed_at = models.DateTimeField(null=True, blank=True)
    handed_over_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Serves the digest lookup: the waiting customer update of a job to add to.
            models.Index(fields=["job", "kind", "status"], name="email_digest_idx"),
            # Serves the sweep of due e-mails (send_due_emails) and the admins' delivery page.
            models.Index(fields=["status", "send_after"], name="email_due_idx"),
            models.Index(fields=["workspace", "-created_at"], name="email_ws_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to_address or '?'} ({self.status})"

    @property
    def about(self) -> str:
        """What the e-mail is about, as people name it: J-1001 or Q-1001."""
        if self.job_id:
            return self.job.reference
        return self.quote.reference if self.quote_id else ""

    @property
    def can_be_sent_again(self) -> bool:
        """What an Admin may send again: failed, retrying, or held after a restore."""
        return self.status in SENDABLE_AGAIN
