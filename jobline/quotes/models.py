"""Quotes: numbered per workspace when first sent, lines with tax and optional lines, revisions
the customer can see, a public page with an unguessable link, acceptance that records who,
when, from where and a hash of exactly what they accepted, and conversion into a job and its
first visit.

Amounts are ``Decimal`` (never float), stored with a fixed scale; every total is computed by
totals.py, the one place the rounding rule is written. Who may see a quote is decided here by
``Quote.objects.visible_to(viewer)``: members of its workspace whose role sees money, and the
quote's customer once it has been sent; drafts never reach a customer.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobline.core.models import ChangeRecord, ChoiceLabels
from jobline.customers.models import Customer
from jobline.jobs.models import Job
from jobline.pipelines.models import Pipeline
from jobline.workspaces.models import Workspace
from jobline.workspaces.viewers import Viewer, sees_money

MONEY = {"max_digits": 14, "decimal_places": 2}
TITLE_MAX = 200
NOTES_MAX = 5000


class TaxRate(models.Model):
    """One of a workspace's tax rates (VAT 20 %, GST 10 %, QST 9.975 %, zero-rated)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tax_rates")
    name = models.CharField(max_length=60)
    percent = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(percent__gte=0, percent__lte=100), name="tax_rate_0_to_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.percent.normalize():f} %)"


class QuoteNumberSequence(models.Model):
    """The next quote number of a workspace. Locked when a quote is first sent: numbers are
    gapless, and a draft burns none."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, primary_key=True, related_name="quote_sequence"
    )
    next_number = models.PositiveIntegerField(default=1001)

    def __str__(self) -> str:
        return f"{self.workspace}: next Q-{self.next_number}"


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    VIEWED = "viewed", "Viewed"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    CONVERTED = "converted", "Converted"


# Waiting for the customer's decision: they may accept or decline.
OPEN_STATUSES = (QuoteStatus.SENT, QuoteStatus.VIEWED)
# What a customer may ever see (a draft never).
SENT_STATUSES = tuple(s for s in QuoteStatus.values if s != QuoteStatus.DRAFT)


class DepositKind(models.TextChoices):
    NONE = "none", "No deposit"
    PERCENT = "percent", "Percent of the total"
    FIXED = "fixed", "Fixed amount"


class QuoteQuerySet(models.QuerySet["Quote"]):
    def visible_to(self, viewer: Viewer | None) -> QuoteQuerySet:
        """Members whose role sees money: their workspace's quotes. Customers (and a member's
        preview of one): that customer profile's quotes once sent, in a workspace whose Quotes
        module is on. Anyone else (Staff, no viewer): nothing."""
        if viewer is None or not sees_money(viewer):
            return self.none()
        mine = self.filter(workspace_id=viewer.workspace_id)
        if not viewer.sees_as_customer:
            return mine
        return mine.filter(
            customer_id=viewer.customer_id,
            status__in=SENT_STATUSES,
            workspace__module_quotes=True,
        )

    def by_public_token(self, token_hash: str) -> QuoteQuerySet:
        """The holder of a quote's link (no sign-in) sees that one quote, once sent, while
        its workspace has Quotes on."""
        return self.filter(
            token_hash=token_hash, status__in=SENT_STATUSES, workspace__module_quotes=True
        )

    def in_portal_of(self, user: object) -> QuoteQuerySet:
        """The quotes a signed-in person sees under /user/quotes/: sent ones of every customer
        profile they sign in as, in workspaces with Quotes on and the portal on."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(
            customer__portal_user=user,
            customer__archived_at__isnull=True,
            status__in=SENT_STATUSES,
            workspace__module_quotes=True,
            workspace__portal_enabled=True,
        )


