"""Every change to a job's staged money: its value and schedule, requesting an instalment
(which issues its invoice), voiding it, and the payments and refunds recorded against it.

Each is one transaction that locks the job's row first (so a schedule, a request and a payment
on the same job queue behind each other) and writes its feed entry in it. The feed entries
carry no amounts (jobs/activity.py): Staff read the feed; only money roles see the amounts.
``payment_record`` is the one way money comes in, so an online payment provider can call it
later.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from jobline.accounts.models import User
from jobline.approvals import services as approval_services
from jobline.billing import hooks
from jobline.billing.models import (
    FROZEN_STATUSES,
    LABEL_MAX,
    AmountKind,
    Instalment,
    InstalmentStatus,
    Invoice,
    InvoiceSequence,
    InvoiceStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    PipelineInstalment,
    Trigger,
)
from jobline.billing.schedule import (
    Part,
    ScheduleError,
    check_value,
    checked_part,
    money_words,
    spread,
)
from jobline.core import wall_time
from jobline.core.prepared import PreparedQuery
from jobline.core.transactions import service
from jobline.jobs import activity
from jobline.jobs.changes import job_lock, job_touch, log
from jobline.jobs.choices import Visibility
from jobline.jobs.models import Job
from jobline.pipelines.models import Pipeline, Stage
from jobline.quotes.models import Quote
from jobline.quotes.services import quote_totals
from jobline.quotes.totals import round_money
from jobline.workspaces.models import Workspace
from jobline.workspaces.services import audit_record

REASON_MAX = 300
# The money entries are the customer's to read (by name and invoice; they carry no amounts).
SEEN = Visibility.CUSTOMER


@dataclass(frozen=True)
class InstalmentInput:
    """One row of the schedule editor: an existing instalment (``id``) or a new one."""

    label: str
    amount_kind: str
    percent: Decimal | None = None
    amount: Decimal | None = None
    trigger: str = Trigger.MANUAL
    trigger_stage: Stage | None = None
    trigger_on: dt.date | None = None
    id: int | None = None

    @classmethod
    def kept(cls, instalment: Instalment) -> InstalmentInput:
        """An existing instalment's row as the editor sends it back unchanged."""
        fixed = instalment.amount_kind == AmountKind.FIXED
        return cls(
            label=instalment.label, amount_kind=instalment.amount_kind,
            percent=instalment.percent, amount=instalment.amount if fixed else None,
            trigger=instalment.trigger, trigger_stage=instalment.trigger_stage,
            trigger_on=instalment.trigger_on, id=instalment.pk,
        )  # fmt: skip


class ScheduleRowError(ValidationError):
    """A bad row of the schedule: ``row`` is its index in the rows given (None: the whole)."""

    def __init__(self, message: str | dict[str, str], row: int | None = None) -> None:
        super().__init__(message)
        self.row = row


def local_today(workspace: Workspace, at: dt.datetime | None = None) -> dt.date:
    """The date in the workspace's time zone now (or at ``at``)."""
    return timezone.localdate(at, timezone=wall_time.zone(workspace.time_zone))


def _lock_job(instalment: Instalment) -> Job:
    """The instalment's job row, locked: every money change of a job queues here."""
    return job_lock(job=instalment.job, expected_version=None)


def _fresh(instalment: Instalment) -> Instalment:
    return Instalment.objects.select_related("job", "workspace").get(pk=instalment.pk)


def _amount(value: Any, *, field: str, label: str, currency: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: f"{label} is a number, like 250 or 99.50."}) from None
    if not amount.is_finite():
        raise ValidationError({field: f"{label} is a number, like 250 or 99.50."})
    if amount <= 0:
        raise ValidationError({field: f"{label} is more than zero."})
    if amount != round_money(amount, currency):
        raise ValidationError({field: f"{label} has too many decimal places for {currency}."})
    return amount


