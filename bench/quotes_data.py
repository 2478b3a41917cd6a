"""The quotes of Bench Co (issue 11): its Quotes module on, one tax rate (VAT 20 %), and
``bench.QUOTE_COUNT`` (50,000) quotes written in bulk, in a transaction of their own, after the
bookings (bench/generate.py calls ``generate`` at the end of a full generation; ``python -m
bench`` calls it alone when the 100k jobs are there and the quotes are not). Import only after
``django.setup()``.

- **Spread** over the workspace's 2,000 customers (so the 8 *Trevithick* customers have ~200
  of them), created at random over the last year, each written by and for one of the members
  who see money (the Admin and the four Managers), half of them with a pipeline.
- **Lines**: 1–5 each, the first never optional, later ones optional now and then (15 %);
  most at VAT 20 % (90 %), the rest without tax; a discount on some. ``Quote.total`` is what
  ``jobline.quotes.totals.compute`` (the one rule) makes of them, without the optional lines,
  with the workspace's currency, tax-inclusive setting and rounding (each kept on the quote),
  as the services store it.
- **Statuses**, as the services leave them. A quote still within its validity (expires on
  its creation's date + ``quote_valid_days`` or later) is a draft (20 %), sent (25 %), viewed
  (20 %), accepted (25 %) or declined (10 %); an older one a draft (8 %), accepted (40 %),
  declined (22 %) or expired (30 %). None is converted: a converted quote has its job, and the
  bench's jobs are not quotes' (those would-be conversions stay accepted). Drafts have no
  number and revision 0; every other quote was sent: numbered from ``bench.QUOTE_FIRST_NUMBER``
  (1001) in the order they were created, gapless, ``QuoteNumberSequence`` at the next one,
  revision 1 with its ``QuoteRevision`` (``services.content_of`` and its hash). Accepted and
  declined ones were viewed first, then decided within days (accepted: the customer's name,
  an address, some optional lines ticked, the accepted total and hash as ``quote_accept``
  writes them); expired ones ran out on their date (half of them viewed first). Each has its
  history (``QuoteEvent``: created, sent, viewed, accepted / declined / expired) and the
  ``version`` those changes gave it.
- ``uid`` is seeded (unique), ``token_hash`` is ``tokens.token_hash(tokens.token_for(uid))``
  with this server's secret key, as ``quote_create`` sets it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import random
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

import bench
from jobline.accounts.models import User
from jobline.core import wall_time
from jobline.customers.models import Customer
from jobline.jobs.demo import TITLES
from jobline.pipelines.models import Pipeline
from jobline.quotes import services, tokens, totals
from jobline.quotes.models import (
    DepositKind,
    Quote,
    QuoteEvent,
    QuoteEventKind,
    QuoteLine,
    QuoteNumberSequence,
    QuoteRevision,
    QuoteStatus,
    TaxRate,
)
from jobline.workspaces.models import Membership, Role, Workspace
from jobline.workspaces.services import workspace_update_settings

SEED = 20_261_212
VAT_NAME = "VAT"
VAT_PERCENT = Decimal(20)
# Statuses (weights) of a quote still within its validity, and of an older one.
CURRENT_MIX = (
    (QuoteStatus.DRAFT, 20), (QuoteStatus.SENT, 25), (QuoteStatus.VIEWED, 20),
    (QuoteStatus.ACCEPTED, 25), (QuoteStatus.DECLINED, 10),
)  # fmt: skip
OLDER_MIX = (
    (QuoteStatus.DRAFT, 8), (QuoteStatus.ACCEPTED, 40), (QuoteStatus.DECLINED, 22),
    (QuoteStatus.EXPIRED, 30),
)  # fmt: skip
SENT = {QuoteStatus.SENT, QuoteStatus.VIEWED, QuoteStatus.ACCEPTED, QuoteStatus.DECLINED,
        QuoteStatus.EXPIRED}  # fmt: skip
VIEWED_FIRST = {QuoteStatus.VIEWED, QuoteStatus.ACCEPTED, QuoteStatus.DECLINED}

# (description, lowest and highest unit price in pounds, quantities)
ITEMS = (
    ("Labour (hours)", 35, 75, (1, 2, 3, 4, 6, 8)),
    ("Labour (days)", 220, 380, (1, 2, 3, 5)),
    ("Call-out charge", 45, 95, (1,)),
    ("Materials", 20, 900, (1,)),
    ("Parts, supplied and fitted", 15, 450, (1, 2, 4)),
    ("Tiling (m²)", 40, 85, (6, 12, 18, 24)),
    ("Decorating (m²)", 8, 22, (20, 40, 60)),
    ("Waste removal and disposal", 90, 320, (1,)),
    ("Scaffold hire (weeks)", 250, 600, (1, 2, 3)),
    ("Annual service", 80, 160, (1,)),
    ("Safety certificate", 55, 95, (1,)),
    ("Extended guarantee (5 years)", 120, 400, (1,)),
    ("Out-of-hours supplement", 60, 180, (1, 2)),
    ("Survey and report", 150, 600, (1,)),
)  # fmt: skip
QUOTE_TITLES = tuple(dict.fromkeys(title for group in TITLES.values() for title in group))
CUSTOMER_NOTES = ("", "", "", "Prices hold for 30 days.", "Includes disposal.",
                  "Work can start within two weeks of acceptance.")  # fmt: skip
INTERNAL_NOTES = ("", "", "Margin about 28 %.", "Check the supplier's price list.",
                  "Customer asked for two options.")  # fmt: skip
DECLINE_REASONS = ("", "Going with a cheaper quote, sorry.", "Postponed until next year.",
                   "Too expensive for us right now.")  # fmt: skip

QUOTE_COLUMNS = (
    "id", "workspace_id", "number", "customer_id", "title", "pipeline_id", "owner_id",
    "expires_on", "customer_notes", "internal_notes", "deposit_kind", "deposit_value",
    "prices_include_tax", "tax_rounding", "currency", "status", "revision", "uid", "token_hash",
    "sent_at", "viewed_at", "decided_at", "decline_reason", "accepted_name", "accepted_ip",
    "accepted_revision", "accepted_hash", "accepted_lines", "accepted_total", "total", "job_id",
    "converted_at", "version", "created_by_id", "created_at", "updated_at",
)  # fmt: skip
LINE_COLUMNS = (
    "id", "quote_id", "position", "description", "quantity", "unit_price", "discount_percent",
    "tax_rate_id", "tax_percent", "tax_name", "optional",
)  # fmt: skip
REVISION_COLUMNS = ("id", "quote_id", "number", "content", "content_hash", "created_at")
EVENT_COLUMNS = ("id", "quote_id", "kind", "actor_id", "by_customer", "detail", "created_at")


def check_columns() -> None:
    from bench.generate import check_columns as check

    check(Quote, QUOTE_COLUMNS)
    check(QuoteLine, LINE_COLUMNS)
    check(QuoteRevision, REVISION_COLUMNS)
    check(QuoteEvent, EVENT_COLUMNS)


@functools.cache
def _exponent(model: type[Any], name: str) -> Decimal:
    return Decimal(1).scaleb(-model._meta.get_field(name).decimal_places)


def stored(model: type[Any], name: str, value: Decimal) -> Decimal:
    """The value as the database gives it back (its field's decimal places: 1 → 1.000): what
    the services compute a revision's content from, since they read the lines again."""
    return value.quantize(_exponent(model, name))


def content_hash(content: Any) -> str:
    """As the services hash a revision's content and an acceptance (services._hash)."""
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


# ----------------------------------------------------------------------------- status


def status(workspace: Workspace) -> dict[str, Any]:
    """What of the quotes is there (bench/generate.py's workspace_status adds it)."""
    quotes = Quote.objects.filter(workspace=workspace)
    count = quotes.count()
    if not count:
        return {"quotes": 0, "module_quotes": workspace.module_quotes}
    sequence = QuoteNumberSequence.objects.filter(workspace=workspace).first()
    return {
        "quotes": count,
        "module_quotes": workspace.module_quotes,
        "numbered_quotes": quotes.filter(number__isnull=False).count(),
        "next_quote_number": sequence.next_number if sequence else None,
    }


def is_complete(status: dict[str, Any]) -> bool:
    return (
        status.get("quotes", 0) == bench.QUOTE_COUNT
        and status["module_quotes"]
        and status["next_quote_number"] == bench.QUOTE_FIRST_NUMBER + status["numbered_quotes"]
    )


def describe(status: dict[str, Any]) -> str:
    if not status.get("quotes"):
        return "no quotes"
    last = (status["next_quote_number"] or bench.QUOTE_FIRST_NUMBER) - 1
    return (
        f"{status['quotes']:,} quotes ({status['numbered_quotes']:,} sent, "
        f"Q-{bench.QUOTE_FIRST_NUMBER}…Q-{last})"
    )


# ----------------------------------------------------------------------------- rows


class QuoteRows:
    """Quotes in the order they were created, with their lines, revision and history."""

    def __init__(
        self,
        *,
        writer: Any,
        workspace: Workspace,
        writers: list[User],
        customers: list[Customer],
        pipelines: list[int],
        vat: TaxRate,
        now: dt.datetime,
        rng: random.Random,
    ) -> None:
        self.writer = writer
        self.workspace = workspace
        self.writers = writers
        self.customers = customers
        self.pipelines = pipelines
        self.vat = vat
        self.now = now
        self.rng = rng
        self.today = wall_time.local(now, workspace.time_zone).date()
        self.number = bench.QUOTE_FIRST_NUMBER
        self.quote_id = (Quote.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        self.line_id = (QuoteLine.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        self.revision_id = (QuoteRevision.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        self.event_id = (QuoteEvent.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        self.quotes: list[tuple] = []
        self.lines: list[tuple] = []
        self.revisions: list[tuple] = []
        self.events: list[tuple] = []
        self.statuses: dict[str, int] = {}

    def flush(self) -> None:
        # Quotes first: on SQLite the foreign keys are checked row by row.
        self.writer.write(Quote, QUOTE_COLUMNS, self.quotes)
        self.writer.write(QuoteLine, LINE_COLUMNS, self.lines)
        self.writer.write(QuoteRevision, REVISION_COLUMNS, self.revisions)
        self.writer.write(QuoteEvent, EVENT_COLUMNS, self.events)
        self.quotes, self.lines, self.revisions, self.events = [], [], [], []

    def _after(self, start: dt.datetime, most: dt.timedelta) -> dt.datetime:
        """A moment up to ``most`` after ``start``, never after now."""
        room = min(most, self.now - start)
        return start + room * self.rng.uniform(0.05, 1.0)

    def _status(self, expires_on: dt.date) -> str:
        mix = CURRENT_MIX if expires_on >= self.today else OLDER_MIX
        (status,) = self.rng.choices([s for s, _w in mix], weights=[w for _s, w in mix])
        return status

    def _lines(self) -> list[QuoteLine]:
        rng = self.rng
        lines = []
        for position in range(rng.randint(1, 5)):
            description, low, high, quantities = rng.choice(ITEMS)
            taxed = rng.random() < 0.9
            values = {
                "quantity": Decimal(rng.choice(quantities)),
                "unit_price": Decimal(rng.randrange(low * 100, high * 100)).scaleb(-2),
                "discount_percent": Decimal(rng.choice((0, 0, 0, 0, 0, 5, 10, 15))),
                "tax_percent": self.vat.percent if taxed else Decimal(0),
            }
            lines.append(
                QuoteLine(
                    id=self.line_id + position,
                    position=position,
                    description=description,
                    tax_rate_id=self.vat.pk if taxed else None,
                    tax_name=self.vat.name if taxed else "",
                    optional=position > 0 and rng.random() < 0.15,
                    **{k: stored(QuoteLine, k, v) for k, v in values.items()},
                )
            )
        self.line_id += len(lines)
        return lines

    def _totals(self, quote: Quote, lines: list[QuoteLine], ticked: list[int]) -> totals.Totals:
        return totals.compute(
            totals.lines_of(lines),
            currency=quote.currency,
            prices_include_tax=quote.prices_include_tax,
            rounding=quote.tax_rounding,
            ticked=ticked,
            deposit_kind=quote.deposit_kind,
            deposit_value=quote.deposit_value,
        )

    def _event(
        self, quote_id: int, kind: str, at: dt.datetime, *, actor: int | None = None,
        by_customer: bool = False, detail: str = "",
    ) -> None:  # fmt: skip
        self.events.append(
            (self.event_id, quote_id, kind, actor, by_customer, detail[:500], self.writer.ts(at))
        )
        self.event_id += 1

    def add(self, created: dt.datetime) -> None:
        rng, w, workspace = self.rng, self.writer, self.workspace
        quote_id = self.quote_id
        self.quote_id += 1
        customer = rng.choice(self.customers)
        author = rng.choice(self.writers)
        expires_on = wall_time.local(created, workspace.time_zone).date() + dt.timedelta(
            days=workspace.quote_valid_days
        )
        status = self._status(expires_on)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        (deposit_kind,) = rng.choices(
            [DepositKind.NONE, DepositKind.PERCENT, DepositKind.FIXED], weights=[70, 20, 10]
        )
        deposit_value = {
            DepositKind.NONE: Decimal(0),
            DepositKind.PERCENT: Decimal(rng.choice((25, 30, 50))),
            DepositKind.FIXED: Decimal(rng.choice((100, 250, 500))),
        }[deposit_kind]
        uid = uuid.UUID(int=rng.getrandbits(128), version=4)
        sent = status in SENT
        quote = Quote(
            id=quote_id, workspace=workspace, customer=customer, title=rng.choice(QUOTE_TITLES),
            pipeline_id=rng.choice(self.pipelines) if rng.random() < 0.5 else None,
            owner_id=author.pk, expires_on=expires_on,
            customer_notes=rng.choice(CUSTOMER_NOTES), internal_notes=rng.choice(INTERNAL_NOTES),
            deposit_kind=deposit_kind, deposit_value=stored(Quote, "deposit_value", deposit_value),
            prices_include_tax=workspace.prices_include_tax,
            tax_rounding=workspace.tax_rounding, currency=workspace.currency, status=status,
            revision=1 if sent else 0, uid=uid,
            token_hash=tokens.token_hash(tokens.token_for(uid)),
            number=None, version=1, created_by_id=author.pk, created_at=created,
            updated_at=created,
        )  # fmt: skip
        lines = self._lines()
        quote.total = self._totals(quote, lines, []).total
        self._event(quote_id, QuoteEventKind.CREATED, created, actor=author.pk)
        changed = created
        if sent:
            quote.number = self.number
            self.number += 1
            quote.sent_at = changed = self._after(created, dt.timedelta(days=2))
            quote.version += 1
            content = services.content_of(quote, lines)
            revision_hash = content_hash(content)
            self.revisions.append(
                (self.revision_id, quote_id, 1, json.dumps(content), revision_hash,
                 w.ts(quote.sent_at))
            )  # fmt: skip
            self.revision_id += 1
            self._event(quote_id, QuoteEventKind.SENT, changed, actor=author.pk,
                        detail=f"To {customer.email}")  # fmt: skip
            viewed = status in VIEWED_FIRST or (
                status == QuoteStatus.EXPIRED and rng.random() < 0.5
            )
            if viewed:
                quote.viewed_at = changed = self._after(changed, dt.timedelta(days=5))
                quote.version += 1
                self._event(quote_id, QuoteEventKind.VIEWED, changed, by_customer=True)
            if status == QuoteStatus.ACCEPTED:
                quote.decided_at = changed = self._after(changed, dt.timedelta(days=10))
                optional = [line.pk for line in lines if line.optional]
                chosen = sorted(pk for pk in optional if rng.random() < 0.5)
                accepted = self._totals(quote, lines, chosen).total
                quote.accepted_name = customer.name
                quote.accepted_ip = f"203.0.113.{rng.randrange(1, 255)}"
                quote.accepted_revision = 1
                quote.accepted_lines = chosen
                quote.accepted_total = accepted
                quote.accepted_hash = content_hash(
                    {"revision": revision_hash, "optional_lines": chosen, "total": str(accepted)}
                )
                quote.version += 1
                self._event(quote_id, QuoteEventKind.ACCEPTED, changed, by_customer=True,
                            detail=f"signed “{customer.name}”, revision 1")  # fmt: skip
            elif status == QuoteStatus.DECLINED:
                quote.decided_at = changed = self._after(changed, dt.timedelta(days=10))
                quote.decline_reason = rng.choice(DECLINE_REASONS)
                quote.version += 1
                self._event(quote_id, QuoteEventKind.DECLINED, changed, by_customer=True,
                            detail=quote.decline_reason)  # fmt: skip
            elif status == QuoteStatus.EXPIRED:
                # The expiry run, early on the morning after its last valid day.
                ran = wall_time.instant_on(
                    expires_on + dt.timedelta(days=1), dt.time(2, 0), workspace.time_zone
                )
                changed = max(changed, min(ran, self.now))
                quote.version += 1
                self._event(quote_id, QuoteEventKind.EXPIRED, changed)
        quote.updated_at = changed
        self.quotes.append(self._row(quote))
        for line in lines:
            self.lines.append(
                (line.pk, quote_id, line.position, line.description, w.decimal(line.quantity),
                 w.decimal(line.unit_price), w.decimal(line.discount_percent), line.tax_rate_id,
                 w.decimal(line.tax_percent), line.tax_name, line.optional)
            )  # fmt: skip

    def _row(self, q: Quote) -> tuple:
        w = self.writer
        return (
            q.pk, q.workspace_id, q.number, q.customer_id, q.title, q.pipeline_id, q.owner_id,
            w.date(q.expires_on), q.customer_notes, q.internal_notes, q.deposit_kind,
            w.decimal(q.deposit_value), q.prices_include_tax, q.tax_rounding, q.currency,
            q.status, q.revision, w.uuid(q.uid), q.token_hash, w.ts(q.sent_at),
            w.ts(q.viewed_at), w.ts(q.decided_at), q.decline_reason, q.accepted_name,
            q.accepted_ip, q.accepted_revision, q.accepted_hash, json.dumps(q.accepted_lines),
            w.decimal(q.accepted_total), w.decimal(q.total), None, None, q.version,
            q.created_by_id, w.ts(q.created_at), w.ts(q.updated_at),
        )  # fmt: skip


# ----------------------------------------------------------------------------- main


def _finish(say: Callable[[str], None]) -> None:
    models = [Quote, QuoteLine, QuoteRevision, QuoteEvent]
    tables = [m._meta.db_table for m in models]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)
            say("VACUUM ANALYZE of the quotes tables")
            for table in tables:
                cursor.execute(f'VACUUM ANALYZE "{table}"')
        else:
            say("ANALYZE of the quotes tables")
            for table in tables:
                cursor.execute(f'ANALYZE "{table}"')
            cursor.execute("PRAGMA optimize")


def _tax_rate(workspace: Workspace, actor: User) -> TaxRate:
    vat = TaxRate.objects.filter(
        workspace=workspace, name=VAT_NAME, percent=VAT_PERCENT, archived_at__isnull=True
    ).first()
    if vat is None:
        vat = services.tax_rate_add.step(
            workspace=workspace, actor=actor, name=VAT_NAME, percent=VAT_PERCENT
        )
    return vat


def generate(*, say: Callable[[str], None] | None = None, chunk: int = 5_000) -> float:
    """The quotes of the existing Bench Co workspace (its customers and members already
    written); returns the seconds it took. Refuses when the workspace already has quotes."""
    from bench.generate import RowWriter, _progress

    check_columns()
    say = say or _progress(f"{connection.vendor} quotes")
    started = time.perf_counter()
    rng = random.Random(SEED)
    workspace = Workspace.objects.get(name=bench.WORKSPACE_NAME)
    admin = Membership.objects.select_related("user").get(
        workspace=workspace, user__email=bench.ADMIN_EMAIL
    )
    writers = [
        m.user
        for m in Membership.objects.filter(workspace=workspace, role__in=[Role.ADMIN, Role.MANAGER])
        .select_related("user")
        .order_by("pk")
    ]
    customers = list(
        Customer.objects.filter(workspace=workspace, archived_at__isnull=True)
        .only("pk", "name", "email")
        .order_by("pk")
    )
    pipelines = list(
        Pipeline.objects.filter(workspace=workspace, archived_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    now = timezone.now()
    # Created over the last year, written in that order (ids and numbers follow it).
    year = 365 * 86_400
    created = sorted(
        now - dt.timedelta(seconds=rng.uniform(600, year)) for _ in range(bench.QUOTE_COUNT)
    )
    writer = RowWriter()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = OFF")
    with transaction.atomic():
        # Locks the workspace's row (PostgreSQL; on SQLite its write takes the database's
        # lock): a second bench started meanwhile waits here, then finds the quotes.
        workspace_update_settings.step(
            workspace=workspace, actor=admin.user, changes={"module_quotes": True}
        )
        if Quote.objects.filter(workspace=workspace).exists():
            raise SystemExit(f"bench: {workspace} already has quotes; run with BENCH_RESET=1")
        workspace.refresh_from_db()
        rows = QuoteRows(
            writer=writer,
            workspace=workspace,
            writers=writers,
            customers=customers,
            pipelines=pipelines,
            vat=_tax_rate(workspace, admin.user),
            now=now,
            rng=rng,
        )
        for index, moment in enumerate(created):
            rows.add(moment)
            if (index + 1) % chunk == 0:
                rows.flush()
                if (index + 1) % (chunk * 4) == 0:
                    say(f"{index + 1:,} quotes, {writer.rows_written:,} rows")
        rows.flush()
        QuoteNumberSequence.objects.update_or_create(
            workspace=workspace, defaults={"next_number": rows.number}
        )
        mix = ", ".join(f"{n:,} {s}" for s, n in sorted(rows.statuses.items()))
        say(f"{len(created):,} quotes ({mix}), {writer.rows_written:,} rows; committing")
    _finish(say)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = FULL")
    elapsed = time.perf_counter() - started
    say(f"done in {elapsed:.0f}s")
    return elapsed
