"""The billing services (billing/services.py, triggers.py, selectors.py) as their docstrings and
shared/ARCHITECTURE.md write the rules:

- a job's value and schedule are saved together; the instalments add up to the value, those
  requested keep their invoiced amounts, a bad row is refused with a message pointing at it
  and nothing is saved;
- an instalment is requested by its trigger (entering a stage, the job won, the quote
  accepted, a date come in the workspace's time zone) once, or by hand; each request issues
  an invoice numbered INV-1001, INV-1002… per workspace, gapless, due the workspace's terms
  (14 days) after the workspace's today; voiding keeps the number;
- payments come in against a requested instalment, never more than is owed and never dated
  in the future; a refund needs a reason; a voided instalment must have been refunded first,
  and the balance takes up what it no longer asks;
- each change writes exactly one staff-only feed entry, with no amount in it;
- only members whose role is Admin or Manager, of the same workspace, see any of the money.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from jobline.billing import selectors, services
from jobline.billing.models import (
    AmountKind,
    Instalment,
    InstalmentStatus,
    Invoice,
    InvoiceSequence,
    InvoiceStatus,
    Payment,
    PaymentKind,
    Trigger,
)
from jobline.billing.services import InstalmentInput, ScheduleRowError
from jobline.jobs.choices import ActivityKind, ActorKind, Visibility
from jobline.jobs.models import Activity, Job
from jobline.jobs.services import job_update
from jobline.pipelines.models import Pipeline
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.quotes import services as quote_services
from jobline.quotes.models import Quote, TaxRate
from jobline.quotes.services import LineInput
from jobline.workspaces.models import Membership
from jobline.workspaces.viewers import Viewer, customer_viewer, preview_viewer
from tests.billing.conftest import (
    WON,
    balance,
    feed,
    fixed,
    fresh,
    kept,
    move,
    new_job,
    on_stage,
    outsider_viewer,
    pay,
    percent,
    refund,
    reload,
    request,
    save,
    stage,
    table,
    viewer_of,
    void,
)
from tests.conftest import Cast

D = Decimal
S, R, PP, P, V = (
    InstalmentStatus.SCHEDULED,
    InstalmentStatus.REQUESTED,
    InstalmentStatus.PART_PAID,
    InstalmentStatus.PAID,
    InstalmentStatus.VOID,
)


def messages(error: pytest.ExceptionInfo[ValidationError]) -> str:
    """Everything the refusal says, as one text."""
    value = error.value
    if hasattr(value, "error_dict"):
        return " ".join(m for ms in value.message_dict.values() for m in ms)
    return " ".join(value.messages)


def fields_of(error: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return set(error.value.message_dict) if hasattr(error.value, "error_dict") else set()


@pytest.fixture
def three_part(cast: Cast, job: Job) -> list[Instalment]:
    """Priya's kitchen at 10,000.00: Deposit 25 % (by hand), Install payment 35 % on entering
    Install, Balance when won — 2,500.00, 3,500.00 and 4,000.00."""
    return save(
        cast,
        job,
        "10000.00",
        [
            percent("Deposit", "25"),
            percent("Install payment", "35", **on_stage(job, "Install")),
            balance(**WON),
        ],
    )


# ----------------------------------------------------------------------------- the schedule


def test_saving_a_schedule_creates_its_instalments_in_order_with_their_amounts(
    cast: Cast, job: Job, three_part: list[Instalment]
) -> None:
    assert table(job) == [
        ("Deposit", AmountKind.PERCENT, D("2500.00"), S, 1),
        ("Install payment", AmountKind.PERCENT, D("3500.00"), S, 2),
        ("Balance", AmountKind.BALANCE, D("4000.00"), S, 3),
    ]
    assert fresh(job).value == D("10000.00")
    install = Instalment.objects.get(job=job, label="Install payment")
    assert (install.trigger, install.trigger_stage) == (
        Trigger.STAGE,
        stage(job.pipeline, "Install"),
    )
    assert install.percent == D(35)
    assert not Invoice.objects.exists()  # saving requests nothing


def test_a_fixed_instalment_keeps_its_typed_amount_and_the_balance_takes_the_rest(
    cast: Cast, job: Job
) -> None:
    save(
        cast, job, "1234.56", [fixed("Deposit", "200.00"), percent("Stage 2", "33.3333"), balance()]
    )
    # 1,234.56 × 33.3333 % = 411.51958… → 411.52; the rest 623.04.
    assert [row[2] for row in table(job)] == [D("200.00"), D("411.52"), D("623.04")]


def test_a_new_value_re_spreads_the_instalments_not_yet_requested(
    cast: Cast, job: Job, three_part: list[Instalment]
) -> None:
    deposit, install, rest = three_part
    request(cast, deposit)  # 2,500.00 on INV-1001
    save(cast, job, "12000.00", [kept(deposit), kept(install), kept(rest)])
    assert table(job) == [
        ("Deposit", AmountKind.PERCENT, D("2500.00"), R, 1),  # requested: stays
        ("Install payment", AmountKind.PERCENT, D("4200.00"), S, 2),  # 35 % of 12,000
        ("Balance", AmountKind.BALANCE, D("5300.00"), S, 3),
    ]
    assert fresh(job).value == D("12000.00")
    assert Invoice.objects.get().amount == D("2500.00")


def test_a_scheduled_instalment_left_out_of_the_rows_is_removed(
    cast: Cast, job: Job, three_part: list[Instalment]
) -> None:
    deposit, _install, rest = three_part
    save(cast, job, "10000.00", [kept(deposit), kept(rest)])
    assert [(row[0], row[2], row[4]) for row in table(job)] == [
        ("Deposit", D("2500.00"), 1),
        ("Balance", D("7500.00"), 2),
    ]


def test_a_value_below_what_is_requested_is_refused_and_nothing_changes(
    cast: Cast, job: Job, three_part: list[Instalment]
) -> None:
    deposit, install, rest = three_part
    request(cast, deposit)
    before, version, entries = table(job), fresh(job).version, len(feed(job))
    with pytest.raises(ScheduleRowError) as error:
        save(cast, job, "2000.00", [kept(deposit), kept(install), kept(rest)])
    assert fields_of(error) == {"value"}
    assert "2,500.00 GBP is already requested" in messages(error)
    assert "can't be less" in messages(error)
    assert error.value.row is None
    assert table(job) == before
    job = fresh(job)
    assert (job.value, job.version) == (D("10000.00"), version)
    assert len(feed(job)) == entries


@pytest.mark.parametrize(
    ("rows", "row", "words"),
    [
        pytest.param(
            [percent("Deposit", "25"), balance(), percent("Extra", "10")],
            1,
            "Only the last instalment can be the balance",
            id="balance-in-the-middle",
        ),
        pytest.param(
            [percent("A", "30"), percent("B", "30"), percent("C", "30")],
            2,
            "come to 9,000.00 GBP but the value is 10,000.00 GBP",
            id="30-30-30",
        ),
        pytest.param(
            [fixed("Deposit", "10000.00"), balance()],
            1,
            "would come to nothing",
            id="nothing-left-for-the-balance",
        ),
        pytest.param(
            [fixed("Deposit", "6000.00"), fixed("Stage", "6000.00"), balance()],
            2,
            "come to 12,000.00 GBP, more than the value of 10,000.00 GBP",
            id="more-than-the-value",
        ),
        pytest.param(
            [percent("Deposit", "120"), balance()],
            0,
            "at most 100 %",
            id="a-share-over-100",
        ),
    ],
)
def test_a_schedule_that_does_not_add_up_names_the_row_at_fault_and_saves_nothing(
    cast: Cast, job: Job, rows: list[InstalmentInput], row: int, words: str
) -> None:
    before = table(job)  # the pipeline's default schedule, not yet worked out
    with pytest.raises(ScheduleRowError) as error:
        save(cast, job, "10000.00", rows)
    assert error.value.row == row
    assert words in messages(error)
    assert table(job) == before
    assert fresh(job).value is None


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        pytest.param(
            InstalmentInput(label="   ", amount_kind=AmountKind.BALANCE),
            "label",
            "Name the instalment",
            id="no-label",
        ),
        pytest.param(
            InstalmentInput(label="x" * 61, amount_kind=AmountKind.BALANCE),
            "label",
            "under 60 characters",
            id="label-too-long",
        ),
        pytest.param(
            InstalmentInput(label="Rest", amount_kind="most"),
            "amount_kind",
            "Choose how the amount is given",
            id="unknown-kind",
        ),
        pytest.param(
            balance(trigger=Trigger.DATE),
            "trigger_on",
            "Give the date",
            id="date-trigger-without-a-date",
        ),
        pytest.param(
            balance(trigger=Trigger.STAGE),
            "trigger_stage",
            "Choose a stage of this job's pipeline",
            id="stage-trigger-without-a-stage",
        ),
        pytest.param(
            balance(trigger="whenever"),
            "trigger",
            "Choose when it is requested",
            id="unknown-trigger",
        ),
    ],
)
def test_a_bad_row_is_refused_next_to_its_field_and_nothing_is_saved(
    cast: Cast, job: Job, bad: InstalmentInput, field: str, words: str
) -> None:
    before = table(job)
    with pytest.raises(ScheduleRowError) as error:
        save(cast, job, "10000.00", [percent("Deposit", "25"), bad])
    assert error.value.row == 1
    assert fields_of(error) == {field}
    assert words in messages(error)
    assert table(job) == before
    assert fresh(job).value is None
    assert not Activity.objects.filter(kind=ActivityKind.SCHEDULE_CHANGED).exists()


def test_a_stage_of_another_pipeline_is_refused_as_a_trigger(cast: Cast, job: Job) -> None:
    repair = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="repair", actor=cast.admin
    )
    elsewhere = repair.stages.filter(deleted_at__isnull=True).first()
    before = table(job)
    with pytest.raises(ScheduleRowError) as error:
        save(
            cast,
            job,
            "10000.00",
            [
                percent("Deposit", "25", trigger=Trigger.STAGE, trigger_stage=elsewhere),
                balance(),
            ],
        )
    assert (error.value.row, fields_of(error)) == (0, {"trigger_stage"})
    assert "Choose a stage of this job's pipeline" in messages(error)
    assert table(job) == before


def test_a_schedule_needs_a_value(cast: Cast, job: Job) -> None:
    with pytest.raises(ScheduleRowError) as error:
        save(cast, job, None, [balance()])
    assert fields_of(error) == {"value"}
    assert "Give the job a value first" in messages(error)


def test_a_negative_value_is_refused(cast: Cast, job: Job) -> None:
    with pytest.raises(ScheduleRowError) as error:
        save(cast, job, "-1.00", [])
    assert fields_of(error) == {"value"}
    assert "can't be negative" in messages(error)
    assert fresh(job).value is None


def test_removing_a_requested_instalment_is_refused_and_nothing_changes(
    cast: Cast, job: Job, three_part: list[Instalment]
) -> None:
    deposit, install, rest = three_part
    request(cast, deposit)
    before = table(job)
    with pytest.raises(ScheduleRowError) as error:
        save(cast, job, "10000.00", [kept(install), kept(rest)])
    assert "The Deposit is requested: void it instead of removing it." in messages(error)
    assert table(job) == before


def test_an_instalment_of_another_job_cannot_be_saved_into_this_ones_schedule(
    cast: Cast, job: Job, renovation: Pipeline
) -> None:
    other = new_job(cast, renovation, title="Loft")
    (theirs,) = save(cast, other, "500.00", [balance()])
    before = table(job)
    with pytest.raises(ScheduleRowError) as error:
        save(cast, job, "500.00", [kept(theirs)])
    assert "is not on this job" in messages(error)
    assert table(job) == before
    assert reload(theirs).job_id == other.pk


def test_a_requested_instalment_can_be_renamed_and_moved_but_keeps_its_amount(
    cast: Cast, job: Job, three_part: list[Instalment]
) -> None:
    deposit, install, rest = three_part
    request(cast, install)
    save(
        cast,
        job,
        "10000.00",
        [
            kept(install, label="Install", amount_kind=AmountKind.FIXED, amount=D(1)),
            kept(deposit),
            kept(rest),
        ],
    )
    assert table(job) == [
        ("Install", AmountKind.PERCENT, D("3500.00"), R, 1),
        ("Deposit", AmountKind.PERCENT, D("2500.00"), S, 2),
        ("Balance", AmountKind.BALANCE, D("4000.00"), S, 3),
    ]


def test_after_voiding_the_balance_the_schedule_can_still_be_saved(cast: Cast, job: Job) -> None:
    """The balance was requested by mistake and voided: staff add a new balance after it (a
    void instalment can't be removed, so it stays in the rows and counts for nothing)."""
    deposit, rest = save(cast, job, "10000.00", [fixed("Deposit", "3000.00"), balance()])
    request(cast, deposit)
    request(cast, rest)
    void(cast, rest)
    save(cast, job, "10000.00", [kept(deposit), kept(reload(rest)), balance("Final balance")])
    assert table(job) == [
        ("Deposit", AmountKind.FIXED, D("3000.00"), R, 1),
        ("Balance", AmountKind.BALANCE, D("7000.00"), V, 2),
        ("Final balance", AmountKind.BALANCE, D("7000.00"), S, 3),
    ]


# ----------------------------------------------------------------------------- triggers


def test_entering_the_trigger_stage_requests_the_instalment_and_issues_inv_1001(
    cast: Cast, job: Job, three_part: list[Instalment]
) -> None:
    _deposit, install, _rest = three_part
    move(cast, job, "Materials ordered")
    assert not Invoice.objects.exists()
    move(cast, job, "Install")
    install = reload(install)
    assert install.status == R
    assert install.triggered_at is not None and install.requested_at is not None
    invoice = Invoice.objects.get()
    assert (invoice.reference, invoice.amount, invoice.currency, invoice.status) == (
        "INV-1001",
        D("3500.00"),
        "GBP",
        InvoiceStatus.ISSUED,
    )
    assert (invoice.instalment_id, invoice.job_id) == (install.pk, job.pk)
    assert [row[3] for row in table(job)] == [S, R, S]  # only the one waiting for Install


def test_moving_back_un_requests_nothing_and_re_entering_requests_nothing_again(
    cast: Cast, job: Job, three_part: list[Instalment]
) -> None:
    _deposit, install, _rest = three_part
    move(cast, job, "Install")
    move(cast, job, "Materials ordered")
    assert reload(install).status == R
    assert Invoice.objects.get().status == InvoiceStatus.ISSUED
    move(cast, job, "Install")
    assert Invoice.objects.count() == 1
    # Voided since, it is not asked for again by the next entry either: staff ask by hand.
    void(cast, install)
    move(cast, job, "Snag list")
    move(cast, job, "Install")
    assert reload(install).status == V
    assert Invoice.objects.count() == 1


def test_the_won_trigger_fires_on_entering_completed_not_cancelled(
    cast: Cast, job: Job, three_part: list[Instalment]
) -> None:
    *_, rest = three_part
    move(cast, job, "Cancelled")
    assert reload(rest).status == S
    assert reload(rest).triggered_at is None
    assert not Invoice.objects.exists()
    move(cast, job, "Completed")
    assert reload(rest).status == R
    invoice = Invoice.objects.get()
    assert (invoice.reference, invoice.amount) == ("INV-1001", D("4000.00"))


def test_a_trigger_that_cannot_request_yet_waits_for_the_next_entry(
    cast: Cast, renovation: Pipeline
) -> None:
    """A job without a customer: entering the stage asks nothing and fires nothing (there is
    no one to invoice); once it has a customer, the next entry asks — once."""
    job = new_job(cast, renovation, customer=None)
    _deposit, install, _rest = save(
        cast,
        job,
        "10000.00",
        [
            percent("Deposit", "25"),
            percent("Install payment", "35", **on_stage(job, "Install")),
            balance(**WON),
        ],
    )
    moved = move(cast, job, "Install")
    assert moved.stage.name == "Install"  # the move itself went through
    install = reload(install)
    assert (install.status, install.requested_at, install.triggered_at) == (S, None, None)
    assert not Invoice.objects.exists()
    job_update(job=fresh(job), actor=cast.admin, expected_version=None, customer=cast.customer)
    move(cast, job, "Materials ordered")
    move(cast, job, "Install")
    assert reload(install).status == R
    assert reload(install).triggered_at is not None
    assert Invoice.objects.get().amount == D("3500.00")
    move(cast, job, "Materials ordered")
    move(cast, job, "Install")
    assert Invoice.objects.count() == 1


def test_an_instalment_can_be_requested_by_hand_before_its_trigger(
    cast: Cast, job: Job, three_part: list[Instalment]
) -> None:
    deposit, install, _rest = three_part
    invoice = request(cast, deposit)
    assert (invoice.reference, invoice.amount) == ("INV-1001", D("2500.00"))
    assert reload(deposit).status == R
    assert request(cast, install).reference == "INV-1002"
    move(cast, job, "Install")  # already requested: its trigger asks for nothing more
    assert Invoice.objects.count() == 2


def test_requesting_an_instalment_already_requested_is_refused(
    cast: Cast, job: Job, three_part: list[Instalment]
) -> None:
    deposit, *_ = three_part
    request(cast, deposit)
    with pytest.raises(ValidationError) as error:
        request(cast, deposit)
    assert "The Deposit is already requested." in messages(error)
    assert Invoice.objects.count() == 1
    pay(cast, deposit, "2500.00")
    with pytest.raises(ValidationError) as error:
        request(cast, deposit)
    assert "already paid" in messages(error)


def test_requesting_by_hand_without_a_customer_is_refused(cast: Cast, renovation: Pipeline) -> None:
    job = new_job(cast, renovation, customer=None)
    (only,) = save(cast, job, "500.00", [balance()])
    with pytest.raises(ValidationError) as error:
        request(cast, only)
    assert "Give the job a customer first" in messages(error)
    assert reload(only).status == S
    assert not Invoice.objects.exists()


# ----------------------------------------------------------------------------- quotes


@pytest.fixture
def vat(cast: Cast) -> TaxRate:
    for workspace in (cast.workspace, cast.other_workspace):
        workspace.module_quotes = True
        workspace.save(update_fields=["module_quotes"])
    return quote_services.tax_rate_add(
        workspace=cast.workspace, actor=cast.admin, name="VAT", percent="20"
    )


def boiler_quote(cast: Cast, vat: TaxRate) -> Quote:
    """A boiler 1,200.00 and labour 3.5 × 45.00 less 10 %, both at VAT 20 %: 1,610.10 in all;
    a 25 % deposit: 402.525 → 402.53. Sent to Priya."""
    quote = quote_services.quote_create(
        workspace=cast.workspace,
        actor=cast.admin,
        title="Boiler replacement",
        customer=cast.customer,
        deposit_kind="percent",
        deposit_value=D(25),
        lines=[
            LineInput("Combi boiler", D(1), D("1200.00"), tax_rate=vat),
            LineInput("Labour (hours)", D("3.5"), D("45.00"), D(10), tax_rate=vat),
        ],
    )
    return quote_services.quote_send(quote=quote, actor=cast.admin)


def no_default_schedule(cast: Cast, pipeline: Pipeline) -> Pipeline:
    services.pipeline_schedule_save(pipeline=pipeline, rows=[], actor=cast.admin)
    return pipeline


def test_converting_an_accepted_quote_gives_the_job_a_requested_deposit_and_a_balance(
    cast: Cast, vat: TaxRate, renovation: Pipeline
) -> None:
    """A pipeline without a default schedule: the quote's deposit makes the job's."""
    no_default_schedule(cast, renovation)
    quote = boiler_quote(cast, vat)
    quote = quote_services.quote_accept(quote=quote, name="Priya Natarajan", ip=None)
    job = quote_services.quote_convert(quote=quote, actor=cast.admin, pipeline=renovation)
    assert (fresh(job).value, fresh(job).deposit_due) == (D("1610.10"), D("402.53"))
    assert table(job) == [
        ("Deposit", AmountKind.FIXED, D("402.53"), R, 1),
        ("Balance", AmountKind.BALANCE, D("1207.57"), S, 2),
    ]
    deposit, rest = Instalment.objects.filter(job=job).order_by("position")
    assert (deposit.trigger, rest.trigger) == (Trigger.QUOTE_ACCEPTED, Trigger.WON)
    invoice = Invoice.objects.get()
    assert (invoice.reference, invoice.amount, invoice.instalment_id) == (
        "INV-1001",
        D("402.53"),
        deposit.pk,
    )
    move(cast, job, "Completed")
    assert reload(rest).status == R
    assert Invoice.objects.get(instalment=rest).reference == "INV-1002"


def test_converting_a_quote_not_yet_accepted_schedules_the_deposit_without_asking_for_it(
    cast: Cast, vat: TaxRate, renovation: Pipeline
) -> None:
    no_default_schedule(cast, renovation)
    quote = boiler_quote(cast, vat)
    job = quote_services.quote_convert(
        quote=quote, actor=cast.admin, pipeline=renovation, without_acceptance=True
    )
    assert [row[:4] for row in table(job)] == [
        ("Deposit", AmountKind.FIXED, D("402.53"), S),
        ("Balance", AmountKind.BALANCE, D("1207.57"), S),
    ]
    assert not Invoice.objects.exists()


def test_converting_into_a_pipeline_with_a_default_schedule_puts_the_quotes_deposit_first(
    cast: Cast, vat: TaxRate, renovation: Pipeline
) -> None:
    """The renovation template's default (Deposit 30 % on entering Deposit, Install 40 % on
    entering Install, the balance on entering Final payment) with the quote's 25 % deposit:
    the Deposit becomes the quote's 402.53, asked for on acceptance (so at once), the Install
    stays 40 % of 1,610.10 and the balance takes the rest."""
    quote = quote_services.quote_accept(quote=boiler_quote(cast, vat), name="Priya", ip=None)
    job = quote_services.quote_convert(quote=quote, actor=cast.admin, pipeline=renovation)
    assert table(job) == [
        ("Deposit", AmountKind.FIXED, D("402.53"), R, 1),
        ("Install", AmountKind.PERCENT, D("644.04"), S, 2),
        ("Balance", AmountKind.BALANCE, D("563.53"), S, 3),  # 1,610.10 - 402.53 - 644.04
    ]
    invoice = Invoice.objects.get()
    assert (invoice.reference, invoice.amount) == ("INV-1001", D("402.53"))
    move(cast, job, "Deposit")  # the Deposit no longer waits for this stage
    assert Invoice.objects.count() == 1
    move(cast, job, "Install")
    assert Invoice.objects.order_by("number").last().amount == D("644.04")


# ----------------------------------------------------------------------------- defaults


def test_a_new_job_gets_its_pipelines_default_schedule_worked_out_once_it_has_a_value(
    cast: Cast, job: Job
) -> None:
    assert table(job) == [
        ("Deposit", AmountKind.PERCENT, D(0), S, 1),
        ("Install", AmountKind.PERCENT, D(0), S, 2),
        ("Balance", AmountKind.BALANCE, D(0), S, 3),
    ]
    defaults = list(Instalment.objects.filter(job=job).order_by("position"))
    save(cast, job, "10000.00", [kept(i) for i in defaults])
    assert [row[2] for row in table(job)] == [D("3000.00"), D("4000.00"), D("3000.00")]
    move(cast, job, "Deposit")
    assert [row[3] for row in table(job)] == [R, S, S]
    assert Invoice.objects.get().amount == D("3000.00")


def test_a_jobs_schedule_is_its_own_once_made(cast: Cast, job: Job, renovation: Pipeline) -> None:
    """Changing the pipeline's default later leaves the jobs it already has alone."""
    before = table(job)
    services.pipeline_schedule_save(
        pipeline=renovation, rows=[balance("All of it")], actor=cast.admin
    )
    assert table(job) == before
    assert [row[0] for row in table(new_job(cast, renovation, title="Loft"))] == ["All of it"]


# ----------------------------------------------------------------------------- invoices


@pytest.mark.parametrize("returning", [True, False], ids=["update-returning", "update-then-read"])
def test_invoice_numbers_run_on_without_gaps_in_each_workspace(
    cast: Cast,
    job: Job,
    three_part: list[Instalment],
    outsiders_job: Job,
    returning: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not returning:  # a database without UPDATE … RETURNING (SQLite before 3.35)
        if connection.vendor != "sqlite":
            pytest.skip("PostgreSQL always has RETURNING (and Django's inserts rely on it)")
        monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)
    references = [request(cast, i).reference for i in three_part]
    assert references == ["INV-1001", "INV-1002", "INV-1003"]
    # The outsider's workspace has a sequence of its own.
    (theirs,) = services.schedule_save(
        job=outsiders_job,
        value=D("800.00"),
        rows=[balance()],
        actor=cast.outsider,
        expected_version=None,
    )
    invoice = services.instalment_request(instalment=reload(theirs), actor=cast.outsider)
    assert (invoice.reference, invoice.workspace_id) == ("INV-1001", cast.other_workspace.pk)
    assert InvoiceSequence.objects.get(workspace=cast.workspace).next_number == 1004


def test_a_refused_request_gives_its_number_back(
    cast: Cast, job: Job, renovation: Pipeline, three_part: list[Instalment]
) -> None:
    nobodys = new_job(cast, renovation, title="Nobody's", customer=None)
    (alone,) = save(cast, nobodys, "100.00", [balance()])
    with pytest.raises(ValidationError):
        request(cast, alone)
    assert request(cast, three_part[0]).reference == "INV-1001"


def test_voiding_keeps_the_invoice_number_and_asking_again_issues_a_new_one(
    cast: Cast, job: Job, three_part: list[Instalment]
) -> None:
    deposit, *_ = three_part
    first = request(cast, deposit)
    void(cast, deposit, reason="Wrong customer on it")
    first = Invoice.objects.get(pk=first.pk)
    assert (first.reference, first.status, first.void_reason) == (
        "INV-1001",
        InvoiceStatus.VOID,
        "Wrong customer on it",
    )
    assert first.voided_at is not None
    again = request(cast, deposit)
    assert (again.reference, again.status, again.amount) == (
        "INV-1002",
        InvoiceStatus.ISSUED,
        D("2500.00"),
    )
    assert reload(deposit).status == R
    assert reload(deposit).void_reason == ""
    assert Invoice.objects.get(pk=first.pk).status == InvoiceStatus.VOID


@pytest.mark.parametrize("zone", ["Europe/London", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_an_invoice_is_due_payment_terms_days_after_the_workspaces_today(
    cast: Cast, job: Job, three_part: list[Instalment], zone: str
) -> None:
    cast.workspace.time_zone = zone
    cast.workspace.save(update_fields=["time_zone"])
    invoice = request(cast, three_part[0])
    today = timezone.localdate(timezone=ZoneInfo(zone))
    assert invoice.due_on == today + dt.timedelta(days=cast.workspace.invoice_terms_days)
    assert Invoice.objects.get(pk=invoice.pk).due_on == today + dt.timedelta(days=14)


# ----------------------------------------------------------------------------- payments


@pytest.fixture
def requested(cast: Cast, job: Job, three_part: list[Instalment]) -> Instalment:
    """The Deposit (2,500.00), requested on INV-1001."""
    request(cast, three_part[0])
    return reload(three_part[0])


def test_a_part_payment_makes_the_instalment_part_paid(cast: Cast, requested: Instalment) -> None:
    payment = pay(cast, requested, "1000.00", reference="  BACS   4471 ")
    deposit = reload(requested)
    assert (deposit.status, deposit.paid, deposit.owed) == (PP, D("1000.00"), D("1500.00"))
    assert (payment.kind, payment.amount, payment.invoice.reference) == (
        PaymentKind.PAYMENT,
        D("1000.00"),
        "INV-1001",
    )
    assert (payment.reference, payment.recorded_by) == ("BACS 4471", cast.manager)


def test_paying_the_rest_makes_it_paid(cast: Cast, requested: Instalment) -> None:
    pay(cast, requested, "1000.00")
    pay(cast, requested, "1,500.00")
    deposit = reload(requested)
    assert (deposit.status, deposit.paid, deposit.owed) == (P, D("2500.00"), D(0))
    with pytest.raises(ValidationError) as error:
        pay(cast, requested, "0.01")
    assert "paid in full" in messages(error)


def test_paying_more_than_is_owed_is_refused_with_what_is_owed(
    cast: Cast, requested: Instalment
) -> None:
    with pytest.raises(ValidationError) as error:
        pay(cast, requested, "2500.01")
    assert fields_of(error) == {"amount"}
    assert "more than the 2,500.00 GBP still owed on the Deposit" in messages(error)
    pay(cast, requested, "2000.00")
    with pytest.raises(ValidationError) as error:
        pay(cast, requested, "600.00")
    assert "more than the 500.00 GBP still owed" in messages(error)
    assert reload(requested).paid == D("2000.00")
    assert Payment.objects.count() == 1


def test_paying_a_scheduled_or_a_void_instalment_is_refused(
    cast: Cast, three_part: list[Instalment], requested: Instalment
) -> None:
    _deposit, install, _rest = three_part
    with pytest.raises(ValidationError) as error:
        pay(cast, install, "100.00")
    assert "Request the Install payment first" in messages(error)
    void(cast, requested)
    with pytest.raises(ValidationError) as error:
        pay(cast, requested, "100.00")
    assert "is void: nothing is owed" in messages(error)
    assert not Payment.objects.exists()


def test_a_payment_dated_in_the_future_is_refused(cast: Cast, requested: Instalment) -> None:
    cast.workspace.time_zone = "Pacific/Kiritimati"  # the first place a day begins
    cast.workspace.save(update_fields=["time_zone"])
    today = timezone.localdate(timezone=ZoneInfo("Pacific/Kiritimati"))
    with pytest.raises(ValidationError) as error:
        pay(cast, requested, "100.00", paid_on=today + dt.timedelta(days=1))
    assert (fields_of(error), messages(error)) == ({"paid_on"}, "A payment can't be in the future.")
    with pytest.raises(ValidationError) as error:
        pay(cast, requested, "100.00", paid_on=None)
    assert fields_of(error) == {"paid_on"}
    assert pay(cast, requested, "100.00", paid_on=today).paid_on == today
    assert pay(cast, requested, "100.00", paid_on=dt.date(2020, 1, 31)).amount == D(100)


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "more than zero"),
        ("0.00", "more than zero"),
        ("-5", "more than zero"),
        (D("-0.01"), "more than zero"),
        ("abc", "is a number"),
        ("", "is a number"),
        (None, "is a number"),
        ("NaN", "is a number"),
        ("Infinity", "is a number"),
        ("1.234", "too many decimal places"),
        ("12..5", "is a number"),
    ],
)
def test_a_payment_that_is_not_a_positive_amount_is_refused(
    cast: Cast, requested: Instalment, amount: Any, words: str
) -> None:
    with pytest.raises(ValidationError) as error:
        pay(cast, requested, amount)
    assert fields_of(error) == {"amount"}
    assert words in messages(error)
    assert reload(requested).paid == 0
    assert not Payment.objects.exists()


