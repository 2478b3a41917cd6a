"""The enumerations of the jobs app, apart from the models so the typed feed payloads
(activity.py) can name them without importing the models."""

from __future__ import annotations

from django.db import models


class Visibility(models.TextChoices):
    INTERNAL = "internal", "Internal"
    CUSTOMER = "customer", "Visible"


class ActorKind(models.TextChoices):
    STAFF = "staff", "Staff"
    CUSTOMER = "customer", "Customer"
    SYSTEM = "system", "System"


class ActivityKind(models.TextChoices):
    CREATED = "created", "Created"
    STATUS_CHANGED = "status_changed", "Status changed"
    OWNER_CHANGED = "owner_changed", "Owner changed"
    DUE_DATE_CHANGED = "due_date_changed", "Due date changed"
    TITLE_CHANGED = "title_changed", "Title changed"
    CUSTOMER_CHANGED = "customer_changed", "Customer changed"
    NOTE = "note", "Internal note"
    REPLY = "reply", "Reply to customer"
    REPLY_VISIBILITY_CHANGED = "reply_visibility_changed", "Reply visibility changed"
    FILE_ADDED = "file_added", "File added"
    FILE_VISIBILITY_CHANGED = "file_visibility_changed", "File visibility changed"
    FORM_SAVED = "form_saved", "Form saved"
    ARCHIVED = "archived", "Archived"
    RESTORED = "restored", "Restored"
    COPIED = "copied", "Copied"
    REQUEST_CREATED = "request_created", "Document requested"
    REQUEST_FULFILLED = "request_fulfilled", "Document received"
    REQUEST_REOPENED = "request_reopened", "Document request reopened"
    VISIT_BOOKED = "visit_booked", "Visit booked"
    VISIT_MOVED = "visit_moved", "Visit moved"
    VISIT_CANCELLED = "visit_cancelled", "Visit cancelled"
    VISIT_COMPLETED = "visit_completed", "Visit completed"
    VISIT_NO_SHOW = "visit_no_show", "Visit: no-show"
    VISIT_DETACHED = "visit_detached", "Visit detached"
    QUOTE_CONVERTED = "quote_converted", "Converted from a quote"
    SCHEDULE_CHANGED = "schedule_changed", "Payment schedule changed"
    INSTALMENT_REQUESTED = "instalment_requested", "Instalment requested"
    INSTALMENT_VOIDED = "instalment_voided", "Instalment voided"
    PAYMENT_RECORDED = "payment_recorded", "Payment recorded"
    PAYMENT_REFUNDED = "payment_refunded", "Payment refunded"
    APPROVAL_REQUESTED = "approval_requested", "Approval asked for"
    APPROVAL_REOPENED = "approval_reopened", "Approval asked for again"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVAL_OVERRIDDEN = "approval_overridden", "Approval overridden"
    FOLLOW_UP_DUE = "follow_up_due", "Follow-up due"
    FOLLOW_UP_INVITED = "follow_up_invited", "Asked to book a follow-up"


# The feed's type filter groups kinds the way people think of them.
FEED_TYPE_GROUPS: dict[str, tuple[str, ...]] = {
    "status": (ActivityKind.STATUS_CHANGED, ActivityKind.CREATED, ActivityKind.ARCHIVED,
               ActivityKind.RESTORED, ActivityKind.COPIED, ActivityKind.QUOTE_CONVERTED),
    "notes": (ActivityKind.NOTE,),
    "replies": (ActivityKind.REPLY, ActivityKind.REPLY_VISIBILITY_CHANGED),
    "files": (ActivityKind.FILE_ADDED, ActivityKind.FILE_VISIBILITY_CHANGED),
    "forms": (ActivityKind.FORM_SAVED,),
    "requests": (ActivityKind.REQUEST_CREATED, ActivityKind.REQUEST_FULFILLED,
                 ActivityKind.REQUEST_REOPENED),
    "visits": (ActivityKind.VISIT_BOOKED, ActivityKind.VISIT_MOVED, ActivityKind.VISIT_CANCELLED,
               ActivityKind.VISIT_COMPLETED, ActivityKind.VISIT_NO_SHOW,
               ActivityKind.VISIT_DETACHED),
    "money": (ActivityKind.SCHEDULE_CHANGED, ActivityKind.INSTALMENT_REQUESTED,
              ActivityKind.INSTALMENT_VOIDED, ActivityKind.PAYMENT_RECORDED,
              ActivityKind.PAYMENT_REFUNDED),
    "approvals": (ActivityKind.APPROVAL_REQUESTED, ActivityKind.APPROVAL_REOPENED,
                  ActivityKind.APPROVED, ActivityKind.CHANGES_REQUESTED,
                  ActivityKind.APPROVAL_OVERRIDDEN),
    "details": (ActivityKind.OWNER_CHANGED, ActivityKind.DUE_DATE_CHANGED,
                ActivityKind.TITLE_CHANGED, ActivityKind.CUSTOMER_CHANGED),
}  # fmt: skip

# The kinds of entry a customer can ever be shown; every other kind is staff-only whatever the
# entry's visibility says (owner and customer changes, notes, archiving, copies).
CUSTOMER_KINDS: frozenset[str] = frozenset(
    {
        ActivityKind.CREATED,
        ActivityKind.STATUS_CHANGED,
        ActivityKind.TITLE_CHANGED,
        ActivityKind.DUE_DATE_CHANGED,
        ActivityKind.REPLY,
        ActivityKind.FILE_ADDED,
        ActivityKind.FILE_VISIBILITY_CHANGED,
        ActivityKind.FORM_SAVED,
        ActivityKind.REQUEST_CREATED,
        ActivityKind.REQUEST_FULFILLED,
        ActivityKind.REQUEST_REOPENED,
        # A visit's time, title and place (never its internal notes); no-shows and
        # detaching stay internal.
        ActivityKind.VISIT_BOOKED,
        ActivityKind.VISIT_MOVED,
        ActivityKind.VISIT_CANCELLED,
        ActivityKind.VISIT_COMPLETED,
        # What the customer is asked to approve and what they answered (an override stays
        # internal).
        ActivityKind.APPROVAL_REQUESTED,
        ActivityKind.APPROVAL_REOPENED,
        ActivityKind.APPROVED,
        ActivityKind.CHANGES_REQUESTED,
        # The money asked of them and received from them, by name and invoice (the entries
        # carry no amounts; the invoice page shows them).
        ActivityKind.INSTALMENT_REQUESTED,
        ActivityKind.INSTALMENT_VOIDED,
        ActivityKind.PAYMENT_RECORDED,
        ActivityKind.PAYMENT_REFUNDED,
        # "Time to book your review", when the stage says to tell them.
        ActivityKind.FOLLOW_UP_INVITED,
    }
)

# Entries that enter a stage: they carry it in Activity.stage as well as in their payload.
STAGE_ENTRY_KINDS: tuple[str, ...] = (ActivityKind.CREATED, ActivityKind.STATUS_CHANGED)
