"""Every change to a quote: one durable transaction each, with the quote's history written in
it and the layers above told through hooks.py (the customer's e-mail, the owner's bell).

- A draft burns no number: ``quote_send`` takes the next one from the workspace's locked
  sequence row, so numbers are gapless under concurrent sends.
- Editing a sent quote makes a new revision (its content and hash kept), which the customer
  sees; an accepted, declined or converted quote cannot be edited.
- Accepting records the typed name, the time, the network address and a hash of exactly the
  revision and optional lines accepted; an expired, declined or superseded quote cannot be
  accepted.
- ``quote_convert`` makes the job, its first visit and the deposit due in one transaction,
  links quote and job both ways, and converts nothing twice (the quote's row is locked first).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from jobline.accounts.models import User
from jobline.bookings import services as booking_services
from jobline.core import one_time, wall_time
from jobline.core.transactions import service
from jobline.customers import services as customer_services
from jobline.customers.models import Customer
from jobline.jobs import activity
from jobline.jobs import services as job_services
from jobline.jobs.changes import job_lock, job_touch, log
from jobline.jobs.models import Job
from jobline.pipelines.models import Pipeline, Stage
from jobline.quotes import hooks, tokens, totals
from jobline.quotes.models import (
    NOTES_MAX,
    OPEN_STATUSES,
    TITLE_MAX,
    DepositKind,
    Quote,
    QuoteEvent,
    QuoteEventKind,
    QuoteFollower,
    QuoteLine,
    QuoteNumberSequence,
    QuoteRevision,
    QuoteStatus,
    TaxRate,
)
from jobline.workspaces.models import Membership, Workspace
from jobline.workspaces.services import audit_record

logger = logging.getLogger(__name__)

MAX_LINES = 200
MAX_AMOUNT = Decimal("999999999999.99")


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal = Decimal(0)
    tax_rate: TaxRate | None = None
    optional: bool = False


def a_status(quote: Quote) -> str:
    """ "A declined", "An accepted": the quote's status with its article, to start a sentence."""
    word = quote.get_status_display().lower()
    return f"{'An' if word[:1] in 'aeiou' else 'A'} {word}"


class StaleQuote(Exception):
    message = "This quote changed since you opened it. Here is its current state; try again."


@dataclass
class AlreadyConverted(Exception):
    job: Job

    def __str__(self) -> str:
        return f"This quote is already {self.job.reference}."


@dataclass
class NotAcceptable(Exception):
    """Why the customer can no longer accept (or decline) this quote."""

    reason: str

    def __str__(self) -> str:
        return self.reason


# ----------------------------------------------------------------------------- checks


def _text(value: str, *, limit: int, field: str, label: str) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise ValidationError({field: f"{label} can be at most {limit} characters."})
    return value


def _decimal(value: Any, *, field: str, label: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: f"{label} must be a number."}) from None
    if not number.is_finite():
        raise ValidationError({field: f"{label} must be a number."})
    return number


def _checked_lines(workspace: Workspace, lines: Sequence[LineInput]) -> list[LineInput]:
    """Every line, checked: the errors name the line ("Line 2: …") and the field
    ("lines")."""
    if not lines:
        raise ValidationError({"lines": "Add at least one line."})
    if len(lines) > MAX_LINES:
        raise ValidationError({"lines": f"A quote can have at most {MAX_LINES} lines."})
    errors = []
    checked = []
    for number, line in enumerate(lines, start=1):
        description = (line.description or "").strip()
        quantity = _decimal(line.quantity, field="lines", label="The quantity")
        price = _decimal(line.unit_price, field="lines", label="The unit price")
        discount = _decimal(line.discount_percent, field="lines", label="The discount")
        if not description:
            errors.append(f"Line {number}: describe the work or item.")
        elif len(description) > 500:
            errors.append(f"Line {number}: the description can be at most 500 characters.")
        if quantity < 0:
            errors.append(f"Line {number}: the quantity cannot be negative.")
        if price < 0:
            errors.append(f"Line {number}: the unit price cannot be negative.")
        if quantity * price > MAX_AMOUNT:
            errors.append(f"Line {number}: the amount is too large.")
        if not 0 <= discount <= 100:
            errors.append(f"Line {number}: the discount must be between 0 and 100 %.")
        rate = line.tax_rate
        if rate is not None and (rate.workspace_id != workspace.pk or rate.archived_at):
            errors.append(f"Line {number}: choose one of this workspace's tax rates.")
        elif rate is not None and not 0 <= rate.percent <= 100:
            errors.append(f"Line {number}: a tax rate is between 0 and 100 %.")
        checked.append(
            LineInput(description=description, quantity=quantity, unit_price=price,
                      discount_percent=discount, tax_rate=rate, optional=line.optional)
        )  # fmt: skip
    if errors:
        raise ValidationError({"lines": errors})
    if all(line.optional for line in checked):
        raise ValidationError({"lines": "At least one line must not be optional."})
    return checked