def test_a_payment_needs_a_known_method(cast: Cast, requested: Instalment) -> None:
    with pytest.raises(ValidationError) as error:
        pay(cast, requested, "10.00", method="bitcoin")
    assert fields_of(error) == {"method"}


def test_a_refund_with_its_reason_gives_money_back_and_the_status_follows(
    cast: Cast, requested: Instalment
) -> None:
    payment = pay(cast, requested, "2500.00")
    assert reload(requested).status == P
    back = refund(cast, payment, "500.00", reason="  Overcharged   on tiles ")
    deposit = reload(requested)
    assert (deposit.status, deposit.paid) == (PP, D("2000.00"))
    assert (back.kind, back.amount, back.refund_of_id, back.reason) == (
        PaymentKind.REFUND,
        D("500.00"),
        payment.pk,
        "Overcharged on tiles",
    )
    assert back.invoice_id == payment.invoice_id
    refund(cast, payment, "2000.00")
    deposit = reload(requested)
    assert (deposit.status, deposit.paid) == (R, D(0))


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_refund_without_a_reason_is_refused(
    cast: Cast, requested: Instalment, reason: str
) -> None:
    payment = pay(cast, requested, "100.00")
    with pytest.raises(ValidationError) as error:
        refund(cast, payment, "50.00", reason=reason)
    assert fields_of(error) == {"reason"}
    assert "Say why" in messages(error)
    assert reload(requested).paid == D("100.00")
    assert not Payment.objects.filter(kind=PaymentKind.REFUND).exists()


