"""Staged money on a job: its payment schedule (instalments), the invoice each request issues,
and the payments recorded against them.

A job's value lives on the job (``Job.value``: from its converted quote, or entered); its
instalments always add up to it exactly (schedule.py, the one place the arithmetic is written).
Amounts are ``Decimal`` with a fixed scale, in the workspace's currency. Who may see any of
it is decided here, by each model's ``visible_to(viewer)``: members whose role sees money
(``sees_money``); nobody else yet (the customer's view of their invoices comes with the
portal's payment requests).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.utils import timezone

from jobline.core.models import ChoiceLabels
from jobline.jobs.models import Job
from jobline.pipelines.models import Stage
from jobline.workspaces.models import Workspace
from jobline.workspaces.viewers import Viewer, sees_money

MONEY = {"max_digits": 14, "decimal_places": 2}
LABEL_MAX = 60


class AmountKind(models.TextChoices):
    PERCENT = "percent", "Percent of the value"
    FIXED = "fixed", "Fixed amount"
    BALANCE = "balance", "Balance (the rest)"


class Trigger(models.TextChoices):
    MANUAL = "manual", "By hand"
    DATE = "date", "On a date"
    QUOTE_ACCEPTED = "quote_accepted", "On quote acceptance"
    STAGE = "stage", "On entering a stage"
    WON = "won", "When the job is won"


class InstalmentStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    REQUESTED = "requested", "Requested"
    PART_PAID = "part_paid", "Part-paid"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


# Requested and after: the amount is on an invoice and no longer moves with the value.
FROZEN_STATUSES = (InstalmentStatus.REQUESTED, InstalmentStatus.PART_PAID, InstalmentStatus.PAID)


def sees_schedules(viewer: Viewer | None) -> bool:
    """Whether the viewer may read a workspace's schedules, invoices and payments (its own
    workspace's, by workspace_id): a member whose role sees money. Staff, customers, a
    member's preview of a customer, no viewer: no. Fails closed."""
    return viewer is not None and not viewer.sees_as_customer and sees_money(viewer)


def _visible(queryset: models.QuerySet, viewer: Viewer | None) -> models.QuerySet:
    """The money rule for every billing table (sees_schedules), scoped to the viewer's
    workspace."""
    if viewer is None or not sees_schedules(viewer):
        return queryset.none()
    return queryset.filter(workspace_id=viewer.workspace_id)


class InstalmentQuerySet(models.QuerySet["Instalment"]):
    def visible_to(self, viewer: Viewer | None) -> InstalmentQuerySet:
        return _visible(self, viewer)