def _checked_deposit(kind: str, value: Any) -> tuple[str, Decimal]:
    if kind not in DepositKind.values:
        raise ValidationError({"deposit_kind": "Choose how the deposit is worked out."})
    amount = _decimal(value or 0, field="deposit_value", label="The deposit")
    if kind == DepositKind.NONE:
        return kind, Decimal(0)
    if amount <= 0:
        raise ValidationError({"deposit_value": "Give the deposit, or choose no deposit."})
    if kind == DepositKind.PERCENT and amount > 100:
        raise ValidationError({"deposit_value": "A deposit is at most 100 % of the total."})
    return kind, amount


def _checked_customer(workspace: Workspace, customer: Customer | None) -> Customer:
    if customer is None:
        raise ValidationError({"customer": "Choose the customer, or name a new one."})
    if customer.workspace_id != workspace.pk:
        raise ValidationError({"customer": "Choose a customer of this workspace."})
    if customer.archived_at is not None:
        raise ValidationError({"customer": "This customer is archived; restore them first."})
    return customer


def _checked_pipeline(workspace: Workspace, pipeline: Pipeline | None) -> Pipeline | None:
    if pipeline is not None and (pipeline.workspace_id != workspace.pk or pipeline.archived_at):
        raise ValidationError({"pipeline": "Choose one of this workspace's pipelines."})
    return pipeline


def _event(
    quote: Quote, kind: str, *, actor: User | None, at: dt.datetime, detail: str = "",
    by_customer: bool = False,
) -> None:  # fmt: skip
    QuoteEvent.objects.create(
        quote=quote, kind=kind, actor=actor, detail=detail[:500], created_at=at,
        by_customer=by_customer,
    )  # fmt: skip


def _write_lines(quote: Quote, lines: Sequence[LineInput]) -> list[QuoteLine]:
    """Replace the quote's lines and keep its stored total (totals.py) in step."""
    QuoteLine.objects.filter(quote=quote).delete()
    written = QuoteLine.objects.bulk_create(
        QuoteLine(
            quote=quote, position=index, description=line.description, quantity=line.quantity,
            unit_price=line.unit_price, discount_percent=line.discount_percent,
            tax_rate=line.tax_rate,
            tax_percent=line.tax_rate.percent if line.tax_rate else Decimal(0),
            tax_name=line.tax_rate.name if line.tax_rate else "",
            optional=line.optional,
        )
        for index, line in enumerate(lines)
    )  # fmt: skip
    if connection.features.can_return_rows_from_bulk_insert is False:
        written = lines_of(quote)  # SQLite before 3.35: no ids back from the insert
    quote.total = quote_totals(quote, written).total
    Quote.objects.filter(pk=quote.pk).update(total=quote.total)
    return written


def lines_of(quote: Quote) -> list[QuoteLine]:
    return list(QuoteLine.objects.filter(quote=quote).order_by("position", "id"))


def quote_totals(quote: Quote, lines: Sequence[QuoteLine] | None = None,
                 ticked: Iterable[object] = ()) -> totals.Totals:  # fmt: skip
    return totals.of_quote(quote, lines if lines is not None else lines_of(quote), ticked=ticked)