def test_refunding_more_than_is_left_of_a_payment_is_refused(
    cast: Cast, requested: Instalment
) -> None:
    payment = pay(cast, requested, "1000.00")
    pay(cast, requested, "1000.00")  # another payment: not this one's to give back
    with pytest.raises(ValidationError) as error:
        refund(cast, payment, "1000.01")
    assert "Only 1,000.00 GBP of that payment is left to refund." in messages(error)
    refund(cast, payment, "600.00")
    with pytest.raises(ValidationError) as error:
        refund(cast, payment, "400.01")
    assert "Only 400.00 GBP of that payment is left to refund." in messages(error)
    assert reload(requested).paid == D("1400.00")


def test_a_refund_cannot_be_refunded(cast: Cast, requested: Instalment) -> None:
    back = refund(cast, pay(cast, requested, "1000.00"), "100.00")
    with pytest.raises(ValidationError) as error:
        refund(cast, back, "50.00")
    assert "A refund can't be refunded." in messages(error)
    assert reload(requested).paid == D("900.00")


def test_voiding_is_refused_while_money_is_paid_and_allowed_after_a_full_refund(
    cast: Cast, requested: Instalment
) -> None:
    payment = pay(cast, requested, "700.00")
    with pytest.raises(ValidationError) as error:
        void(cast, requested)
    assert "700.00 GBP has been paid towards the Deposit: refund it first." in messages(error)
    assert reload(requested).status == PP
    assert Invoice.objects.get().status == InvoiceStatus.ISSUED
    refund(cast, payment, "700.00")
    void(cast, requested, reason="Customer changed the order")
    deposit = reload(requested)
    assert (deposit.status, deposit.void_reason) == (V, "Customer changed the order")
    assert Invoice.objects.get().status == InvoiceStatus.VOID