class Instalment(ChoiceLabels, models.Model):
    """One part of a job's payment schedule: Deposit, Milestone 1, Balance…"""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="instalments")
    position = models.PositiveIntegerField()
    label = models.CharField(max_length=LABEL_MAX)
    amount_kind = models.CharField(max_length=8, choices=AmountKind.choices)
    # For PERCENT: the share of the value; the amount is worked out from it (schedule.py).
    percent = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    # What it comes to: typed for FIXED, worked out for PERCENT and BALANCE, frozen once
    # requested.
    amount = models.DecimalField(default=Decimal(0), **MONEY)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    trigger_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger_on = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=InstalmentStatus.choices, default=InstalmentStatus.SCHEDULED
    )
    # When its trigger fired (stage entered, date reached…): a trigger fires once, so
    # re-entering the stage requests nothing again; staff may still request it by hand.
    triggered_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    paid = models.DecimalField(default=Decimal(0), **MONEY)
    void_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = InstalmentQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="instalment_amount_gte_0"),
            models.CheckConstraint(
                condition=Q(paid__gte=0) & Q(paid__lte=F("amount")),
                name="instalment_paid_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(percent__isnull=True) | (Q(percent__gte=0) & Q(percent__lte=100)),
                name="instalment_percent_0_100",
            ),
        ]
        indexes = [
            # Serves the job page's schedule and the stage-entry trigger: a job's instalments.
            models.Index(fields=["job", "position"], name="instalment_job_idx"),
            # Serves the periodic date trigger: scheduled instalments due by date.
            models.Index(
                fields=["trigger_on"],
                name="instalment_date_due_idx",
                condition=Q(trigger="date", status="scheduled", triggered_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} of job {self.job_id}"

    @property
    def owed(self) -> Decimal:
        """What is still to come in: nothing for a scheduled or void instalment."""
        if self.status in FROZEN_STATUSES:
            return self.amount - self.paid
        return Decimal(0)

    @property
    def is_frozen(self) -> bool:
        return self.status in FROZEN_STATUSES

    @property
    def percent_words(self) -> str:
        """30 %, 33.3333 % (no trailing zeros, never 3E+1)."""
        return f"{self.percent.normalize():f} %" if self.percent is not None else ""

    @property
    def trigger_words(self) -> str:
        """When it is asked for, as the schedule reads it."""
        if self.trigger == Trigger.STAGE:
            name = self.trigger_stage.name if self.trigger_stage else "a removed stage"
            return f"On entering {name}"
        if self.trigger == Trigger.DATE and self.trigger_on:
            return f"On {self.trigger_on.day} {self.trigger_on:%b %Y}"
        return self.get_trigger_display()


class InvoiceSequence(models.Model):
    """The next invoice number of a workspace. Locked while an invoice is issued: numbers are
    gapless (a rolled-back issue gives its number back) and never repeat."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, primary_key=True, related_name="invoice_sequence"
    )
    next_number = models.PositiveIntegerField(default=1001)

    def __str__(self) -> str:
        return f"{self.workspace}: next INV-{self.next_number}"


# An invoice with money still to come in; filter with this (not ``owed__gt=0``) to use the
# partial index invoice_owed_due_idx. SQLite uses a partial index only when a query's bound
# value equals the index's literal, and Django binds a Decimal as text there ('0' is not 0):
# an integer on the right binds as one.
OWING = Q(owed__gt=Value(0))


class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    VOID = "void", "Void"


class InvoiceQuerySet(models.QuerySet["Invoice"]):
    def visible_to(self, viewer: Viewer | None) -> InvoiceQuerySet:
        """Members whose role sees money: their workspace's invoices. A customer (and a
        member's preview of one, when the member's role sees money): the invoices of that
        customer profile's own jobs that are not archived. Anyone else: none."""
        if viewer is None or not sees_money(viewer):
            return self.none()
        if not viewer.sees_as_customer:
            return _visible(self, viewer)
        return self.filter(
            workspace_id=viewer.workspace_id,
            job__customer_id=viewer.customer_id,
            job__archived_at__isnull=True,
        )

    def in_portal_of(self, user: object) -> InvoiceQuerySet:
        """The invoices a signed-in person sees in the portal: those of the jobs the portal
        shows them (Job.objects.in_portal_of)."""
        return self.filter(job__in=Job.objects.in_portal_of(user))


class Invoice(ChoiceLabels, models.Model):
    """The request for one instalment's money. Voiding keeps the number (it is a credit, not
    a deletion); requesting the instalment again issues a new invoice."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="+")
    instalment = models.ForeignKey(Instalment, on_delete=models.PROTECT, related_name="invoices")
    amount = models.DecimalField(**MONEY)  # what is asked, tax included
    currency = models.CharField(max_length=3)
    # The tax in it, per rate, as worked out when issued (services._tax_of):
    # [{"name": "VAT", "percent": "20", "tax": "600.00"}]; empty: no tax.
    tax_lines = models.JSONField(default=list, blank=True)
    tax = models.DecimalField(default=Decimal(0), **MONEY)
    # What the document says, as it was when issued: the line, the business's tax number,
    # and the buyer (named only from the workspace's threshold on).
    description = models.CharField(max_length=300, blank=True)
    seller_tax_number = models.CharField(max_length=40, blank=True)
    buyer_name = models.CharField(max_length=150, blank=True)
    buyer_address = models.TextField(blank=True)
    issued_at = models.DateTimeField()
    due_on = models.DateField()
    # How many of the workspace's overdue reminders have gone (notifications' periodic job
    # claims the next one by raising it).
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    # What is still to pay on it (its payments less their refunds taken off; 0 once void),
    # kept by the payment services: the dashboard sums the overdue ones from an index alone.
    owed = models.DecimalField(default=Decimal(0), **MONEY)
    status = models.CharField(
        max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=300, blank=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "number"], name="invoice_number_unique"),
        ]
        indexes = [
            # Serves the job page: an instalment's invoices, newest first.
            models.Index(fields=["instalment", "-issued_at"], name="invoice_instalment_idx"),
            # Serve the dashboard's money from the index alone: SQLite reads the table for any
            # column a query names that the index lacks (status, the summed amount), which
            # cost ~9 ms for this month's 3,400 invoices and ~30 ms for the 13,000 overdue
            # ones in bench/ (100k jobs); from these, ~0.5 and ~2 ms.
            models.Index(
                fields=["workspace", "status", "issued_at", "amount"], name="invoice_issued_idx"
            ),
            # Only the invoices still owing (a fully paid or void one owes 0): the overdue sum
            # and the reminders read these, ordered by due date.
            models.Index(
                fields=["workspace", "status", "due_on", "owed"],
                name="invoice_owed_due_idx",
                condition=OWING,
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"INV-{self.number}"

    @property
    def is_void(self) -> bool:
        return self.status == InvoiceStatus.VOID

    @property
    def paid(self) -> Decimal:
        """What has come in against it (nothing stays paid on a void one: refunded first)."""
        return Decimal(0) if self.is_void else self.amount - self.owed

    @property
    def before_tax(self) -> Decimal:
        return self.amount - self.tax

    @property
    def tax_rows(self) -> list[tuple[str, str, Decimal]]:
        """The tax lines as (name, percent, tax)."""
        return [
            (str(line.get("name", "")), str(line.get("percent", "")), Decimal(line.get("tax", 0)))
            for line in self.tax_lines
        ]

    @property
    def is_tax_invoice(self) -> bool:
        """With the business's tax number on it, it is a tax invoice (and says so)."""
        return bool(self.seller_tax_number)


class PaymentKind(models.TextChoices):
    PAYMENT = "payment", "Payment"
    REFUND = "refund", "Refund"


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CARD = "card", "Card"
    CASH = "cash", "Cash"
    CHEQUE = "cheque", "Cheque"
    OTHER = "other", "Other"


class PaymentQuerySet(models.QuerySet["Payment"]):
    def visible_to(self, viewer: Viewer | None) -> PaymentQuerySet:
        return _visible(self, viewer)


class Payment(ChoiceLabels, models.Model):
    """Money in against an instalment (or, as a refund, back out). Append-only: a mistake is
    put right by a refund with its reason."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    instalment = models.ForeignKey(Instalment, on_delete=models.PROTECT, related_name="payments")
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    kind = models.CharField(max_length=8, choices=PaymentKind.choices, default=PaymentKind.PAYMENT)
    # A refund's payment: what it gives back.
    refund_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.DecimalField(**MONEY)  # always positive; the kind says which way
    paid_on = models.DateField()
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    reference = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=300, blank=True)  # a refund's
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_gt_0"),
        ]
        indexes = [
            # Serves the job page: an instalment's payments in order.
            models.Index(fields=["instalment", "created_at"], name="payment_instalment_idx"),
            # Serves the dashboard's money received this month from the index alone (without
            # it, a scan of every payment: ~9 ms at 34,000 in bench/).
            models.Index(
                fields=["workspace", "paid_on", "kind", "amount"], name="payment_paid_on_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} on {self.paid_on}"


class PipelineInstalmentQuerySet(models.QuerySet["PipelineInstalment"]):
    def visible_to(self, viewer: Viewer | None) -> PipelineInstalmentQuerySet:
        return _visible(self, viewer)


class PipelineInstalment(models.Model):
    """One instalment of a pipeline's default schedule, copied to each new job of it (its
    amounts worked out once the job has a value). No dates: each job's differ."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    pipeline = models.ForeignKey(
        "pipelines.Pipeline", on_delete=models.CASCADE, related_name="default_instalments"
    )
    position = models.PositiveIntegerField()
    label = models.CharField(max_length=LABEL_MAX)
    amount_kind = models.CharField(max_length=8, choices=AmountKind.choices)
    percent = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    amount = models.DecimalField(null=True, blank=True, **MONEY)  # FIXED's
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    trigger_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PipelineInstalmentQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        indexes = [
            # Serves copying the default schedule into a new job, and its editor.
            models.Index(fields=["pipeline", "position"], name="pipeline_instalment_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.label} of pipeline {self.pipeline_id}"