def content_of(quote: Quote, lines: Sequence[QuoteLine]) -> dict[str, Any]:
    """What a revision shows the customer (and what its hash covers)."""
    result = quote_totals(quote, lines)
    return {
        "revision": quote.revision,
        "title": quote.title,
        "customer": quote.customer.name,
        "currency": quote.currency,
        "prices_include_tax": quote.prices_include_tax,
        "expires_on": quote.expires_on.isoformat() if quote.expires_on else None,
        "customer_notes": quote.customer_notes,
        "deposit": {"kind": quote.deposit_kind, "value": str(quote.deposit_value)},
        "lines": [
            {
                "id": line.pk, "description": line.description, "quantity": str(line.quantity),
                "unit_price": str(line.unit_price), "discount_percent": str(line.discount_percent),
                "tax_name": line.tax_name, "tax_percent": str(line.tax_percent),
                "optional": line.optional, "amount": str(result.amounts[line.pk]),
            }
            for line in lines
        ],
        "total_without_options": str(result.total),
    }  # fmt: skip


def _hash(content: Any) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _new_revision(quote: Quote, at: dt.datetime) -> QuoteRevision:
    content = content_of(quote, lines_of(quote))
    return QuoteRevision.objects.create(
        quote=quote, number=quote.revision, content=content, content_hash=_hash(content),
        created_at=at,
    )  # fmt: skip


