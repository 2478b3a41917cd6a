"""The staged money of Bench Co (issue 12): a value and a payment schedule on every job, in
bulk, in a transaction of its own, after the jobs (bench/generate.py's add-ons call
``generate``). Import only after ``django.setup()``.

- **Every job** gets a value (500.00 to 20,000.00) and its pipeline's default schedule (the
  templates' own, billing.PipelineInstalment), worked out by billing/schedule.py.
- **Half the jobs** have their first instalment requested, with its invoice (numbered from
  INV-1001, gapless, the workspace's counter after them); of those, 60 % paid in full, 10 %
  part-paid, the rest outstanding. ``Job.money_outstanding`` follows, as the services keep it.
- **The trigger job** (``bench.TRIGGER_JOB_NUMBER``): an instalment asked for on entering the
  second of two open stages of its pipeline without required fields (and a customer to
  invoice), so the "move into a trigger stage" scenario requests it and issues its invoice
  on every run (the scenario sets it back between runs).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

import bench
from jobline.billing.models import (
    AmountKind,
    Instalment,
    InstalmentStatus,
    Invoice,
    InvoiceSequence,
    Payment,
    PaymentKind,
    PaymentMethod,
    PipelineInstalment,
    Trigger,
)
from jobline.billing.schedule import Part, spread
from jobline.customers.models import Customer
from jobline.jobs import selectors as job_selectors
from jobline.jobs.models import Job
from jobline.notifications.models import OutgoingEmail
from jobline.pipelines.models import Stage, StageField
from jobline.workspaces.models import Workspace

SEED = 20_261_203
REQUESTED_SHARE = 0.5
PAID_SHARE, PART_PAID_SHARE = 0.6, 0.1
TRIGGER_LABEL = "Milestone"


def status(workspace: Workspace) -> dict[str, Any]:
    """What of the money is there (bench/generate.py's workspace_status adds it)."""
    scheduled_jobs = (
        Instalment.objects.filter(workspace=workspace).values("job_id").distinct().count()
    )
    return {
        "scheduled_jobs": scheduled_jobs,
        "invoices": Invoice.objects.filter(workspace=workspace).count(),
        "trigger_ready": trigger_pair(workspace) is not None,
    }


def is_complete(status: dict[str, Any]) -> bool:
    return status.get("scheduled_jobs", 0) == bench.JOB_COUNT and status.get("trigger_ready")


def describe(status: dict[str, Any]) -> str:
    if not status.get("scheduled_jobs"):
        return "no payment schedules"
    return (
        f"{status['scheduled_jobs']:,} jobs with a payment schedule, "
        f"{status['invoices']:,} invoices"
    )


def trigger_pair(workspace: Workspace) -> tuple[Job, Stage, Stage, Instalment] | None:
    """The trigger job, the stage it is moved from and the one whose entry asks for its
    milestone, and that instalment; None before generation."""
    job = Job.objects.filter(workspace=workspace, number=bench.TRIGGER_JOB_NUMBER).first()
    if job is None:
        return None
    milestone = (
        Instalment.objects.filter(job=job, label=TRIGGER_LABEL, trigger=Trigger.STAGE)
        .select_related("trigger_stage")
        .first()
    )
    if milestone is None:
        return None
    before, into = open_pair(job)
    return job, before, into, milestone


def open_pair(job: Job) -> tuple[Stage, Stage]:
    """Two open stages of the job's pipeline in a row, the first without required fields (a
    move from it to the second is always allowed)."""
    stages = job_selectors.live_stages(job.pipeline)
    required = set(
        StageField.objects.filter(
            stage__in=stages, required=True, retired_at__isnull=True
        ).values_list("stage_id", flat=True)
    )
    open_stages = [s for s in stages if not s.is_terminal]
    return next(
        (a, b)
        for a, b in itertools.pairwise(open_stages)
        if a.pk not in required and not a.requires_approval
    )


def generate(*, say: Callable[[str], None] | None = None, chunk: int = 5_000) -> float:
    from bench.generate import _progress

    say = say or _progress(f"{connection.vendor} billing")
    started = time.perf_counter()
    rng = random.Random(SEED)
    workspace = Workspace.objects.get(name=bench.WORKSPACE_NAME)
    defaults: dict[int, list[PipelineInstalment]] = {}
    for row in PipelineInstalment.objects.filter(workspace=workspace).order_by("position"):
        defaults.setdefault(row.pipeline_id, []).append(row)
    now = timezone.now()
    with transaction.atomic():
        if Instalment.objects.filter(workspace=workspace).exists():
            raise SystemExit(f"bench: {workspace} already has schedules; run with BENCH_RESET=1")
        jobs = list(
            Job.objects.filter(workspace=workspace)
            .select_related("customer")
            .only("pk", "number", "pipeline_id", "customer_id", "customer__name", "title",
                  "created_at")
            .order_by("pk")
        )  # fmt: skip
        number = 1001
        instalments: list[Instalment] = []
        requested: list[tuple[Instalment, Job, float]] = []
        values: dict[int, Decimal] = {}
        for job in jobs:
            rows = defaults.get(job.pipeline_id, [])
            if not rows:
                continue
            value = Decimal(rng.randint(50_000, 2_000_000)) / 100
            values[job.pk] = value
            amounts = spread(
                value, [Part(kind=r.amount_kind, percent=r.percent, amount=r.amount) for r in rows],
                workspace.currency,
            )  # fmt: skip
            for row, amount in zip(rows, amounts, strict=True):
                instalment = Instalment(
                    workspace=workspace, job_id=job.pk, position=row.position, label=row.label,
                    amount_kind=row.amount_kind, percent=row.percent, amount=amount,
                    trigger=row.trigger, trigger_stage_id=row.trigger_stage_id, created_at=now,
                    updated_at=now,
                )  # fmt: skip
                instalments.append(instalment)
                chance = rng.random()
                if row.position != 1 or job.number == bench.TRIGGER_JOB_NUMBER:
                    continue  # the trigger job's schedule is its own (_trigger_job)
                if job.customer_id and chance < REQUESTED_SHARE:
                    requested.append((instalment, job, rng.random()))
        say(f"{len(instalments):,} instalments on {len(values):,} jobs")
        _set_values(values, chunk)
        Instalment.objects.bulk_create(instalments, batch_size=chunk)
        invoices, payments, owed = [], [], {}
        for instalment, job, luck in requested:
            issued = max(job.created_at, now - dt.timedelta(days=rng.randint(1, 60)))
            instalment.status = InstalmentStatus.REQUESTED
            instalment.requested_at = issued
            invoice = Invoice(
                workspace=workspace, number=number, job_id=job.pk, instalment=instalment,
                amount=instalment.amount, currency=workspace.currency,
                description=f"{instalment.label}: {job.title} (J-{job.number})"[:300],
                buyer_name=job.customer.name, issued_at=issued,
                due_on=issued.date() + dt.timedelta(days=workspace.invoice_terms_days),
            )  # fmt: skip
            number += 1
            invoices.append(invoice)
            paid = Decimal(0)
            if luck < PAID_SHARE:
                paid = instalment.amount
            elif luck < PAID_SHARE + PART_PAID_SHARE:
                paid = (instalment.amount / 2).quantize(Decimal("0.01"))
            if paid:
                instalment.paid = paid
                whole = paid == instalment.amount
                instalment.status = InstalmentStatus.PAID if whole else InstalmentStatus.PART_PAID
                payments.append(Payment(
                    workspace=workspace, instalment=instalment, invoice=invoice,
                    kind=PaymentKind.PAYMENT, amount=paid, paid_on=issued.date(),
                    method=PaymentMethod.BANK_TRANSFER, reference=f"BT {invoice.number}",
                    created_at=issued,
                ))  # fmt: skip
            invoice.owed = instalment.amount - paid
            if instalment.amount > paid:
                owed[job.pk] = instalment.amount - paid
        Instalment.objects.bulk_update(
            [i for i, _job, _luck in requested], ["status", "requested_at", "paid"],
            batch_size=chunk,
        )  # fmt: skip
        Invoice.objects.bulk_create(invoices, batch_size=chunk)
        Payment.objects.bulk_create(payments, batch_size=chunk)
        _set_outstanding(owed, chunk)
        InvoiceSequence.objects.update_or_create(
            workspace=workspace, defaults={"next_number": number}
        )
        say(f"{len(invoices):,} invoices, {len(payments):,} payments")
        _trigger_job(workspace)
    _analyze()
    elapsed = time.perf_counter() - started
    say(f"done in {elapsed:.0f}s")
    return elapsed


def _set_values(values: dict[int, Decimal], chunk: int) -> None:
    """Every job's value, through bulk_update in chunks."""
    jobs = [Job(pk=pk, value=value) for pk, value in values.items()]
    Job.objects.bulk_update(jobs, ["value"], batch_size=chunk)


def _set_outstanding(owed: dict[int, Decimal], chunk: int) -> None:
    jobs = [Job(pk=pk, money_outstanding=amount) for pk, amount in owed.items()]
    Job.objects.bulk_update(jobs, ["money_outstanding"], batch_size=chunk)


def _trigger_job(workspace: Workspace) -> None:
    """The trigger job's schedule: a milestone asked for on entering the second stage of its
    open pair, the rest the balance by hand."""
    job = Job.objects.select_related("pipeline").get(
        workspace=workspace, number=bench.TRIGGER_JOB_NUMBER
    )
    before, into = open_pair(job)
    Instalment.objects.filter(job=job).delete()
    # Someone to invoice: a job without a customer asks for nothing.
    customer_id = (
        job.customer_id
        or (
            Customer.objects.filter(workspace=workspace)
            .order_by("pk")
            .values_list("pk", flat=True)[0]
        )
    )
    Job.objects.filter(pk=job.pk).update(
        stage=before, money_outstanding=None, customer_id=customer_id
    )
    value = job.value or Decimal(1000)
    milestone = (value * 40 / 100).quantize(Decimal("0.01"))
    Instalment.objects.bulk_create([
        Instalment(workspace=workspace, job=job, position=1, label=TRIGGER_LABEL,
                   amount_kind=AmountKind.PERCENT, percent=Decimal(40), amount=milestone,
                   trigger=Trigger.STAGE, trigger_stage=into),
        Instalment(workspace=workspace, job=job, position=2, label="Balance",
                   amount_kind=AmountKind.BALANCE, amount=value - milestone),
    ])  # fmt: skip


def _analyze() -> None:
    tables = [m._meta.db_table for m in (Instalment, Invoice, Payment, Job)]
    with connection.cursor() as cursor:
        for table in tables:
            if connection.vendor == "postgresql":
                cursor.execute(f'VACUUM ANALYZE "{table}"')
            else:
                cursor.execute(f'ANALYZE "{table}"')


def reset_trigger(workspace: Workspace) -> dict[str, Any]:
    """Between runs of the trigger scenario: the job back in the stage before, its milestone
    scheduled and not yet fired, and the invoices its runs issued gone with their e-mails, the
    counter set back to follow the last invoice left (so the numbers stay gapless). Kept, they
    piled up on the job: after a few hundred runs its Payments page listed 772 invoices and
    measured that instead. (Their feed entries stay: the feed is append-only.)"""
    pair = trigger_pair(workspace)
    if pair is None:
        raise SystemExit("bench: no trigger job; generate the billing data")
    job, before, into, milestone = pair
    issued = Invoice.objects.filter(instalment=milestone)
    if issued.exists():
        OutgoingEmail.objects.filter(invoice__in=issued).delete()
        issued.delete()
        last = Invoice.objects.filter(workspace=workspace).aggregate(last=Max("number"))["last"]
        InvoiceSequence.objects.filter(workspace=workspace).update(next_number=(last or 1000) + 1)
    Instalment.objects.filter(pk=milestone.pk).update(
        status=InstalmentStatus.SCHEDULED, triggered_at=None, requested_at=None, paid=0
    )
    Job.objects.filter(pk=job.pk).update(stage=before, money_outstanding=None)
    version = Job.objects.filter(pk=job.pk).values_list("version", flat=True).get()
    return {"stage": into.pk, "version": version, "from": "board"}