def _reason(reason: str, *, field: str = "reason", what: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({field: f"Say why {what}: it goes in the job's history."})
    if len(reason) > REASON_MAX:
        raise ValidationError({field: f"Keep the reason under {REASON_MAX} characters."})
    return reason


# ----------------------------------------------------------------------------- the schedule


def _checked_row(
    pipeline_id: int, row: InstalmentInput, index: int, *, held: bool
) -> InstalmentInput:
    """A row as typed, checked; for a ``held`` one (requested, paid or void) only its name."""
    label = " ".join(row.label.split())
    if not label:
        raise ScheduleRowError({"label": "Name the instalment (Deposit, Balance…)."}, index)
    if len(label) > LABEL_MAX:
        raise ScheduleRowError({"label": f"Keep the name under {LABEL_MAX} characters."}, index)
    if held:
        return InstalmentInput(label=label, amount_kind=row.amount_kind, id=row.id)
    if row.amount_kind not in AmountKind.values:
        raise ScheduleRowError({"amount_kind": "Choose how the amount is given."}, index)
    if row.trigger not in Trigger.values:
        raise ScheduleRowError({"trigger": "Choose when it is requested."}, index)
    stage, day = None, None
    if row.trigger == Trigger.STAGE:
        stage = row.trigger_stage
        if stage is None or stage.pipeline_id != pipeline_id or stage.deleted_at:
            raise ScheduleRowError({"trigger_stage": "Choose a stage of this job's pipeline."},
                                   index)  # fmt: skip
    elif row.trigger == Trigger.DATE:
        day = row.trigger_on
        if day is None:
            raise ScheduleRowError({"trigger_on": "Give the date it is requested on."}, index)
    return InstalmentInput(
        label=label, amount_kind=row.amount_kind,
        percent=row.percent if row.amount_kind == AmountKind.PERCENT else None,
        amount=row.amount if row.amount_kind == AmountKind.FIXED else None,
        trigger=row.trigger, trigger_stage=stage, trigger_on=day, id=row.id,
    )  # fmt: skip


def _respread(job: Job, instalments: Sequence[Instalment], value: Decimal | None) -> None:
    """Work the amounts of the instalments not yet requested out again (after the value
    changed, or one was voided); raises ScheduleError when they no longer add up."""
    parts = [_part_of(i) for i in instalments]
    amounts = spread(value, parts, job.workspace.currency)
    now = timezone.now()
    for instalment, amount in zip(instalments, amounts, strict=True):
        if instalment.status == InstalmentStatus.SCHEDULED and instalment.amount != amount:
            instalment.amount = amount
            instalment.updated_at = now
            instalment.save(update_fields=["amount", "updated_at"])


def _part_of(instalment: Instalment) -> Part:
    return Part(
        kind=instalment.amount_kind,
        percent=instalment.percent,
        amount=instalment.amount,
        frozen=instalment.is_frozen,
        void=instalment.status == InstalmentStatus.VOID,
    )


def _value_alone(value: Decimal | None, currency: str) -> list[Decimal]:
    """A value with no schedule (yet)."""
    if value is not None:
        check_value(value, currency)
    return []


@service
def schedule_save(
    *,
    job: Job,
    value: Decimal | None,
    rows: Sequence[InstalmentInput],
    actor: User,
    expected_version: int | None,
    at: dt.datetime | None = None,
) -> list[Instalment]:
    """Set the job's value and its schedule in one go. ``rows`` are the instalments in order:
    requested, paid and void ones by their ``id`` (their amounts stay as they are; only the
    position follows the rows), the rest as typed. A scheduled instalment left out is removed.
    Raises ScheduleRowError (for one row or the whole) and changes nothing then."""
    locked = job_lock(job=job, expected_version=expected_version)
    currency = locked.workspace.currency
    existing = {i.pk: i for i in Instalment.objects.filter(job=locked)}
    kept_ids = {row.id for row in rows if row.id is not None}
    if unknown := kept_ids - existing.keys():
        raise ScheduleRowError(f"Instalment {min(unknown)} is not on this job any more.")
    for instalment in existing.values():
        if instalment.status != InstalmentStatus.SCHEDULED and instalment.pk not in kept_ids:
            raise ScheduleRowError(
                f"The {instalment.label} is {instalment.get_status_display().lower()}: void it "
                f"instead of removing it."
            )

    def is_held(row: InstalmentInput) -> bool:
        held = existing.get(row.id) if row.id else None
        return held is not None and held.status != InstalmentStatus.SCHEDULED

    checked = [
        _checked_row(locked.pipeline_id, row, index, held=is_held(row))
        for index, row in enumerate(rows)
    ]
    parts = []
    for row in checked:
        held = existing.get(row.id) if row.id else None
        if held is not None and held.status != InstalmentStatus.SCHEDULED:
            parts.append(_part_of(held))
        else:
            parts.append(Part(kind=row.amount_kind, percent=row.percent, amount=row.amount))
    try:
        amounts = spread(value, parts, currency) if parts else _value_alone(value, currency)
    except ScheduleError as error:
        if error.row is None:
            raise ScheduleRowError({"value": error.message}) from None
        raise ScheduleRowError(error.message, error.row) from None
    now = at or timezone.now()
    saved: list[Instalment] = []
    for position, (row, amount) in enumerate(zip(checked, amounts, strict=True), start=1):
        held = existing.get(row.id) if row.id else None
        if held is not None and held.status != InstalmentStatus.SCHEDULED:
            held.position = position
            held.label = row.label
            held.updated_at = now
            held.save(update_fields=["position", "label", "updated_at"])
            saved.append(held)
            continue
        instalment = held or Instalment(workspace_id=locked.workspace_id, job=locked)
        instalment.position = position
        instalment.label = row.label
        instalment.amount_kind = row.amount_kind
        instalment.percent = row.percent
        instalment.amount = amount
        instalment.trigger = row.trigger
        instalment.trigger_stage = row.trigger_stage
        instalment.trigger_on = row.trigger_on
        instalment.updated_at = now
        instalment.save()
        saved.append(instalment)
    Instalment.objects.filter(job=locked, status=InstalmentStatus.SCHEDULED).exclude(
        pk__in=[i.pk for i in saved]
    ).delete()
    value_changed = locked.value != value
    locked.value = value
    job_touch(locked, at=now, fields=["value"])
    if value_changed:
        # A material change: what the customer approved included the value.
        approval_services.value_changed(job=locked, actor=actor, at=now)
    log(job=locked, actor=actor, at=now, payload=activity.ScheduleChanged(
        labels=tuple(i.label for i in saved if i.status != InstalmentStatus.VOID),
        value_changed=value_changed,
    ))  # fmt: skip
    return saved


# ----------------------------------------------------------------------------- defaults

HUNDRED = Decimal(100)


def _checked_default_shape(rows: Sequence[InstalmentInput]) -> None:
    """A default schedule must add up whatever a job is worth: a balance last, or shares that
    come to 100 % exactly."""
    if not rows:
        return
    for index, row in enumerate(rows):
        if row.trigger == Trigger.DATE:
            raise ScheduleRowError({"trigger": (
                "A default schedule can't ask on a date (each job's differ): choose a stage, "
                "the win, the quote's acceptance or by hand."
            )}, index)  # fmt: skip
        if row.amount_kind == AmountKind.BALANCE and index != len(rows) - 1:
            raise ScheduleRowError("Only the last instalment can be the balance.", index)
        try:
            checked_part(Part(kind=row.amount_kind, percent=row.percent, amount=row.amount), index)
        except ScheduleError as error:
            raise ScheduleRowError(error.message, error.row) from None
    shares = sum((row.percent or Decimal(0) for row in rows), Decimal(0))
    last = len(rows) - 1
    if rows[last].amount_kind == AmountKind.BALANCE:
        if shares >= HUNDRED:
            raise ScheduleRowError(
                f"The shares come to {shares.normalize():f} %: nothing would be left for the "
                f"balance.", last
            )  # fmt: skip
    elif any(row.amount_kind != AmountKind.PERCENT for row in rows) or shares != HUNDRED:
        raise ScheduleRowError(
            "Whatever a job is worth, this must add up: make the last instalment the balance, "
            "or give every instalment a share and let the shares come to 100 %.", last
        )  # fmt: skip


def _describe(rows: Sequence[InstalmentInput | PipelineInstalment], currency: str) -> str:
    """A schedule in the audit log's words: "Deposit 30 %, Fee 250.00 GBP, Balance balance"."""
    words = []
    for row in rows:
        share = {
            AmountKind.PERCENT: f"{(row.percent or Decimal(0)).normalize():f} %",
            AmountKind.FIXED: money_words(row.amount or Decimal(0), currency),
            AmountKind.BALANCE: "balance",
        }.get(row.amount_kind, "")
        words.append(f"{row.label} {share}")
    return ", ".join(words) or "none"


@service
def pipeline_schedule_save(
    *, pipeline: Pipeline, rows: Sequence[InstalmentInput], actor: User
) -> list[PipelineInstalment]:
    """Set the pipeline's default schedule (empty: none). Each new job of the pipeline gets a
    copy; the jobs it already has keep theirs. Raises ScheduleRowError, changing nothing."""
    checked = [_checked_row(pipeline.pk, row, index, held=False) for index, row in enumerate(rows)]
    _checked_default_shape(checked)
    currency = pipeline.workspace.currency
    before = list(PipelineInstalment.objects.filter(pipeline=pipeline))
    PipelineInstalment.objects.filter(pipeline=pipeline).delete()
    saved = [
        PipelineInstalment.objects.create(
            workspace_id=pipeline.workspace_id,
            pipeline=pipeline,
            position=position,
            label=row.label,
            amount_kind=row.amount_kind,
            percent=row.percent,
            amount=row.amount,
            trigger=row.trigger,
            trigger_stage=row.trigger_stage,
        )
        for position, row in enumerate(checked, start=1)
    ]
    audit_record(
        workspace=pipeline.workspace, actor=actor, action="pipeline.schedule_changed",
        target=pipeline.name, old=_describe(before, currency), new=_describe(checked, currency),
    )  # fmt: skip
    return saved


def default_schedule_copy(job: Job) -> list[Instalment]:
    """A new job gets its pipeline's default schedule (inside the job's creation). Amounts
    are worked out when it has a value; until then only fixed ones have theirs."""
    defaults = list(PipelineInstalment.objects.filter(pipeline_id=job.pipeline_id))
    if not defaults or Instalment.objects.filter(job=job).exists():
        return []
    copied = [
        Instalment.objects.create(
            workspace_id=job.workspace_id,
            job=job,
            position=row.position,
            label=row.label,
            amount_kind=row.amount_kind,
            percent=row.percent,
            amount=row.amount if row.amount_kind == AmountKind.FIXED and row.amount else 0,
            trigger=row.trigger,
            trigger_stage_id=row.trigger_stage_id,
        )
        for row in defaults
    ]
    if job.value is not None:
        with contextlib.suppress(ScheduleError):
            _respread(job, copied, job.value)
    return copied


def schedule_from_quote(job: Job, *, at: dt.datetime) -> None:
    """The job was made from a quote (quotes app, conversion), which gave it its value and
    perhaps a deposit due on acceptance. The quote's deposit becomes the schedule's first
    instalment (the pipeline's default copied in; with no default, a Deposit and the balance
    when won), and the amounts are worked out over the value. A schedule that cannot be (a
    fixed sum over the value) is left for staff, the Payments page saying why."""
    instalments = list(Instalment.objects.filter(job=job))
    deposit = job.deposit_due
    if deposit and instalments:
        first = instalments[0]
        first.amount_kind, first.percent, first.amount = AmountKind.FIXED, None, deposit
        first.trigger, first.trigger_stage = Trigger.QUOTE_ACCEPTED, None
        first.save(update_fields=["amount_kind", "percent", "amount", "trigger",
                                  "trigger_stage"])  # fmt: skip
    elif deposit and job.value:
        instalments = [
            Instalment.objects.create(
                workspace_id=job.workspace_id, job=job, position=1, label="Deposit",
                amount_kind=AmountKind.FIXED, amount=deposit, trigger=Trigger.QUOTE_ACCEPTED,
            ),
            Instalment.objects.create(
                workspace_id=job.workspace_id, job=job, position=2, label="Balance",
                amount_kind=AmountKind.BALANCE, trigger=Trigger.WON,
            ),
        ]  # fmt: skip
    if not instalments:
        return
    with contextlib.suppress(ScheduleError):
        _respread(job, instalments, job.value)
    log(job=job, actor=None, at=at, payload=activity.ScheduleChanged(
        labels=tuple(i.label for i in instalments), value_changed=True,
    ))  # fmt: skip


# What a job's requested instalments still await, summed after every request, payment,
# refund and void: its SQL compiled once (core/prepared.py), as building it took longer than
# the answer. Grouped by the job, the sum comes as a row (none when nothing is requested).
_OWED_ON_JOB = PreparedQuery(
    lambda job_id: (
        Instalment.objects.filter(job_id=job_id, status__in=FROZEN_STATUSES)
        .values("job_id")
        .annotate(owed=Sum(F("amount") - F("paid")))
        .values_list("owed", flat=True)
    ),
    name="owed on a job",
)


def _refresh_outstanding(job: Job) -> None:
    """Keep the job's ``money_outstanding`` (board cards read it) in step with its schedule,
    in the change's transaction."""
    owed = next(iter(_OWED_ON_JOB.list(job_id=job.pk)), None)
    outstanding = owed if owed else None
    if job.money_outstanding != outstanding:
        Job.objects.filter(pk=job.pk).update(money_outstanding=outstanding)
        job.money_outstanding = outstanding


# ----------------------------------------------------------------------------- requesting


# The quote a job was made from (at most one; ``first()`` by id), read by every request: its
# SQL compiled once (core/prepared.py), as building it took longer than the answer.
_QUOTE_OF_JOB = PreparedQuery(
    lambda job_id: Quote.objects.filter(job_id=job_id).order_by("pk")[:1], name="quote of a job"
)


def _tax_of(amount: Decimal, job: Job) -> list[dict[str, Any]]:
    """The tax in an instalment of ``amount``, per rate: its share of the tax of the quote the
    job was made from (the amount × that rate's tax ÷ the quote's total), rounded half-up; a
    job not made from a quote has none shown. The one place this is worked out."""
    quote = next(iter(_QUOTE_OF_JOB.list(job_id=job.pk)), None)
    if quote is None:
        return []
    totals = quote_totals(quote, ticked=quote.accepted_lines)
    if not totals.total:
        return []
    return [
        {"name": line.name, "percent": f"{line.percent.normalize():f}",
         "tax": round_money(amount * line.tax / totals.total, quote.currency)}
        for line in totals.taxes
    ]  # fmt: skip


def _next_invoice_number(workspace_id: int) -> int:
    """Takes the workspace's next number. Raising the counter locks its row first, so
    concurrent issues queue here, and a rolled-back issue gives its number back: numbers
    have no gaps."""
    number = _take_number(workspace_id)
    if number is None:
        # The workspace's first invoice makes its counter (a concurrent first waits on the
        # new row, then finds it made).
        InvoiceSequence.objects.get_or_create(workspace_id=workspace_id)
        number = _take_number(workspace_id)
        assert number is not None
    return number


def _take_number(workspace_id: int) -> int | None:
    """The counter's number, raised by one (None: the workspace has no counter yet). The
    UPDATE locks the row before anything is read, so the number is this transaction's alone.
    One ``UPDATE … RETURNING`` where the database has it (PostgreSQL, SQLite 3.35+: Django's
    ``can_return_columns_from_insert``), else the UPDATE and a read."""
    counter = InvoiceSequence.objects.filter(workspace_id=workspace_id)
    if not connection.features.can_return_columns_from_insert:
        if not counter.update(next_number=F("next_number") + 1):
            return None
        return counter.values_list("next_number", flat=True).get() - 1
    meta, quote = InvoiceSequence._meta, connection.ops.quote_name
    table, key = quote(meta.db_table), quote(meta.pk.column)
    column = quote(meta.get_field("next_number").column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = {column} + 1 WHERE {key} = %s RETURNING {column} - 1",
            [workspace_id],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def _request(
    instalment: Instalment, job: Job, *, actor: User | None, at: dt.datetime, why: str = ""
) -> Invoice:
    """Request a locked job's scheduled (or void) instalment: issue its invoice."""
    if job.customer_id is None:
        raise ValidationError("Give the job a customer first: an invoice needs someone to pay it.")
    if instalment.amount <= 0:
        raise ValidationError(f"The {instalment.label} comes to nothing: there is nothing to ask.")
    workspace = job.workspace
    customer = job.customer
    tax_lines = _tax_of(instalment.amount, job)
    named = instalment.amount >= workspace.buyer_identity_threshold
    invoice = Invoice.objects.create(
        workspace_id=job.workspace_id,
        number=_next_invoice_number(job.workspace_id),
        job=job,
        instalment=instalment,
        amount=instalment.amount,
        owed=instalment.amount,
        currency=workspace.currency,
        tax_lines=[{**line, "tax": f"{line['tax']}"} for line in tax_lines],
        tax=sum((line["tax"] for line in tax_lines), Decimal(0)),
        description=f"{instalment.label}: {job.title} ({job.reference})"[:300],
        seller_tax_number=workspace.tax_number,
        buyer_name=customer.name if customer else "",
        buyer_address=customer.address if customer and named else "",
        issued_at=at,
        due_on=local_today(workspace, at) + dt.timedelta(days=workspace.invoice_terms_days),
    )  # fmt: skip
    instalment.status = InstalmentStatus.REQUESTED
    instalment.requested_at = at
    instalment.void_reason = ""
    instalment.updated_at = at
    instalment.save(update_fields=["status", "requested_at", "void_reason", "updated_at"])
    _refresh_outstanding(job)
    log(job=job, actor=actor, at=at, visibility=SEEN, payload=activity.InstalmentRequested(
        instalment_id=instalment.pk, label=instalment.label, invoice=invoice.reference,
        reason=why, invoice_id=invoice.pk,
    ))  # fmt: skip
    hooks.invoice_issued(invoice)
    return invoice


@service
def instalment_request(
    *, instalment: Instalment, actor: User, at: dt.datetime | None = None
) -> Invoice:
    """Staff ask for an instalment now (before its trigger, or again after a void): its
    invoice is issued with the next number."""
    job = _lock_job(instalment)
    locked = _fresh(instalment)
    if locked.status not in (InstalmentStatus.SCHEDULED, InstalmentStatus.VOID):
        raise ValidationError(
            f"The {locked.label} is already {locked.get_status_display().lower()}."
        )
    if locked.status == InstalmentStatus.VOID:
        # Asked again: it takes back from the instalments not yet requested what they took
        # up when it was voided, or it is refused when they cannot give it back.
        instalments = [
            locked if i.pk == locked.pk else i for i in Instalment.objects.filter(job=job)
        ]
        locked.status = InstalmentStatus.REQUESTED
        try:
            _respread(job, instalments, job.value)
        except ScheduleError as error:
            raise ValidationError(
                f"Asking for the {locked.label} again does not fit the schedule: {error.message}"
            ) from None
        finally:
            locked.status = InstalmentStatus.VOID
    now = at or timezone.now()
    invoice = _request(locked, job, actor=actor, at=now)
    job_touch(job, at=now)
    return invoice


def fire(job: Job, instalments: Sequence[Instalment], *, why: str, at: dt.datetime) -> int:
    """Request the instalments whose trigger just happened, inside the caller's transaction
    (the job already locked by the move, conversion or periodic job that fired them). Each
    fires once (``triggered_at``). One that cannot be requested yet (a job without a customer,
    or not worth anything yet) is not fired: it waits for the next such event, or for staff."""
    fired = 0
    for instalment in instalments:
        if job.customer_id is None or instalment.amount <= 0:
            continue  # not requestable yet: it waits, and fires on the next such event
        claimed = Instalment.objects.filter(
            pk=instalment.pk, status=InstalmentStatus.SCHEDULED, triggered_at__isnull=True
        ).update(triggered_at=at)
        if not claimed:
            continue
        instalment.triggered_at = at
        _request(instalment, job, actor=None, at=at, why=why)
        fired += 1
    return fired


def dated_instalments_request(*, now: dt.datetime | None = None) -> int:
    """Request every instalment set to go on a date that has come in its workspace's time
    zone (the periodic job). Each in its own transaction behind its job's lock; a second run
    (or a second scheduler) finds them fired already. Returns how many were requested."""
    now = now or timezone.now()
    latest = (now + dt.timedelta(days=1)).date()  # no time zone is a day ahead of that
    candidates = (
        Instalment.objects.filter(
            trigger=Trigger.DATE, status=InstalmentStatus.SCHEDULED, triggered_at__isnull=True,
            trigger_on__lte=latest,
            # Only those that can be asked for: one that cannot (no customer, worth nothing
            # yet) waits without holding up the others behind it.
            job__customer__isnull=False, amount__gt=0,
        )
        .select_related("job__workspace", "workspace")
        .order_by("trigger_on", "pk")[:DATED_PER_RUN]
    )  # fmt: skip
    requested = 0
    for candidate in candidates:
        if candidate.trigger_on > local_today(candidate.workspace, now):
            continue
        with transaction.atomic(durable=True):
            job = _lock_job(candidate)
            requested += fire(job, [candidate], why=f"{candidate.trigger_on:%-d %b %Y}", at=now)
    return requested


# A run requests at most this many; the rest go on the next run.
DATED_PER_RUN = 500


# ----------------------------------------------------------------------------- voiding


@service
def instalment_void(
    *, instalment: Instalment, actor: User, reason: str, at: dt.datetime | None = None
) -> Instalment:
    """Void an instalment, with a reason. Its invoice stays, marked void (its number is never
    reused). What it was paid must be refunded first. The instalments not yet requested are
    worked out again, so the balance takes up what the void one no longer asks."""
    reason = _reason(reason, what="it is void")
    job = _lock_job(instalment)
    locked = _fresh(instalment)
    if locked.status == InstalmentStatus.VOID:
        raise ValidationError(f"The {locked.label} is already void.")
    if locked.paid > 0:
        raise ValidationError(
            f"{money_words(locked.paid, job.workspace.currency)} has been paid towards the "
            f"{locked.label}: refund it first."
        )
    now = at or timezone.now()
    invoice = locked.invoices.filter(status=InvoiceStatus.ISSUED).order_by("-issued_at").first()
    if invoice is not None:
        invoice.status = InvoiceStatus.VOID
        invoice.voided_at = now
        invoice.void_reason = reason
        invoice.owed = Decimal(0)
        invoice.save(update_fields=["status", "voided_at", "void_reason", "owed"])
    locked.status = InstalmentStatus.VOID
    locked.void_reason = reason
    locked.updated_at = now
    locked.save(update_fields=["status", "void_reason", "updated_at"])
    _refresh_outstanding(job)
    instalments = list(Instalment.objects.filter(job=job).exclude(status=InstalmentStatus.VOID))
    if instalments:
        # When they no longer add up, the schedule page says so and staff put it right.
        with contextlib.suppress(ScheduleError):
            _respread(job, instalments, job.value)
    job_touch(job, at=now)
    # Only a request the customer was sent is cancelled to them: an instalment never asked
    # for is staff's plan, and voiding it stays internal.
    seen = SEEN if invoice is not None else Visibility.INTERNAL
    log(job=job, actor=actor, at=now, visibility=seen, payload=activity.InstalmentVoided(
        instalment_id=locked.pk, label=locked.label,
        invoice=invoice.reference if invoice else "", reason=reason,
        invoice_id=invoice.pk if invoice else None,
    ))  # fmt: skip
    return locked


# ----------------------------------------------------------------------------- payments


def _status_for(instalment: Instalment) -> str:
    if instalment.paid >= instalment.amount:
        return InstalmentStatus.PAID
    if instalment.paid > 0:
        return InstalmentStatus.PART_PAID
    return InstalmentStatus.REQUESTED


@service
def payment_record(
    *,
    instalment: Instalment,
    amount: Any,
    paid_on: dt.date | None,
    method: str,
    reference: str = "",
    actor: User | None,
    at: dt.datetime | None = None,
) -> Payment:
    """Money in against a requested instalment: part of it or all of what is owed, never
    more. The one way a payment is recorded (staff today, a payment provider later)."""
    job = _lock_job(instalment)
    locked = _fresh(instalment)
    currency = job.workspace.currency
    if locked.status == InstalmentStatus.VOID:
        raise ValidationError({"amount": f"The {locked.label} is void: nothing is owed on it."})
    if locked.status == InstalmentStatus.SCHEDULED:
        raise ValidationError(
            {"amount": f"Request the {locked.label} first: a payment goes against its invoice."}
        )
    if locked.status == InstalmentStatus.PAID:
        raise ValidationError({"amount": f"The {locked.label} is paid in full."})
    money = _amount(amount, field="amount", label="The amount", currency=currency)
    owed = locked.amount - locked.paid
    if money > owed:
        raise ValidationError({"amount": (
            f"That is more than the {money_words(owed, currency)} still owed on the "
            f"{locked.label}."
        )})  # fmt: skip
    if method not in PaymentMethod.values:
        raise ValidationError({"method": "Choose how it was paid."})
    today = local_today(job.workspace, at)
    if paid_on is None:
        raise ValidationError({"paid_on": "Give the date it was paid."})
    if paid_on > today:
        raise ValidationError({"paid_on": "A payment can't be in the future."})
    reference = " ".join((reference or "").split())[:100]
    now = at or timezone.now()
    invoice = locked.invoices.filter(status=InvoiceStatus.ISSUED).order_by("-issued_at").first()
    payment = Payment.objects.create(
        workspace_id=job.workspace_id, instalment=locked, invoice=invoice, amount=money,
        paid_on=paid_on, method=method, reference=reference, recorded_by=actor, created_at=now,
    )  # fmt: skip
    if invoice is not None:
        Invoice.objects.filter(pk=invoice.pk).update(owed=F("owed") - money)
    locked.paid += money
    locked.status = _status_for(locked)
    locked.updated_at = now
    locked.save(update_fields=["paid", "status", "updated_at"])
    _refresh_outstanding(job)
    job_touch(job, at=now)
    log(job=job, actor=actor, at=now, visibility=SEEN, payload=activity.PaymentRecorded(
        instalment_id=locked.pk, label=locked.label,
        invoice=invoice.reference if invoice else "",
        invoice_id=invoice.pk if invoice else None,
    ))  # fmt: skip
    return payment


@service
def payment_refund(
    *, payment: Payment, amount: Any, reason: str, actor: User, at: dt.datetime | None = None
) -> Payment:
    """Give back some or all of a payment, with a reason: the instalment is owed that again."""
    reason = _reason(reason, what="it is refunded")
    payment = Payment.objects.select_related("instalment__job").get(pk=payment.pk)
    job = _lock_job(payment.instalment)
    locked = _fresh(payment.instalment)
    currency = job.workspace.currency
    if payment.kind != PaymentKind.PAYMENT:
        raise ValidationError({"amount": "A refund can't be refunded."})
    money = _amount(amount, field="amount", label="The refund", currency=currency)
    refunded = sum((r.amount for r in payment.refunds.all()), Decimal(0))
    left = payment.amount - refunded
    if money > left:
        raise ValidationError({"amount": (
            f"Only {money_words(left, currency)} of that payment is left to refund."
        )})  # fmt: skip
    now = at or timezone.now()
    refund = Payment.objects.create(
        workspace_id=job.workspace_id, instalment=locked, invoice=payment.invoice,
        kind=PaymentKind.REFUND, refund_of=payment, amount=money,
        paid_on=local_today(job.workspace, now), method=payment.method, reason=reason,
        recorded_by=actor, created_at=now,
    )  # fmt: skip
    if payment.invoice_id is not None:
        Invoice.objects.filter(pk=payment.invoice_id, status=InvoiceStatus.ISSUED).update(
            owed=F("owed") + money
        )
    locked.paid -= money
    if locked.status != InstalmentStatus.VOID:
        locked.status = _status_for(locked)
    locked.updated_at = now
    locked.save(update_fields=["paid", "status", "updated_at"])
    _refresh_outstanding(job)
    job_touch(job, at=now)
    log(job=job, actor=actor, at=now, visibility=SEEN, payload=activity.PaymentRefunded(
        instalment_id=locked.pk, label=locked.label,
        invoice=payment.invoice.reference if payment.invoice else "", reason=reason,
        invoice_id=payment.invoice_id,
    ))  # fmt: skip
    return refund
