"""The business (workspace), who works in it (memberships, invitations) and its audit log."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobline.core.models import ChoiceLabels
from jobline.workspaces.choices import currency_choices, locale_choices, time_zone_choices


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    STAFF = "staff", "Staff"


class Module(models.TextChoices):
    """Sections a workspace switches on and off; each maps to a boolean on Workspace."""

    JOBS = "jobs", "Jobs"
    BOOKINGS = "bookings", "Bookings"
    QUOTES = "quotes", "Quotes"


class Workspace(models.Model):
    name = models.CharField(max_length=120)
    time_zone = models.CharField(max_length=64, default="Europe/London")
    currency = models.CharField(max_length=3, default="GBP")
    locale = models.CharField(max_length=16, default="en-GB")
    module_jobs = models.BooleanField("Jobs", default=True)
    module_bookings = models.BooleanField("Bookings", default=False)
    module_quotes = models.BooleanField("Quotes", default=False)
    portal_enabled = models.BooleanField("Customer portal", default=False)
    portal_jobs = models.BooleanField("Jobs in the portal", default=True)
    booking_reminder_hours = models.PositiveSmallIntegerField(
        "Visit reminder (hours before)",
        default=24,
        help_text="0 sends no reminders.",
    )
    prices_include_tax = models.BooleanField("Quote prices include tax", default=False)
    tax_rounding = models.CharField(
        "Tax rounding",
        max_length=10,
        choices=[("per_rate", "Once per tax rate"), ("per_line", "On every line")],
        default="per_rate",
    )
    quote_valid_days = models.PositiveSmallIntegerField("Quotes valid for (days)", default=30)
    quotes_auto_convert = models.BooleanField(
        "Accepted quotes become jobs by themselves", default=False
    )
    # Invoices (the billing app's): what makes them tax invoices, how long customers have to
    # pay, when they are reminded and how.
    tax_number = models.CharField("Tax number", max_length=40, blank=True)
    payment_instructions = models.TextField("How to pay", max_length=1000, blank=True)
    invoice_terms_days = models.PositiveSmallIntegerField("Invoices due after (days)", default=14)
    invoice_reminder_days = models.CharField(
        "Remind after (days overdue)", max_length=40, default="3, 10", blank=True
    )
    buyer_identity_threshold = models.DecimalField(
        "Name the buyer from", max_digits=14, decimal_places=2, default=Decimal(1000)
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name

    @property
    def reminder_days(self) -> list[int]:
        """The days overdue an unpaid invoice is reminded on ("3, 10" → [3, 10])."""
        return sorted({int(day) for day in re.findall(r"\d+", self.invoice_reminder_days)})

    def clean(self) -> None:
        errors = {}
        if self.time_zone not in dict(time_zone_choices()):
            errors["time_zone"] = "Choose a time zone from the list."
        if self.currency not in dict(currency_choices()):
            errors["currency"] = "Choose a currency from the list."
        if self.locale not in dict(locale_choices()):
            errors["locale"] = "Choose a locale from the list."
        if self.booking_reminder_hours is not None and self.booking_reminder_hours > 24 * 14:
            errors["booking_reminder_hours"] = "Remind at most two weeks (336 hours) before."
        reminders = (self.invoice_reminder_days or "").replace(",", " ").split()
        if any(not day.isdigit() or not 1 <= int(day) <= 365 for day in reminders):
            errors["invoice_reminder_days"] = (
                "Give days overdue between 1 and 365, separated by commas: 3, 10."
            )
        if self.invoice_terms_days is not None and not 0 <= self.invoice_terms_days <= 365:
            errors["invoice_terms_days"] = "Give between 0 and 365 days."
        if self.buyer_identity_threshold is not None and self.buyer_identity_threshold < 0:
            errors["buyer_identity_threshold"] = "The amount can't be negative."
        if errors:
            raise ValidationError(errors)

    def module_enabled(self, module: Module | str) -> bool:
        return bool(getattr(self, f"module_{Module(module).value}"))

    @property
    def portal_shows_jobs(self) -> bool:
        """portal_shows_jobs_q for a workspace already in hand."""
        return self.module_jobs and self.portal_enabled and self.portal_jobs


def portal_shows_jobs_q(prefix: str = "") -> Q:
    """The workspace shows jobs in its portal: Jobs module on, portal on, its Jobs toggle on."""
    return Q(
        **{
            f"{prefix}module_jobs": True,
            f"{prefix}portal_enabled": True,
            f"{prefix}portal_jobs": True,
        }
    )


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self) -> MembershipQuerySet:
        return self.filter(removed_at__isnull=True)


class Membership(ChoiceLabels, models.Model):
    """A person working in a workspace. Removing a member keeps the row (history points at it)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_person"),
        ]
        indexes = [
            # Serves the member list and the "at least one Admin" count of a workspace.
            models.Index(fields=["workspace", "role"], name="membership_ws_role_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.get_role_display()})"

    @property
    def is_active(self) -> bool:
        return self.removed_at is None

    @property
    def can_manage_settings(self) -> bool:
        return self.role == Role.ADMIN


def default_invitation_expiry() -> datetime:
    return timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS)


class Invitation(ChoiceLabels, models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAFF)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=default_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Serves the pending-invitations list on the members page.
            models.Index(
                fields=["workspace", "created_at"],
                name="invitation_pending_idx",
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email} to {self.workspace}"

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and not self.is_expired


AUDIT_ACTION_LABELS = {
    "workspace.created": "Workspace created",
    "settings.general": "General settings",
    "settings.modules": "Modules",
    "settings.portal": "Customer portal",
    "member.invited": "Member invited",
    "member.invitation_revoked": "Invitation withdrawn",
    "member.joined": "Member joined",
    "member.role_changed": "Role changed",
    "member.removed": "Member removed",
    "portal.previewed": "Viewed a job as the customer",
    "pipeline.created": "Pipeline created",
    "pipeline.changed": "Pipeline changed",
    "pipeline.archived": "Pipeline archived",
    "pipeline.restored": "Pipeline restored",
    "stage.created": "Stage added",
    "stage.changed": "Stage changed",
    "stage.moved": "Stage moved",
    "stage.deleted": "Stage deleted",
    "field.created": "Form field added",
    "field.changed": "Form field changed",
    "field.moved": "Form field moved",
    "field.retired": "Form field removed",
    "customer.created": "Customer added",
    "customer.changed": "Customer changed",
    "customer.archived": "Customer archived",
    "customer.restored": "Customer restored",
    "customer.notifications": "Customer e-mails",
    "customer.portal_invited": "Invited to the portal",
    "quote.tax_rate_added": "Tax rate added",
    "quote.tax_rate_archived": "Tax rate removed",
    "booking.feed_regenerated": "Calendar feed link renewed",
    "booking.feed_revoked": "Calendar feed link switched off",
    "email.sent_again": "E-mail sent again",
    "email.released": "Held e-mails released after a restore",
}

# What the audit log calls the settings of pipelines, stages, form fields and customers.
AUDIT_FIELD_LABELS = {
    "name": "Name",
    "description": "Description",
    "customers_can_reply": "Customers can reply",
    "customers_can_upload": "Customers can upload",
    "colour": "Colour",
    "is_terminal": "Finishes the job",
    "is_cancelled": "Counts as lost",
    "visible_to_customer": "Visible to customer",
    "customer_label": "Name the customer sees",
    "label": "Label",
    "help_text": "Help text",
    "field_type": "Type",
    "options": "Choices",
    "required": "Required",
    "editable_by_customer": "Customer can fill it in",
    "condition_field": "Show only when",
    "condition_value": "Condition value",
    "email": "E-mail address",
    "phone": "Phone",
    "address": "Address",
    "notes": "Internal notes",
    "notify_on_replies": "Notify on replies",
}


class AuditLogEntry(models.Model):
    """Who changed which workspace setting, when, from what to what. Append-only."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="audit_log")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=64)
    # What was changed, in words ("Device repair → Fix"), for actions on a workspace's
    # things; the setting or the member's e-mail is in ``field``.
    target = models.CharField(max_length=255, blank=True)
    field = models.CharField(max_length=64, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Serves the audit log page: newest entries of one workspace first.
            models.Index(fields=["workspace", "-created_at", "-id"], name="audit_ws_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.field}: {self.old_value} → {self.new_value}"

    @property
    def summary(self) -> str:
        return AUDIT_ACTION_LABELS.get(self.action, self.action)

    @property
    def subject(self) -> str:
        """What changed, as people read it: the setting's name as the settings page shows it,
        the member's e-mail, or the thing changed and which of its settings."""
        if self.action.startswith("settings.") and self.field:
            try:
                label = Workspace._meta.get_field(self.field).verbose_name
            except models.FieldDoesNotExist:
                return self.field
            return str(label)[:1].upper() + str(label)[1:]
        if self.target:
            setting = AUDIT_FIELD_LABELS.get(self.field, self.field)
            return f"{self.target} · {setting}" if setting else self.target
        return self.field