@pytest.mark.parametrize("reason", ["", "  \n "])
def test_voiding_needs_a_reason(cast: Cast, requested: Instalment, reason: str) -> None:
    with pytest.raises(ValidationError) as error:
        void(cast, requested, reason=reason)
    assert fields_of(error) == {"reason"}
    assert reload(requested).status == R


def test_voiding_an_instalment_never_asked_for_tells_the_customer_nothing(
    cast: Cast, job: Job, three_part: list[Instalment]
) -> None:
    """The customer was never sent a request for it: its void is staff's business (the
    visibility oracle found the customer told "cancelled the request for the Balance ()")."""
    deposit, _install, balance_row = three_part
    request(cast, deposit)
    void(cast, deposit)
    void(cast, balance_row)
    voids = [e for e in feed(job) if e.kind == "instalment_voided"]
    assert [(e.payload.label, e.visibility) for e in voids] == [
        ("Deposit", "customer"),
        ("Balance", "internal"),
    ]


def test_voiding_twice_is_refused(cast: Cast, requested: Instalment) -> None:
    void(cast, requested)
    with pytest.raises(ValidationError) as error:
        void(cast, requested)
    assert "already void" in messages(error)


def test_after_voiding_a_deposit_the_balance_takes_up_its_amount(
    cast: Cast, job: Job, three_part: list[Instalment]
) -> None:
    deposit, *_ = three_part
    request(cast, deposit)
    void(cast, deposit)
    assert table(job) == [
        ("Deposit", AmountKind.PERCENT, D("2500.00"), V, 1),
        ("Install payment", AmountKind.PERCENT, D("3500.00"), S, 2),
        ("Balance", AmountKind.BALANCE, D("6500.00"), S, 3),
    ]
    schedule = selectors.schedule_of(fresh(job), viewer_of(cast, cast.admin))
    assert schedule is not None
    assert (schedule.scheduled, schedule.shortfall) == (D("10000.00"), D(0))


