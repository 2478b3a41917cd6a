"""Every read the money pages need, through each model's ``visible_to(viewer)`` (members whose
role sees money), with a fixed number of queries whatever the schedule's length."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.http import Http404

from jobline.billing.models import (
    FROZEN_STATUSES,
    OWING,
    Instalment,
    InstalmentStatus,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentKind,
    PipelineInstalment,
    sees_schedules,
)
from jobline.core import wall_time
from jobline.core.prepared import PreparedQuery
from jobline.jobs.hooks import JobPageSection
from jobline.jobs.models import Job
from jobline.pipelines.models import Pipeline
from jobline.workspaces.viewers import Viewer

ZERO = Decimal(0)


@dataclass
class Schedule:
    """A job's money as a money role reads it."""

    job: Job
    currency: str
    instalments: list[Instalment]
    value: Decimal | None
    requested: Decimal = ZERO  # on invoices not void
    paid: Decimal = ZERO
    scheduled: Decimal = ZERO  # every instalment not void, requested or not
    next: Instalment | None = None  # the first one still to be paid
    refundable: dict[int, Decimal] = field(default_factory=dict)  # payment id → left

    @property
    def outstanding(self) -> Decimal:
        """Requested and not yet paid."""
        return self.requested - self.paid

    @property
    def shortfall(self) -> Decimal:
        """How far the schedule is from the value (not zero: it needs putting right)."""
        return (self.value or ZERO) - self.scheduled if self.instalments else ZERO


def schedule_of(job: Job, viewer: Viewer | None) -> Schedule | None:
    """The job's value, instalments (each with ``invoices`` newest first and ``payments`` in
    order) and totals; None for a viewer who does not see money. Three queries."""
    if viewer is None or not sees_schedules(viewer) or job.workspace_id != viewer.workspace_id:
        return None
    instalments = list(
        Instalment.objects.visible_to(viewer)
        .filter(job_id=job.pk)
        .select_related("trigger_stage")
        .order_by("position", "pk")
    )
    ids = [i.pk for i in instalments]
    invoices: dict[int, list[Invoice]] = {}
    payments: dict[int, list[Payment]] = {}
    if ids:
        for invoice in (
            Invoice.objects.visible_to(viewer)
            .filter(instalment_id__in=ids)
            .order_by("-issued_at", "-pk")
        ):
            invoices.setdefault(invoice.instalment_id, []).append(invoice)
        for payment in (
            Payment.objects.visible_to(viewer)
            .filter(instalment_id__in=ids)
            .select_related("invoice", "recorded_by")
            .order_by("created_at", "pk")
        ):
            payments.setdefault(payment.instalment_id, []).append(payment)
    schedule = Schedule(
        job=job, currency=job.workspace.currency, instalments=instalments, value=job.value
    )
    for instalment in instalments:
        instalment.all_invoices = invoices.get(instalment.pk, [])  # type: ignore[attr-defined]
        instalment.all_payments = payments.get(instalment.pk, [])  # type: ignore[attr-defined]
    _totalled(schedule)
    for rows in payments.values():
        for payment in rows:
            if payment.kind == PaymentKind.PAYMENT:
                schedule.refundable[payment.pk] = payment.amount
        for payment in rows:
            if payment.kind == PaymentKind.REFUND and payment.refund_of_id in schedule.refundable:
                schedule.refundable[payment.refund_of_id] -= payment.amount
    return schedule


def _totalled(schedule: Schedule) -> Schedule:
    """The schedule's totals and next instalment, from its instalments."""
    for instalment in schedule.instalments:
        if instalment.status == InstalmentStatus.VOID:
            continue
        schedule.scheduled += instalment.amount
        if instalment.status in FROZEN_STATUSES:
            schedule.requested += instalment.amount
        schedule.paid += instalment.paid
        if schedule.next is None and instalment.status != InstalmentStatus.PAID:
            schedule.next = instalment
    return schedule


def _job_page_instalments(viewer: Viewer | None, job_id: int) -> QuerySet[Instalment]:
    current = Invoice.objects.filter(
        instalment_id=OuterRef("pk"), status=InvoiceStatus.ISSUED
    ).order_by("-issued_at", "-pk")
    return (
        Instalment.objects.visible_to(viewer)
        .filter(job_id=job_id)
        .select_related("trigger_stage")
        .annotate(
            invoice_number=Subquery(current.values("number")[:1]),
            invoice_due_on=Subquery(current.values("due_on")[:1]),
        )
        .order_by("position", "pk")
    )


# Compiled once per shape of the viewer (core/prepared.py): building its SQL (two subqueries
# and a join) took longer than SQLite took to answer it, on every job page.
_JOB_PAGE_INSTALMENTS = PreparedQuery(_job_page_instalments, name="job page instalments")


def job_page_payments(job: Job, viewer: Viewer | None) -> JobPageSection | None:
    """The job page's Payments section (jobs.hooks), for the roles that see money only: the
    totals and the next instalment with its invoice, in one query (the invoice's number and
    due date ride along as subqueries)."""
    if viewer is None or not sees_schedules(viewer) or job.workspace_id != viewer.workspace_id:
        return None
    instalments = _JOB_PAGE_INSTALMENTS.list(viewer=viewer, job_id=job.pk)
    schedule = _totalled(
        Schedule(job=job, currency=job.workspace.currency, instalments=instalments,
                 value=job.value)
    )  # fmt: skip
    return JobPageSection(template="billing/_job_payments.html", context={"schedule": schedule})


