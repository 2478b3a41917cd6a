"""The demo workspace's staged money: every job gets a value over the schedule its pipeline's
template gave it (trades: 30 % on entering Deposit, 40 % on entering Install, the balance on
entering Final payment), and the renovation jobs' money is brought along, with instalments in
every state — paid in full, part-paid, requested and overdue, void, still
scheduled — all made through the services, dated back as the jobs' histories are."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.utils import timezone

from jobline.accounts.models import User
from jobline.billing import services
from jobline.billing.models import Instalment, Invoice, PaymentMethod
from jobline.billing.services import InstalmentInput
from jobline.jobs.models import Job
from jobline.workspaces.models import Workspace

D = Decimal

# Job title → (value, how far its money has come).
RENOVATION_MONEY = {
    "Bathroom renovation": (D("14850.00"), "all paid"),
    "Kitchen refit": (D("22400.00"), "all paid"),
    "Loft conversion stairs": (D("6200.00"), "deposit void"),
    "Ensuite tiling": (D("5380.00"), "install part-paid"),
    "Garden room electrics": (D("3975.50"), "deposit requested"),
    "Utility room units": (D("4120.00"), "balance requested"),
    "Downstairs WC": (D("7300.00"), "deposit paid"),
    "Sash window repair": (D("2650.00"), "install requested"),
    "Skirting and architraves": (D("1840.00"), "deposit requested"),
    "Patio doors": (D("5600.00"), "deposit paid"),
    "Porch rebuild": (D("8900.00"), "deposit overdue"),
    # The demo customer's: a deposit paid and the install's invoice open.
    "Kitchen extension": (D("18500.00"), "install requested"),
}
# The demo customer's legal matter: its money on account paid.
FIRST_PAID = {"Purchase of 14 Quay Street — contract review": D("3600.00")}
TAX_NUMBER = "GB 284 1937 55"
HOW_TO_PAY = (
    "Bank transfer to Harbour Renovations & Repairs Ltd\nSort code 40-11-62 · Account 31926819"
)


# Every other demo job is worth this much, by pipeline (varied a little by its number).
TYPICAL_VALUE = {
    "Beauty treatment package": D("420.00"),
    "Legal matter": D("2400.00"),
    "Device repair": D("129.00"),
    "Standard service": D("950.00"),
}


def _rows_of(job: Job) -> list[InstalmentInput]:
    """The job's schedule as it is (its pipeline's default, copied when it was made)."""
    return [
        InstalmentInput.kept(i)
        for i in Instalment.objects.filter(job=job).select_related("trigger_stage")
    ]


def add_demo_schedules(*, workspace: Workspace, staff: Sequence[User]) -> int:
    """Give every demo job its value over the schedule its pipeline gave it, and bring the
    renovation jobs' money along — unless the workspace has issued invoices already."""
    if Invoice.objects.filter(workspace=workspace).exists():
        return 0
    owner, manager = staff[0], staff[1]
    if not workspace.tax_number and not workspace.payment_instructions:
        workspace.tax_number, workspace.payment_instructions = TAX_NUMBER, HOW_TO_PAY
        workspace.save(update_fields=["tax_number", "payment_instructions"])
    now = timezone.now()
    done = 0
    jobs = Job.objects.filter(workspace=workspace, value__isnull=True).select_related(
        "pipeline", "workspace"
    )
    for job in jobs.order_by("number"):
        rows = _rows_of(job)
        if not rows:
            continue
        value, state = RENOVATION_MONEY.get(job.title, (FIRST_PAID.get(job.title), "scheduled"))
        if value is None:
            typical = TYPICAL_VALUE.get(job.pipeline.name, D("500.00"))
            value = typical + D(job.number % 7) * (typical / 10).quantize(D(1))
        begun = max(job.created_at, now - dt.timedelta(days=60))
        saved = services.schedule_save.step(
            job=job, value=value, rows=rows, actor=manager, expected_version=None, at=begun
        )
        if job.pipeline.name == "Trades renovation" and len(saved) == 3:
            _bring_to(state, *saved, owner=owner, now=now, begun=begun)
        elif job.title in FIRST_PAID:
            _first_paid(saved[0], owner=owner, now=now)
        done += 1
    return done


def _bring_to(
    state: str, deposit: Instalment, install: Instalment, balance: Instalment, *, owner: User,
    now: dt.datetime, begun: dt.datetime,
) -> None:  # fmt: skip
    last = [begun]

    def when(days_ago: int) -> dt.datetime:
        """That many days ago, but after the job's schedule and its last step (a young job's
        money moves faster than the table says)."""
        at = min(max(now - dt.timedelta(days=days_ago), last[0] + dt.timedelta(hours=2)), now)
        last[0] = at
        return at

    def ask(instalment: Instalment, days_ago: int) -> None:
        services.instalment_request.step(instalment=instalment, actor=owner, at=when(days_ago))

    def pay(instalment: Instalment, days_ago: int, amount: Decimal | None = None) -> None:
        at = when(days_ago)
        held = Instalment.objects.get(pk=instalment.pk)
        services.payment_record.step(
            instalment=held, amount=amount or held.amount - held.paid,
            paid_on=services.local_today(held.workspace, at),
            method=PaymentMethod.BANK_TRANSFER, reference=f"HR-{held.job.number}-{held.position}",
            actor=owner, at=at,
        )  # fmt: skip

    if state == "all paid":
        for index, instalment in enumerate((deposit, install, balance)):
            ask(instalment, 50 - index * 15)
            pay(instalment, 45 - index * 15)
    elif state == "deposit void":
        ask(deposit, 30)
        services.instalment_void.step(
            instalment=deposit, actor=owner, at=when(20),
            reason="The customer cancelled before work began; nothing was paid.",
        )  # fmt: skip
    elif state == "install part-paid":
        ask(deposit, 40)
        pay(deposit, 36)
        ask(install, 12)
        pay(install, 5, D("1000.00"))
    elif state == "deposit overdue":
        ask(deposit, 21)
    elif state == "balance requested":
        ask(deposit, 45)
        pay(deposit, 40)
        ask(install, 25)
        pay(install, 20)
        ask(balance, 2)
    elif state == "deposit paid":
        ask(deposit, 14)
        pay(deposit, 10)
    elif state == "install requested":
        ask(deposit, 30)
        pay(deposit, 26)
        ask(install, 4)
    elif state == "deposit requested":
        ask(deposit, 3)


def _first_paid(instalment: Instalment, *, owner: User, now: dt.datetime) -> None:
    asked = now - dt.timedelta(days=9)
    services.instalment_request.step(instalment=instalment, actor=owner, at=asked)
    held = Instalment.objects.get(pk=instalment.pk)
    paid = now - dt.timedelta(days=6)
    services.payment_record.step(
        instalment=held, amount=held.amount, paid_on=services.local_today(held.workspace, paid),
        method=PaymentMethod.CARD, reference="Card on the phone", actor=owner, at=paid,
    )  # fmt: skip