def test_asking_again_for_a_voided_instalment_takes_back_what_the_balance_took_up(
    cast: Cast, job: Job, three_part: list[Instalment]
) -> None:
    """The instalments always add up to the value: the balance gave the void deposit's share
    back when it was voided, and gives it up again when the deposit is asked for again."""
    deposit, *_ = three_part
    request(cast, deposit)
    void(cast, deposit)
    assert table(job)[2][2] == D("6500.00")
    assert request(cast, deposit).amount == D("2500.00")
    assert [row[2:4] for row in table(job)] == [
        (D("2500.00"), R),
        (D("3500.00"), S),
        (D("4000.00"), S),
    ]
    schedule = selectors.schedule_of(fresh(job), viewer_of(cast, cast.admin))
    assert schedule is not None
    assert (schedule.scheduled, schedule.shortfall) == (D("10000.00"), D(0))


# ----------------------------------------------------------------------------- dated trigger

UTC = dt.UTC
# 08:00 on Tue 4 Jun 2030 in Sydney (AEST, UTC+10) is still Mon 3 Jun in UTC.
SYDNEY_MORNING = dt.datetime(2030, 6, 3, 22, 0, tzinfo=UTC)
JUNE_4 = dt.date(2030, 6, 4)
# 22:00 on Mon 3 Jun 2024 in Sydney: Tue 4 Jun 2024 hasn't come there yet.
SYDNEY_EVENING_BEFORE = dt.datetime(2024, 6, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def in_sydney(cast: Cast) -> Cast:
    cast.workspace.time_zone = "Australia/Sydney"
    cast.workspace.save(update_fields=["time_zone"])
    return cast


def dated(cast: Cast, job: Job, on: dt.date) -> Instalment:
    deposit, _rest = save(
        cast,
        job,
        "10000.00",
        [
            fixed("Deposit", "1500.00", trigger=Trigger.DATE, trigger_on=on),
            balance(),
        ],
    )
    return deposit


def test_a_dated_instalment_is_requested_once_its_date_comes_in_the_workspaces_time_zone(
    in_sydney: Cast, job: Job
) -> None:
    deposit = dated(in_sydney, job, JUNE_4)
    assert services.dated_instalments_request(now=SYDNEY_MORNING) == 1
    deposit = reload(deposit)
    assert (deposit.status, deposit.triggered_at) == (R, SYDNEY_MORNING)
    assert Invoice.objects.get().reference == "INV-1001"
    # A second run (or a second scheduler) finds it done.
    assert services.dated_instalments_request(now=SYDNEY_MORNING) == 0
    assert services.dated_instalments_request(now=SYDNEY_MORNING + dt.timedelta(days=3)) == 0
    assert Invoice.objects.count() == 1


def test_a_dated_instalment_waits_while_its_date_has_not_come_in_the_workspaces_time_zone(
    in_sydney: Cast, job: Job
) -> None:
    deposit = dated(in_sydney, job, dt.date(2024, 6, 4))
    assert services.dated_instalments_request(now=SYDNEY_EVENING_BEFORE) == 0
    assert reload(deposit).status == S
    assert reload(deposit).triggered_at is None
    assert not Invoice.objects.exists()


def test_a_dated_instalment_today_is_requested_now(in_sydney: Cast, job: Job) -> None:
    """The periodic job's own call (no ``now``): today in Sydney."""
    deposit = dated(in_sydney, job, timezone.localdate(timezone=ZoneInfo("Australia/Sydney")))
    assert services.dated_instalments_request() == 1
    assert reload(deposit).status == R
    assert services.dated_instalments_request() == 0


def test_a_dated_instalment_that_cannot_be_asked_for_does_not_hold_up_the_others(
    cast: Cast, renovation: Pipeline, job: Job, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run takes a batch of the dates that have come; one that can't be requested (a job
    without a customer) must not keep every later one out of every run."""
    monkeypatch.setattr(services, "DATED_PER_RUN", 1)
    nobodys = new_job(cast, renovation, title="Nobody's", customer=None)
    dated(cast, nobodys, dt.date(2024, 1, 1))
    priyas = dated(cast, job, dt.date(2024, 6, 1))
    for _ in range(3):  # three runs of the periodic job
        services.dated_instalments_request()
    assert reload(priyas).status == R
    assert Invoice.objects.get().instalment_id == priyas.pk


# ----------------------------------------------------------------------------- the feed

# Amounts no id, invoice number or date in these tests spells.
VALUE, DEPOSIT, REST = D("98765.43"), D("24681.37"), D("74084.06")
PAID, REFUNDED = D("13579.24"), D("8642.97")


def digits_of(amount: Decimal) -> set[str]:
    """The ways an amount could be written into JSON."""
    plain = f"{amount:.2f}"
    whole = plain.split(".")[0]
    return {plain, f"{amount:,.2f}", plain.replace(".", ""), whole, str(amount.normalize())}


def new_entries(job: Job, since: int) -> list[Activity]:
    return [a for a in feed(job) if a.pk > since]


def last_id() -> int:
    return Activity.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_each_change_writes_one_entry_with_no_amount_in_it(cast: Cast, job: Job) -> None:
    """The rule: every change is one feed entry and none carries an amount; what is asked of
    the customer and what they paid (requests, voids, payments, refunds) is theirs to read,
    the schedule's changes are staff-only."""
    written: list[Activity] = []

    def step(kinds: list[str], change: Any) -> Any:
        since = last_id()
        result = change()
        entries = new_entries(job, since)
        assert [e.kind for e in entries] == kinds, change
        written.extend(entries)
        return result

    deposit, rest = step(
        [ActivityKind.SCHEDULE_CHANGED],
        lambda: save(
            cast,
            job,
            VALUE,
            [
                fixed("Deposit", str(DEPOSIT)),
                balance(**on_stage(job, "Install")),
            ],
        ),
    )
    step([ActivityKind.INSTALMENT_REQUESTED], lambda: request(cast, deposit))
    payment = step([ActivityKind.PAYMENT_RECORDED], lambda: pay(cast, deposit, PAID))
    step([ActivityKind.PAYMENT_REFUNDED], lambda: refund(cast, payment, REFUNDED))
    step(
        [ActivityKind.STATUS_CHANGED, ActivityKind.INSTALMENT_REQUESTED],
        lambda: move(cast, job, "Install"),
    )
    step([ActivityKind.PAYMENT_REFUNDED], lambda: refund(cast, payment, PAID - REFUNDED))
    step([ActivityKind.INSTALMENT_VOIDED], lambda: void(cast, deposit))
    step(
        [ActivityKind.SCHEDULE_CHANGED],
        lambda: save(
            cast,
            job,
            VALUE,
            [
                kept(reload(deposit)),
                kept(reload(rest)),
                balance("Final balance"),
            ],
        ),
    )

    amounts = {VALUE, DEPOSIT, REST, PAID, REFUNDED, PAID - REFUNDED}
    for entry in written:
        if entry.kind == ActivityKind.STATUS_CHANGED:
            continue
        text = json.dumps(entry.data)
        for amount in amounts:
            for spelled in digits_of(amount):
                assert spelled not in text, (entry.kind, spelled, text)
        customers_read = entry.kind in (
            ActivityKind.INSTALMENT_REQUESTED, ActivityKind.INSTALMENT_VOIDED,
            ActivityKind.PAYMENT_RECORDED, ActivityKind.PAYMENT_REFUNDED,
        )  # fmt: skip
        expected = Visibility.CUSTOMER if customers_read else Visibility.INTERNAL
        assert entry.visibility == expected, entry.kind
    by_kind = {e.kind: e for e in written}
    assert by_kind[ActivityKind.INSTALMENT_VOIDED].data == {
        "instalment": deposit.pk,
        "label": "Deposit",
        "invoice": "INV-1001",
        "reason": "Issued by mistake",
        "invoice_id": Invoice.objects.get(number=1001).pk,
    }
    assert by_kind[ActivityKind.SCHEDULE_CHANGED].data == {
        "labels": ["Balance", "Final balance"],
        "value_changed": False,
    }
    requests = [e for e in written if e.kind == ActivityKind.INSTALMENT_REQUESTED]
    assert [(e.data["invoice"], e.actor, e.actor_kind) for e in requests] == [
        ("INV-1001", cast.admin, ActorKind.STAFF),
        ("INV-1002", None, ActorKind.SYSTEM),
    ]
    assert requests[1].data["reason"] == "entering Install"
    assert written[0].data == {"labels": ["Deposit", "Balance"], "value_changed": True}


def test_a_refused_change_writes_no_entry(
    cast: Cast, job: Job, three_part: list[Instalment]
) -> None:
    deposit, install, _rest = three_part
    since = last_id()
    for refused in (
        lambda: save(cast, job, "10000.00", [balance(), balance()]),
        lambda: pay(cast, install, "10.00"),
        lambda: void(cast, deposit, reason=""),
    ):
        with pytest.raises(ValidationError):
            refused()
    assert new_entries(job, since) == []
    request(cast, deposit)
    since = last_id()
    for refused in (
        lambda: request(cast, deposit),
        lambda: pay(cast, deposit, "99999.00"),
        lambda: refund(cast, pay(cast, deposit, "10.00"), "20.00"),
    ):
        with pytest.raises(ValidationError):
            refused()
    assert [e.kind for e in new_entries(job, since)] == [ActivityKind.PAYMENT_RECORDED]


# ----------------------------------------------------------------------------- who sees money


@pytest.fixture
def money_everywhere(cast: Cast, job: Job, outsiders_job: Job) -> dict[str, list[Any]]:
    """An instalment, its invoice and a payment in Harbour, and the same in the outsider's
    workspace: by table, every row."""
    (ours,) = save(cast, job, "900.00", [balance()])
    request(cast, ours)
    pay(cast, ours, "100.00")
    (theirs,) = services.schedule_save(
        job=outsiders_job,
        value=D("800.00"),
        rows=[balance()],
        actor=cast.outsider,
        expected_version=None,
    )
    services.instalment_request(instalment=reload(theirs), actor=cast.outsider)
    services.payment_record(
        instalment=reload(theirs),
        amount="50.00",
        paid_on=dt.date(2026, 1, 5),
        method="cash",
        actor=cast.outsider,
    )
    return {
        "instalments": list(Instalment.objects.all()),
        "invoices": list(Invoice.objects.all()),
        "payments": list(Payment.objects.all()),
    }


VIEWERS = [
    "admin",
    "manager",
    "staff",
    "priya",
    "tom",
    "admin previewing priya",
    "outsider",
    "nobody",
]


def viewer_named(cast: Cast, name: str) -> Viewer | None:
    return {
        "admin": lambda: viewer_of(cast, cast.admin),
        "manager": lambda: viewer_of(cast, cast.manager),
        "staff": lambda: viewer_of(cast, cast.staff),
        "priya": lambda: customer_viewer(cast.customer),
        "tom": lambda: customer_viewer(cast.second_customer),
        "admin previewing priya": lambda: preview_viewer(
            cast.membership(cast.admin), cast.customer
        ),
        "outsider": lambda: outsider_viewer(cast),
        "nobody": lambda: None,
    }[name]()


def rule_lets_see(viewer: Viewer | None, workspace_id: int) -> bool:
    """The written rule: only members whose role is Admin or Manager, of the same workspace
    (a member's preview is the customer's view: invoices only, customer_may_see_invoice)."""
    if viewer is None or viewer.customer_id is not None:
        return False
    membership = Membership.objects.filter(
        user_id=viewer.user_id, workspace_id=viewer.workspace_id
    ).first()
    return (
        membership is not None
        and membership.role in ("admin", "manager")
        and viewer.workspace_id == workspace_id
    )


@pytest.mark.parametrize("who", VIEWERS)
def test_only_admins_and_managers_of_the_workspace_see_its_money(
    cast: Cast, money_everywhere: dict[str, list[Any]], who: str
) -> None:
    viewer = viewer_named(cast, who)
    for model, rows in (
        (Instalment, money_everywhere["instalments"]),
        (Invoice, money_everywhere["invoices"]),
        (Payment, money_everywhere["payments"]),
    ):
        expected = {row.pk for row in rows if rule_lets_see(viewer, row.workspace_id)}
        if model is Invoice:
            expected |= {row.pk for row in rows if customer_may_see_invoice(viewer, row)}
        seen = set(model.objects.visible_to(viewer).values_list("pk", flat=True))
        assert seen == expected, (who, model.__name__)
        # Each gets something to see: their own workspace's rows; Priya her own invoices.
        if who in ("admin", "manager", "outsider") or (model is Invoice and "priya" in who):
            assert expected, (who, model.__name__)


def customer_may_see_invoice(viewer: Viewer | None, invoice: Invoice) -> bool:
    """The written rule for invoices: a customer sees the invoices of their own jobs that are
    not archived; a member's preview of them, only when the member is an Admin or Manager."""
    if viewer is None or viewer.customer_id is None:
        return False
    job = Job.objects.get(pk=invoice.job_id)
    if job.customer_id != viewer.customer_id or job.archived_at is not None:
        return False
    if (
        viewer.user_id is not None
        and Membership.objects.filter(
            user_id=viewer.user_id, workspace_id=viewer.workspace_id
        ).exists()
    ):
        return Membership.objects.get(
            user_id=viewer.user_id, workspace_id=viewer.workspace_id
        ).role in ("admin", "manager")
    return True


@pytest.mark.parametrize("who", VIEWERS)
def test_the_jobs_schedule_is_read_only_by_admins_and_managers_of_its_workspace(
    cast: Cast, job: Job, three_part: list[Instalment], who: str
) -> None:
    deposit, install, _rest = three_part
    request(cast, deposit)
    request(cast, install)
    pay(cast, deposit, "2500.00")
    pay(cast, install, "1000.00")
    viewer = viewer_named(cast, who)
    schedule = selectors.schedule_of(fresh(job), viewer)
    section = selectors.job_page_payments(fresh(job), viewer)
    if not rule_lets_see(viewer, cast.workspace.pk):
        assert schedule is None, who
        assert section is None, who
        return
    assert section is not None
    assert section.context["schedule"].requested == D("6000.00")
    assert schedule is not None
    assert (schedule.value, schedule.requested, schedule.paid, schedule.outstanding) == (
        D("10000.00"),
        D("6000.00"),
        D("3500.00"),
        D("2500.00"),
    )
    assert schedule.next is not None and schedule.next.pk == install.pk
    assert [i.label for i in schedule.instalments] == ["Deposit", "Install payment", "Balance"]
    assert schedule.instalments[0].all_invoices[0].reference == "INV-1001"  # type: ignore[attr-defined]
    assert schedule.currency == "GBP"