def get_instalment(*, viewer: Viewer | None, pk: int) -> Instalment:
    instalment = (
        Instalment.objects.visible_to(viewer)
        .select_related("job", "workspace")
        .filter(pk=pk)
        .first()
    )
    if instalment is None:
        raise Http404("No such instalment.")
    return instalment


def get_payment(*, viewer: Viewer | None, pk: int) -> Payment:
    payment = (
        Payment.objects.visible_to(viewer)
        .select_related("instalment__job", "invoice")
        .filter(pk=pk, kind=PaymentKind.PAYMENT)
        .first()
    )
    if payment is None:
        raise Http404("No such payment.")
    return payment


def pipeline_schedule(*, pipeline: Pipeline, viewer: Viewer | None) -> list[PipelineInstalment]:
    """A pipeline's default schedule, in order."""
    return list(
        PipelineInstalment.objects.visible_to(viewer)
        .filter(pipeline=pipeline)
        .order_by("position", "pk")
    )


def get_invoice(*, viewer: Viewer | None, pk: int) -> Invoice:
    """An invoice the viewer may see (Invoice.visible_to), with its job and workspace."""
    invoice = (
        Invoice.objects.visible_to(viewer)
        .select_related("job", "workspace", "instalment")
        .filter(pk=pk)
        .first()
    )
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice


def portal_invoice(*, user: object, pk: int) -> Invoice:
    invoice = (
        Invoice.objects.in_portal_of(user)
        .select_related("job", "workspace", "instalment")
        .filter(pk=pk)
        .first()
    )
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice


def open_invoices_of_job(job: Job, viewer: Viewer | None) -> list[Invoice]:
    """The job's invoices still to pay that the viewer may see (the portal's payment
    requests), oldest first."""
    return list(
        Invoice.objects.visible_to(viewer)
        .filter(job_id=job.pk, status=InvoiceStatus.ISSUED, owed__gt=0)
        .select_related("instalment")
        .order_by("issued_at", "pk")
    )


@dataclass(frozen=True)
class MonthMoney:
    """The dashboard's money for the roles that see it: this month's requests and receipts,
    and what is overdue now."""

    requested: Decimal
    requested_count: int
    received: Decimal
    overdue: Decimal
    overdue_count: int
    currency: str


def _sums(queryset: QuerySet[Any], **sums: Any) -> QuerySet[Any]:
    """The aggregates as a query of their own (one row, or none when nothing matches): the
    rows are one workspace's, grouped by it, so PreparedQuery can hold it."""
    return queryset.order_by().values("workspace_id").annotate(**sums)


def _issued(viewer: Viewer | None) -> QuerySet[Invoice]:
    return Invoice.objects.visible_to(viewer).filter(status=InvoiceStatus.ISSUED)


# The dashboard's three sums, compiled once per shape of the viewer (core/prepared.py):
# compiling them anew took longer than SQLite summed them. Each reads one index alone
# (models.py); COUNT(*), not COUNT(id): PostgreSQL's indexes do not hold the id.
_REQUESTED = PreparedQuery(
    lambda viewer, since: _sums(
        _issued(viewer).filter(issued_at__gte=since), total=Sum("amount"), count=Count("*")
    ),
    name="money requested",
)
_RECEIVED = PreparedQuery(
    lambda viewer, first, today: _sums(
        Payment.objects.visible_to(viewer).filter(paid_on__gte=first, paid_on__lte=today),
        paid=Sum("amount", filter=Q(kind=PaymentKind.PAYMENT)),
        refunded=Sum("amount", filter=Q(kind=PaymentKind.REFUND)),
    ),
    name="money received",
)
_OVERDUE = PreparedQuery(
    # OWING, not owed__gt=0: it lets SQLite sum from the partial index of owing invoices.
    lambda viewer, today: _sums(
        _issued(viewer).filter(OWING, due_on__lt=today), total=Sum("owed"), count=Count("*")
    ),
    name="money overdue",
)


def money_this_month(
    *, viewer: Viewer | None, today: dt.date, currency: str, time_zone: str
) -> MonthMoney | None:
    """None for a viewer who does not see money. Three queries."""
    if viewer is None or not sees_schedules(viewer):
        return None
    first = today.replace(day=1)
    # The month's first instant in the workspace's time zone (the caller's ``today`` is
    # its local date), so the index on issued_at serves the range.
    since = wall_time.instant_on(first, dt.time(0), time_zone)
    nothing: dict[str, Any] = {"total": None, "count": 0, "paid": None, "refunded": None}
    requested = next(iter(_REQUESTED.list(viewer=viewer, since=since)), nothing)
    received = next(iter(_RECEIVED.list(viewer=viewer, first=first, today=today)), nothing)
    overdue = next(iter(_OVERDUE.list(viewer=viewer, today=today)), nothing)
    return MonthMoney(
        requested=requested["total"] or ZERO,
        requested_count=requested["count"],
        received=(received["paid"] or ZERO) - (received["refunded"] or ZERO),
        overdue=overdue["total"] or ZERO,
        overdue_count=overdue["count"],
        currency=currency,
    )