class Quote(ChoiceLabels, models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="quotes")
    number = models.PositiveIntegerField(null=True, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="quotes")
    title = models.CharField(max_length=TITLE_MAX)
    pipeline = models.ForeignKey(
        Pipeline, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_on = models.DateField(null=True, blank=True)
    customer_notes = models.TextField(blank=True, max_length=NOTES_MAX)
    internal_notes = models.TextField(blank=True, max_length=NOTES_MAX)
    deposit_kind = models.CharField(
        max_length=8, choices=DepositKind.choices, default=DepositKind.NONE
    )
    deposit_value = models.DecimalField(default=Decimal(0), **MONEY)
    # Prices as typed: tax-exclusive or tax-inclusive (the workspace's setting when created).
    prices_include_tax = models.BooleanField(default=False)
    # …and how its tax is rounded (totals.Rounding): a workspace that changes its setting
    # later does not change the quotes it has written.
    tax_rounding = models.CharField(max_length=10, default="per_rate")
    # …and in which currency (a workspace that changes its currency keeps its quotes' amounts).
    currency = models.CharField(max_length=3, default="GBP")
    status = models.CharField(max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT)
    # The revision the customer sees: 1 when first sent, one more for each edit after that.
    revision = models.PositiveIntegerField(default=0)
    # The public page's key is derived from this (tokens.py); only its hash is looked up.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    viewed_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(max_length=500, blank=True)
    # Acceptance: the typed name, the network address, what was accepted (hash of the
    # revision's content and the ticked optional lines) and the total then.
    accepted_name = models.CharField(max_length=150, blank=True)
    accepted_ip = models.GenericIPAddressField(null=True, blank=True)
    accepted_revision = models.PositiveIntegerField(null=True, blank=True)
    accepted_hash = models.CharField(max_length=64, blank=True)
    accepted_lines = models.JSONField(default=list, blank=True)  # ids of ticked optional lines
    accepted_total = models.DecimalField(null=True, blank=True, **MONEY)
    # The total without optional lines, written by the services from totals.py whenever the
    # lines change: the list, its sorting and the CSV read it without reading every line.
    total = models.DecimalField(default=Decimal(0), **MONEY)
    job = models.OneToOneField(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="quote"
    )
    converted_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = QuoteQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "number"],
                name="quote_number_unique",
                condition=Q(number__isnull=False),
            ),
        ]
        indexes = [
            # Serves the quote list: a workspace's quotes, newest first (and by status).
            models.Index(fields=["workspace", "-created_at", "-id"], name="quote_list_idx"),
            models.Index(
                fields=["workspace", "status", "-created_at", "-id"], name="quote_status_idx"
            ),
            # Serves the expiry job: open quotes by expiry date.
            models.Index(
                fields=["expires_on"],
                name="quote_open_expiry_idx",
                condition=Q(status__in=["sent", "viewed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"Q-{self.number}" if self.number else "Draft"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_editable(self) -> bool:
        return self.status in (QuoteStatus.DRAFT, *OPEN_STATUSES)

    def is_expired_on(self, day: object) -> bool:
        return self.expires_on is not None and self.expires_on < day  # type: ignore[operator]


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(1))
    unit_price = models.DecimalField(**MONEY)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal(0))
    tax_rate = models.ForeignKey(
        TaxRate, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The rate when the line was written: a rate edited later does not change this quote.
    tax_percent = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal(0))
    tax_name = models.CharField(max_length=60, blank=True)
    optional = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="quote_line_quantity_0"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="quote_line_price_0"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100),
                name="quote_line_discount_0_100",
            ),
            models.CheckConstraint(
                condition=Q(tax_percent__gte=0, tax_percent__lte=100), name="quote_line_tax_0_100"
            ),
        ]

    def __str__(self) -> str:
        return self.description


class QuoteRevision(models.Model):
    """What the customer was sent, each time: the lines, notes and totals as they were."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    content = models.JSONField()
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["quote", "number"], name="quote_revision_unique"),
        ]

    def __str__(self) -> str:
        return f"Revision {self.number} of quote {self.quote_id}"


class QuoteEventKind(models.TextChoices):
    CREATED = "created", "Wrote it"
    CHANGED = "changed", "Changed it"
    SENT = "sent", "Sent it"
    REVISED = "revised", "Sent a new revision"
    VIEWED = "viewed", "Opened it"
    ACCEPTED = "accepted", "Accepted it"
    DECLINED = "declined", "Declined it"
    EXPIRED = "expired", "Marked it expired"
    CONVERTED = "converted", "Converted it to a job"


class QuoteEvent(ChangeRecord):
    """A quote's own history. Append-only."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=QuoteEventKind.choices)
    # "customer" for what the customer did on the public page (actor then is empty).
    by_customer = models.BooleanField(default=False)

    class Meta:
        indexes = [
            # Serves the quote page's history.
            models.Index(fields=["quote", "-created_at", "-id"], name="quote_event_idx"),
        ]


class QuoteFollower(models.Model):
    """A member who asked to hear (bell and e-mail) when the customer accepts or declines a
    quote they do not own. Told only while the quote is theirs to see (Quote.visible_to)."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["quote", "user"], name="quotefollower_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} follows quote {self.quote_id}"