def _lock(quote: Quote, expected_version: int | None = None) -> Quote:
    # of=self: the joined workspace and customer rows stay free for other changes.
    locked = (
        Quote.objects.select_for_update(of=("self",))
        .select_related("workspace", "customer")
        .get(pk=quote.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise StaleQuote()
    return locked


def _save(quote: Quote, at: dt.datetime, fields: Iterable[str]) -> None:
    quote.version += 1
    quote.updated_at = at
    quote.save(update_fields=[*fields, "version", "updated_at"])


def local_today(workspace: Workspace) -> dt.date:
    return timezone.localdate(timezone=wall_time.zone(workspace.time_zone))


# ----------------------------------------------------------------------------- writing


def _fields(
    *, workspace: Workspace, title: str, customer: Customer | None, pipeline: Pipeline | None,
    expires_on: dt.date | None, customer_notes: str, internal_notes: str, deposit_kind: str,
    deposit_value: Any,
) -> dict[str, Any]:  # fmt: skip
    title = _text(title, limit=TITLE_MAX, field="title", label="The title")
    if not title:
        raise ValidationError({"title": "Give the quote a title."})
    kind, value = _checked_deposit(deposit_kind, deposit_value)
    if expires_on is not None and expires_on < local_today(workspace):
        raise ValidationError({"expires_on": "The expiry date is in the past."})
    return {
        "title": title,
        "customer": _checked_customer(workspace, customer),
        "pipeline": _checked_pipeline(workspace, pipeline),
        "expires_on": expires_on,
        "customer_notes": _text(customer_notes, limit=NOTES_MAX, field="customer_notes",
                                label="Notes"),
        "internal_notes": _text(internal_notes, limit=NOTES_MAX, field="internal_notes",
                                label="Notes"),
        "deposit_kind": kind,
        "deposit_value": value,
    }  # fmt: skip


@service
def quote_create(
    *,
    workspace: Workspace,
    actor: User,
    title: str,
    lines: Sequence[LineInput],
    customer: Customer | None = None,
    new_customer_name: str = "",
    new_customer_email: str = "",
    pipeline: Pipeline | None = None,
    expires_on: dt.date | None = None,
    customer_notes: str = "",
    internal_notes: str = "",
    deposit_kind: str = DepositKind.NONE,
    deposit_value: Any = 0,
    owner: User | None = None,
    one_time_token: str | None = None,
    at: dt.datetime | None = None,
) -> Quote:
    """A draft quote (no number yet); with ``new_customer_name``, the customer typed inline
    is created in the same transaction."""
    submission = one_time.claim(token=one_time_token, user=actor)
    customer = customer_services.customer_or_new(
        workspace=workspace, actor=actor, customer=customer,
        new_customer_name=new_customer_name, new_customer_email=new_customer_email,
    )  # fmt: skip
    values = _fields(
        workspace=workspace, title=title, customer=customer, pipeline=pipeline,
        expires_on=expires_on, customer_notes=customer_notes, internal_notes=internal_notes,
        deposit_kind=deposit_kind, deposit_value=deposit_value,
    )  # fmt: skip
    checked = _checked_lines(workspace, lines)
    now = at or timezone.now()
    quote = Quote(
        workspace=workspace, owner=owner or actor, created_by=actor, created_at=now,
        updated_at=now, prices_include_tax=workspace.prices_include_tax,
        tax_rounding=workspace.tax_rounding, currency=workspace.currency, **values,
    )  # fmt: skip
    if quote.expires_on is None:
        quote.expires_on = local_today(workspace) + dt.timedelta(days=workspace.quote_valid_days)
    quote.token_hash = tokens.token_hash(tokens.token_for(quote.uid))
    quote.save()
    _write_lines(quote, checked)
    _event(quote, QuoteEventKind.CREATED, actor=actor, at=now)
    one_time.record(submission, quote=quote.pk)
    return quote


@service
def quote_update(
    *,
    quote: Quote,
    actor: User,
    title: str,
    lines: Sequence[LineInput],
    customer: Customer | None,
    pipeline: Pipeline | None = None,
    expires_on: dt.date | None = None,
    customer_notes: str = "",
    internal_notes: str = "",
    deposit_kind: str = DepositKind.NONE,
    deposit_value: Any = 0,
    expected_version: int | None = None,
    at: dt.datetime | None = None,
) -> Quote:
    """A draft's (or a sent quote's) content changed. A sent quote becomes a new revision
    that goes to the customer again; an expired one is reopened by its new expiry date."""
    locked = _lock(quote, expected_version)
    if not locked.is_editable and locked.status != QuoteStatus.EXPIRED:
        raise ValidationError(
            f"This quote is {locked.get_status_display().lower()}; it can no longer be edited."
        )
    workspace = locked.workspace
    values = _fields(
        workspace=workspace, title=title, customer=customer, pipeline=pipeline,
        expires_on=expires_on, customer_notes=customer_notes, internal_notes=internal_notes,
        deposit_kind=deposit_kind, deposit_value=deposit_value,
    )  # fmt: skip
    if locked.status != QuoteStatus.DRAFT and values["customer"].pk != locked.customer_id:
        raise ValidationError({"customer": "A sent quote stays with its customer."})
    checked = _checked_lines(workspace, lines)
    now = at or timezone.now()
    for name, value in values.items():
        setattr(locked, name, value)
    if locked.expires_on is None:
        locked.expires_on = local_today(workspace) + dt.timedelta(days=workspace.quote_valid_days)
    _write_lines(locked, checked)
    fields = [*values, "expires_on"]
    if locked.status == QuoteStatus.DRAFT:
        _save(locked, now, fields)
        _event(locked, QuoteEventKind.CHANGED, actor=actor, at=now)
        return locked
    locked.revision += 1
    locked.status = QuoteStatus.SENT
    locked.sent_at = now
    _save(locked, now, [*fields, "revision", "status", "sent_at"])
    _new_revision(locked, now)
    _event(locked, QuoteEventKind.REVISED, actor=actor, at=now,
           detail=f"Revision {locked.revision}")  # fmt: skip
    hooks.quote_event(locked, "revised")
    return locked


def _next_number(workspace: Workspace) -> int:
    """Locks the workspace's sequence row: concurrent sends queue here; a rolled-back send
    gives its number back, so numbers have no gaps."""
    QuoteNumberSequence.objects.get_or_create(workspace=workspace)
    sequence = QuoteNumberSequence.objects.select_for_update().get(workspace=workspace)
    number = sequence.next_number
    QuoteNumberSequence.objects.filter(pk=sequence.pk).update(next_number=F("next_number") + 1)
    return number


@service
def quote_send(*, quote: Quote, actor: User, at: dt.datetime | None = None) -> Quote:
    """E-mail the customer the quote's link. The first send numbers it (Q-1001…) and makes
    revision 1; sending again re-sends the current revision."""
    locked = _lock(quote)
    if locked.status not in (QuoteStatus.DRAFT, *OPEN_STATUSES):
        raise ValidationError(
            f"This quote is {locked.get_status_display().lower()}; it cannot be sent."
        )
    if not locked.customer.email:
        raise ValidationError({"customer": "The customer has no e-mail address to send it to."})
    if locked.customer.archived_at is not None:
        raise ValidationError({"customer": "This customer is archived; restore them first."})
    workspace = locked.workspace
    if locked.expires_on is not None and locked.expires_on < local_today(workspace):
        raise ValidationError({"expires_on": "The quote has expired; give it a new date first."})
    now = at or timezone.now()
    if locked.status == QuoteStatus.DRAFT:
        locked.number = _next_number(workspace)
        locked.revision = 1
        locked.status = QuoteStatus.SENT
        locked.sent_at = now
        _save(locked, now, ["number", "revision", "status", "sent_at"])
        _new_revision(locked, now)
        _event(locked, QuoteEventKind.SENT, actor=actor, at=now,
               detail=f"to {locked.customer.email}")  # fmt: skip
    else:
        _event(locked, QuoteEventKind.SENT, actor=actor, at=now,
               detail=f"again, to {locked.customer.email}")  # fmt: skip
    hooks.quote_event(locked, "sent")
    return locked


@service
def quote_mark_viewed(*, quote: Quote, at: dt.datetime | None = None) -> Quote:
    """The customer opened the public page: the owner sees when (the first time)."""
    now = at or timezone.now()
    changed = Quote.objects.filter(pk=quote.pk, viewed_at__isnull=True).update(viewed_at=now)
    Quote.objects.filter(pk=quote.pk, status=QuoteStatus.SENT).update(
        status=QuoteStatus.VIEWED, version=F("version") + 1, updated_at=now
    )
    if changed:
        _event(quote, QuoteEventKind.VIEWED, actor=None, at=now, by_customer=True)
    return Quote.objects.get(pk=quote.pk)


def _refuse_decided(locked: Quote, *, revision_seen: int | None, at: dt.datetime) -> None:
    """Why the customer may not decide at ``at``, or nothing."""
    if locked.status in (QuoteStatus.ACCEPTED, QuoteStatus.CONVERTED):
        raise NotAcceptable("This quote has already been accepted.")
    if locked.status == QuoteStatus.DECLINED:
        raise NotAcceptable("This quote was declined; ask for a new one.")
    today = timezone.localdate(at, timezone=wall_time.zone(locked.workspace.time_zone))
    if locked.status == QuoteStatus.EXPIRED or locked.is_expired_on(today):
        raise NotAcceptable("This quote has expired; ask for a new one.")
    if locked.status not in OPEN_STATUSES:
        raise NotAcceptable("This quote is not open for a decision.")
    if revision_seen is not None and revision_seen != locked.revision:
        raise NotAcceptable(
            "This quote was updated after you opened it; read the new version and decide again."
        )


@service
def quote_accept(
    *,
    quote: Quote,
    name: str,
    ip: str | None,
    ticked: Iterable[int] = (),
    revision_seen: int | None = None,
    at: dt.datetime | None = None,
) -> Quote:
    """The customer accepts the revision they saw, with the optional lines they ticked."""
    locked = _lock(quote)
    now = at or timezone.now()
    _refuse_decided(locked, revision_seen=revision_seen, at=now)
    name = _text(name, limit=150, field="name", label="Your name")
    if not name:
        raise ValidationError({"name": "Type your name to accept."})
    lines = lines_of(locked)
    optional_ids = {line.pk for line in lines if line.optional}
    chosen = sorted(set(ticked) & optional_ids)
    result = quote_totals(locked, lines, ticked=chosen)
    revision = QuoteRevision.objects.get(quote=locked, number=locked.revision)
    locked.status = QuoteStatus.ACCEPTED
    locked.decided_at = now
    locked.accepted_name = name
    locked.accepted_ip = ip
    locked.accepted_revision = locked.revision
    locked.accepted_lines = chosen
    locked.accepted_total = result.total
    locked.accepted_hash = _hash(
        {"revision": revision.content_hash, "optional_lines": chosen, "total": str(result.total)}
    )
    _save(locked, now, ["status", "decided_at", "accepted_name", "accepted_ip",
                        "accepted_revision", "accepted_lines", "accepted_total",
                        "accepted_hash"])  # fmt: skip
    _event(locked, QuoteEventKind.ACCEPTED, actor=None, at=now, by_customer=True,
           detail=f"signed “{name}”, revision {locked.revision}")  # fmt: skip
    hooks.quote_event(locked, "accepted")
    if locked.workspace.quotes_auto_convert:
        _auto_convert(locked, at=now)
    return locked


@service
def quote_decline(
    *, quote: Quote, reason: str = "", revision_seen: int | None = None,
    at: dt.datetime | None = None,
) -> Quote:  # fmt: skip
    locked = _lock(quote)
    now = at or timezone.now()
    _refuse_decided(locked, revision_seen=revision_seen, at=now)
    locked.status = QuoteStatus.DECLINED
    locked.decided_at = now
    locked.decline_reason = _text(reason, limit=500, field="reason", label="The reason")
    _save(locked, now, ["status", "decided_at", "decline_reason"])
    _event(locked, QuoteEventKind.DECLINED, actor=None, at=now, by_customer=True,
           detail=locked.decline_reason)  # fmt: skip
    hooks.quote_event(locked, "declined")
    return locked


def quotes_expire(*, now: dt.datetime | None = None) -> int:
    """Open quotes past their expiry date (in each workspace's own today) become expired."""
    now = now or timezone.now()
    expired = 0
    # A day ahead of UTC covers every time zone; each quote is checked in its own below.
    # Earliest expiry first: quotes still on their last local day (west of UTC) come last
    # and cannot keep the expired ones out of a run.
    candidates = (
        Quote.objects.filter(
            status__in=OPEN_STATUSES, expires_on__lt=(now + dt.timedelta(days=1)).date()
        )
        .select_related("workspace")
        .order_by("expires_on", "pk")[:1000]
    )
    for quote in candidates:
        today = timezone.localdate(now, timezone=wall_time.zone(quote.workspace.time_zone))
        if not quote.is_expired_on(today):
            continue
        changed = Quote.objects.filter(pk=quote.pk, status__in=OPEN_STATUSES).update(
            status=QuoteStatus.EXPIRED, version=F("version") + 1, updated_at=now
        )
        if changed:
            _event(quote, QuoteEventKind.EXPIRED, actor=None, at=now)
            expired += 1
    return expired


# ----------------------------------------------------------------------------- converting


@dataclass(frozen=True)
class FirstVisit:
    starts_at: dt.datetime
    minutes: int
    staff: Sequence[Membership]
    book_anyway: bool = False


def _convert(
    locked: Quote,
    *,
    actor: User | None,
    pipeline: Pipeline,
    stage: Stage | None,
    owner: User | None,
    visit: FirstVisit | None,
    at: dt.datetime,
) -> Job:
    workspace = locked.workspace
    if pipeline.workspace_id != workspace.pk or pipeline.archived_at:
        raise ValidationError({"pipeline": "Choose one of this workspace's pipelines."})
    if stage is not None and (stage.pipeline_id != pipeline.pk or stage.deleted_at):
        raise ValidationError({"stage": f"Choose a stage of {pipeline.name}."})
    # Worth what the customer accepted (recorded then), or the quoted total if not accepted.
    value = locked.accepted_total if locked.accepted_total is not None else locked.total
    deposit = totals.deposit_of(value, kind=locked.deposit_kind, value=locked.deposit_value,
                                currency=locked.currency)  # fmt: skip
    creator = actor or owner or locked.owner
    job = job_services.job_create.step(
        workspace=workspace, pipeline=pipeline, title=locked.title, actor=creator,
        owner=owner, customer=locked.customer, stage=stage, at=at,
    )  # fmt: skip
    locked_job = job_lock(job=job, expected_version=None)
    locked_job.value = value
    locked_job.deposit_due = deposit or None
    log(job=locked_job, payload=activity.QuoteConverted(quote_id=locked.pk,
        reference=locked.reference, title=locked.title,
        accepted=locked.status == QuoteStatus.ACCEPTED), actor=actor, at=at)  # fmt: skip
    job_touch(locked_job, at=at, fields=["value", "deposit_due"])
    if visit is not None:
        booking_services.booking_create.step(
            workspace=workspace, actor=actor, title=locked.title, starts_at=visit.starts_at,
            ends_at=visit.starts_at + dt.timedelta(minutes=visit.minutes), staff=visit.staff,
            job=locked_job, book_anyway=visit.book_anyway, at=at,
        )  # fmt: skip
    locked.job = locked_job
    locked.status = QuoteStatus.CONVERTED
    locked.converted_at = at
    _save(locked, at, ["job", "status", "converted_at"])
    _event(locked, QuoteEventKind.CONVERTED, actor=actor, at=at, detail=locked_job.reference)
    hooks.quote_event(locked, "converted")
    return locked_job


@service
def quote_convert(
    *,
    quote: Quote,
    actor: User,
    pipeline: Pipeline,
    stage: Stage | None = None,
    owner: User | None = None,
    visit: FirstVisit | None = None,
    without_acceptance: bool = False,
    one_time_token: str | None = None,
    at: dt.datetime | None = None,
) -> Job:
    """The job (title, customer, the accepted lines' total as its value, the deposit due),
    its first visit if given, and the links both ways: all in this one transaction. A second
    click, tab or request raises AlreadyConverted with the job the first one made. A quote
    still waiting for the customer converts only ``without_acceptance`` (an Admin's or
    Manager's explicit decision: the quote pages are theirs)."""
    submission = one_time.claim(token=one_time_token, user=actor)
    locked = _lock(quote)
    if locked.job_id is not None:
        raise AlreadyConverted(Job.objects.get(pk=locked.job_id))
    waiting = locked.status in OPEN_STATUSES
    if waiting and not without_acceptance:
        raise ValidationError(
            {"without_acceptance": "The customer has not accepted yet: tick to convert anyway."}
        )
    if locked.status != QuoteStatus.ACCEPTED and not waiting:
        raise ValidationError(f"{a_status(locked)} quote cannot be converted.")
    job = _convert(locked, actor=actor, pipeline=pipeline, stage=stage, owner=owner,
                   visit=visit, at=at or timezone.now())  # fmt: skip
    one_time.record(submission, job=job.number)
    return job


def _auto_convert(locked: Quote, *, at: dt.datetime) -> Job | None:
    """The workspace's "accepted quotes become jobs by themselves": into the first stage of
    the quote's pipeline (or the workspace's first active one), without a visit."""
    pipeline = locked.pipeline
    if pipeline is None or pipeline.archived_at:
        pipeline = (
            Pipeline.objects.filter(workspace=locked.workspace, archived_at__isnull=True)
            .order_by("name", "pk")
            .first()
        )
    if pipeline is None:
        return None
    owner = locked.owner
    if (
        owner is not None
        and not Membership.objects.active().filter(workspace=locked.workspace, user=owner).exists()
    ):
        owner = None  # the owner left: the job starts without one
    try:
        # A savepoint: a conversion that cannot be made never undoes the acceptance.
        with transaction.atomic():
            return _convert(locked, actor=None, pipeline=pipeline, stage=None,
                            owner=owner, visit=None, at=at)  # fmt: skip
    except (ValidationError, AlreadyConverted):
        logger.warning("Quote %s accepted but not converted by itself", locked.pk, exc_info=True)
        locked.refresh_from_db()  # what the rolled-back conversion changed in memory
        return None


# ----------------------------------------------------------------------------- followers


@service
def quote_follow(*, quote: Quote, user: User) -> None:
    """Follow a quote: hear (bell and e-mail) when its customer accepts or declines it, as
    its owner does."""
    QuoteFollower.objects.get_or_create(quote=quote, user=user)


@service
def quote_unfollow(*, quote: Quote, user: User) -> None:
    QuoteFollower.objects.filter(quote=quote, user=user).delete()


# ----------------------------------------------------------------------------- tax rates


@service
def tax_rate_add(*, workspace: Workspace, actor: User, name: str, percent: Any) -> TaxRate:
    name = _text(name, limit=60, field="name", label="The name")
    if not name:
        raise ValidationError({"name": "Name the tax rate (VAT, GST, zero-rated…)."})
    rate = _decimal(percent, field="percent", label="The rate")
    if not 0 <= rate <= 100:
        raise ValidationError({"percent": "A tax rate is between 0 and 100 %."})
    if rate != rate.quantize(Decimal("0.0001")):
        raise ValidationError({"percent": "Give the rate with at most 4 decimal places."})
    tax_rate = TaxRate.objects.create(workspace=workspace, name=name, percent=rate)
    audit_record(workspace=workspace, actor=actor, action="quote.tax_rate_added",
          target=str(tax_rate), new=f"{rate.normalize():f} %")  # fmt: skip
    return tax_rate


@service
def tax_rate_archive(*, tax_rate: TaxRate, actor: User) -> TaxRate:
    if tax_rate.archived_at is None:
        tax_rate.archived_at = timezone.now()
        tax_rate.save(update_fields=["archived_at"])
        audit_record(
            workspace=tax_rate.workspace, actor=actor, action="quote.tax_rate_archived",
            target=str(tax_rate), old="in use", new="removed",
        )  # fmt: skip
    return tax_rate
