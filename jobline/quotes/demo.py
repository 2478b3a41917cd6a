"""The demo workspace's quotes: one in every status, one accepted and ready to convert, one
waiting in the demo customer's portal, a tax rate or two to write them with, and a repair
converted from its quote whose revision waits for the customer's approval."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.utils import timezone

from jobline.accounts.models import User
from jobline.approvals.hooks import documents_of
from jobline.approvals.models import Approval, ApprovalStatus
from jobline.approvals.services import approval_edit
from jobline.customers.models import Customer
from jobline.jobs.models import Job
from jobline.jobs.services import job_move
from jobline.pipelines.models import Pipeline
from jobline.quotes import services
from jobline.quotes.models import Quote, TaxRate
from jobline.quotes.services import LineInput
from jobline.workspaces.models import Membership, Workspace
from jobline.workspaces.viewers import member_viewer

D = Decimal


def _rates(workspace: Workspace, actor: User) -> tuple[TaxRate, TaxRate]:
    vat = TaxRate.objects.filter(workspace=workspace, name="VAT").first()
    if vat is None:
        vat = services.tax_rate_add.step(workspace=workspace, actor=actor, name="VAT", percent=20)
    zero = TaxRate.objects.filter(workspace=workspace, name="Zero-rated").first()
    if zero is None:
        zero = services.tax_rate_add.step(
            workspace=workspace, actor=actor, name="Zero-rated", percent=0
        )
    return vat, zero


def add_demo_quotes(*, workspace: Workspace, staff: Sequence[User]) -> int:
    """Switch Quotes on and write the demo's quotes, unless the workspace has some already."""
    if not workspace.module_quotes:
        workspace.module_quotes = True
        workspace.save(update_fields=["module_quotes"])
    if Quote.objects.filter(workspace=workspace).exists():
        return 0
    owner, manager = staff[0], staff[1]
    vat, zero = _rates(workspace, owner)
    customers = {c.email: c for c in Customer.objects.filter(workspace=workspace)}
    renovation = Pipeline.objects.filter(workspace=workspace, name="Trades renovation").first()
    standard = Pipeline.objects.filter(workspace=workspace, name="Standard service").first()
    now = timezone.now()
    today = services.local_today(workspace)

    def write(
        title: str, email: str, lines: list[LineInput], *, pipeline: Pipeline | None = None,
        deposit: tuple[str, int] = ("none", 0), days_ago: int = 0, notes: str = "",
        expires_in: int = 30,
    ) -> Quote:  # fmt: skip
        return services.quote_create.step(
            workspace=workspace, actor=owner, owner=manager, title=title,
            customer=customers[email], lines=lines, pipeline=pipeline,
            deposit_kind=deposit[0], deposit_value=deposit[1], customer_notes=notes,
            internal_notes="Margin about 28 %. Check the supplier's price list before sending.",
            expires_on=today + dt.timedelta(days=expires_in), at=now - dt.timedelta(days=days_ago),
        )  # fmt: skip

    kitchen = [
        LineInput("Kitchen units and worktop, supplied and fitted", D(1), D(4200), tax_rate=vat),
        LineInput("Labour (days)", D(5), D(320), D(10), tax_rate=vat),
        LineInput("Under-cabinet LED lighting", D(1), D(180), tax_rate=vat, optional=True),
        LineInput("Old kitchen removal and disposal", D(1), D(240), tax_rate=vat),
    ]
    # Waiting in the demo customer's portal: sent, not opened yet, optional lines to tick.
    waiting = write(
        "Kitchen refit", "customer@demo.jobline.test", kitchen, pipeline=renovation,
        deposit=("percent", 30), notes="Prices hold for 30 days. Includes disposal.",
    )  # fmt: skip
    services.quote_send.step(quote=waiting, actor=manager)

    # Accepted, ready to convert to a job and its first visit.
    bathroom = [
        LineInput("Bathroom suite (bath, basin, WC)", D(1), D(2650), tax_rate=vat),
        LineInput("Tiling (m²)", D(18), D(65), tax_rate=vat),
        LineInput("Heated towel rail", D(1), D(210), tax_rate=vat, optional=True),
    ]
    accepted = write("Bathroom renovation", "sophie.laurent@example.com", bathroom,
                     pipeline=renovation, deposit=("fixed", 1000), days_ago=6)  # fmt: skip
    services.quote_send.step(quote=accepted, actor=manager, at=now - dt.timedelta(days=6))
    services.quote_mark_viewed.step(quote=accepted, at=now - dt.timedelta(days=5))
    towel_rail = accepted.lines.get(optional=True).pk
    services.quote_accept.step(quote=accepted, name="Sophie Laurent", ip="203.0.113.24",
                               ticked=[towel_rail], revision_seen=1,
                               at=now - dt.timedelta(days=4))  # fmt: skip

    # Viewed, then revised: the customer sees that it changed.
    cafe = [LineInput("Café counter refit", D(1), D(3800), tax_rate=vat),
            LineInput("Out-of-hours working supplement", D(2), D(150), tax_rate=vat)]  # fmt: skip
    viewed = write("Café counter refit", "rosa.delgado@example.com", cafe, pipeline=standard,
                   days_ago=3)  # fmt: skip
    services.quote_send.step(quote=viewed, actor=manager, at=now - dt.timedelta(days=3))
    services.quote_mark_viewed.step(quote=viewed, at=now - dt.timedelta(days=2))

    declined = write("Garden room electrics", "jamal.ahmed@example.com",
                     [LineInput("Armoured cable run and consumer unit", D(1), D(1450),
                                tax_rate=vat)], days_ago=12)  # fmt: skip
    services.quote_send.step(quote=declined, actor=manager, at=now - dt.timedelta(days=12))
    services.quote_decline.step(quote=declined, reason="Going with a cheaper quote, sorry.",
                                revision_seen=1, at=now - dt.timedelta(days=10))  # fmt: skip

    expiring = write("Loft insulation", "hannah.trevithick@example.com",
                     [LineInput("Loft insulation, 270 mm (m²)", D(42), D("14.50"), tax_rate=zero)],
                     days_ago=28, expires_in=2)  # fmt: skip
    services.quote_send.step(quote=expiring, actor=manager, at=now - dt.timedelta(days=28))

    gutters = [LineInput("uPVC guttering (m)", D(24), D(22), tax_rate=vat)]
    expired = write("Gutter replacement", "marcus.bell@example.com", gutters, days_ago=40)
    services.quote_send.step(quote=expired, actor=manager, at=now - dt.timedelta(days=40))
    # Sent forty days ago with the usual thirty days: it ran out ten days ago.
    Quote.objects.filter(pk=expired.pk).update(expires_on=today - dt.timedelta(days=10))
    services.quotes_expire()

    write("Boiler service plan", "tom.whitfield@example.com",
          [LineInput("Annual boiler service", D(1), D(95), tax_rate=vat),
           LineInput("Landlord gas safety certificate", D(1), D(65), tax_rate=vat,
                     optional=True)])  # fmt: skip
    return Quote.objects.filter(workspace=workspace).count()


APPROVAL_QUOTE_TITLE = "Laptop screen and battery"


def add_demo_quote_approval(*, workspace: Workspace, staff: Sequence[User]) -> bool:
    """A repair quoted, accepted and converted into the Device repair pipeline, now at its
    Approval stage with the quote's revision attached: what the customer approves is the
    quote itself. Once per workspace; False when it is there already (or no repair pipeline)."""
    repair = Pipeline.objects.filter(workspace=workspace, name="Device repair").first()
    customer = Customer.objects.filter(workspace=workspace, email="rosa.delgado@example.com")
    if (
        repair is None
        or not customer.exists()
        or Quote.objects.filter(workspace=workspace, title=APPROVAL_QUOTE_TITLE).exists()
    ):
        return False
    owner, manager = staff[0], staff[1]
    vat, _zero = _rates(workspace, owner)
    now = timezone.now()
    quote = services.quote_create.step(
        workspace=workspace, actor=owner, owner=manager, title=APPROVAL_QUOTE_TITLE,
        customer=customer.get(), pipeline=repair,
        lines=[LineInput("Replacement screen, fitted", D(1), D(189), tax_rate=vat),
               LineInput("New battery, fitted", D(1), D(79), tax_rate=vat)],
        customer_notes="Parts are genuine and come with a 12-month warranty.",
        internal_notes="Supplier quoted 3 working days for the screen.",
        expires_on=services.local_today(workspace) + dt.timedelta(days=14),
        at=now - dt.timedelta(days=3),
    )  # fmt: skip
    services.quote_send.step(quote=quote, actor=manager, at=now - dt.timedelta(days=3))
    services.quote_accept.step(quote=quote, name="Rosa Delgado", ip="198.51.100.7", ticked=[],
                               revision_seen=1, at=now - dt.timedelta(days=2))  # fmt: skip
    job = services.quote_convert.step(quote=quote, actor=manager, pipeline=repair, owner=manager)
    # Through the stages before it, one by one, into the stage that asks the customer.
    stages = list(repair.stages.filter(deleted_at__isnull=True).order_by("position"))
    approval_at = next(i for i, stage in enumerate(stages) if stage.requires_approval)
    for stage in stages[1 : approval_at + 1]:
        job_move.step(job=Job.objects.get(pk=job.pk), stage=stage, actor=manager,
                      expected_version=None, enforce_required=False)  # fmt: skip
    approval = Approval.objects.get(job=job, status=ApprovalStatus.PENDING)
    viewer = member_viewer(Membership.objects.get(workspace=workspace, user=manager))
    revision = documents_of(Job.objects.get(pk=job.pk), viewer)[0]
    approval_edit.step(
        approval=approval, actor=manager, add_document=revision,
        message="Here is the quote for the screen and the battery. Approve it and we order "
                "the parts today.",
    )  # fmt: skip
    return True
