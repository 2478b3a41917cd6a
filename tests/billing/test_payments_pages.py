"""A job's Payments page and the job page's Payments section, from each role's side.

The written rule: amounts, the schedule and its forms are for Admins and Managers of the job's
workspace; Staff get a 403 on the Payments page and no Payments section (and no amount) on the
job page; another workspace gets a 404. Bad input is answered next to what was wrong, with
the typed input kept and nothing saved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from jobline.billing.models import Instalment, InstalmentStatus, Invoice, Payment
from jobline.jobs.models import Job
from jobline.jobs.services import job_create, job_move
from jobline.pipelines.models import Pipeline, Stage
from jobline.pipelines.services import pipeline_create_from_blueprint
from tests.bookings.conftest import section, text_of
from tests.conftest import Cast, client_for


@pytest.fixture
def renovation(cast: Cast) -> Pipeline:
    return pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="renovation", actor=cast.admin
    )


def stage_of(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name, deleted_at__isnull=True)


@pytest.fixture
def bathroom(cast: Cast, renovation: Pipeline) -> Job:
    """Priya's bathroom, in Quote, owned by Sam (Staff), no value yet: the trades pipeline's
    default schedule copied, worth nothing yet."""
    job = job_create(
        workspace=cast.workspace,
        pipeline=renovation,
        title="Bathroom",
        actor=cast.admin,
        owner=cast.staff,
        customer=cast.customer,
    )
    assert instalments(job) == AS_COPIED
    return job


# What a new job of the trades pipeline gets: its default schedule, worth nothing until the
# job has a value.
AS_COPIED = [
    ("Deposit", Decimal("0.00"), "scheduled"),
    ("Install", Decimal("0.00"), "scheduled"),
    ("Balance", Decimal("0.00"), "scheduled"),
]


def page_url(job: Job) -> str:
    return f"/billing/jobs/{job.number}/"


def rows_post(*rows: dict[str, str], dated: bool = True) -> dict[str, str]:
    """The schedule editor's rows as the form names them (a pipeline's default: no dates)."""
    data = {"instalment-TOTAL_FORMS": str(len(rows)), "instalment-INITIAL_FORMS": "0"}
    defaults = {"id": "", "label": "", "amount_kind": "percent", "percent": "", "amount": "",
                "trigger": "manual", "trigger_stage": ""}  # fmt: skip
    if dated:
        defaults["trigger_on"] = ""
    for index, row in enumerate(rows):
        for name, default in defaults.items():
            data[f"instalment-{index}-{name}"] = row.get(name, default)
    return data


def schedule_post(job: Job, value: str, *rows: dict[str, str]) -> dict[str, str]:
    """The Payments page's POST: the job's version, the value, then each row."""
    return {"version": str(Job.objects.get(pk=job.pk).version), "value": value,
            **rows_post(*rows)}  # fmt: skip


def trades_rows(renovation: Pipeline) -> tuple[dict[str, str], ...]:
    """30 % on entering Deposit, 40 % on entering Install, the balance when won."""
    return (
        {
            "label": "Deposit",
            "percent": "30",
            "trigger": "stage",
            "trigger_stage": str(stage_of(renovation, "Deposit").pk),
        },
        {
            "label": "Install",
            "percent": "40",
            "trigger": "stage",
            "trigger_stage": str(stage_of(renovation, "Install").pk),
        },
        {"label": "Balance", "amount_kind": "balance", "trigger": "won"},
    )


@pytest.fixture
def scheduled(cast: Cast, bathroom: Job, renovation: Pipeline) -> Job:
    """The bathroom worth 12,000.00 on the trades schedule, saved through the page."""
    response = client_for(cast.admin).post(
        page_url(bathroom), schedule_post(bathroom, "12000", *trades_rows(renovation))
    )
    assert response.status_code == 302
    return Job.objects.get(pk=bathroom.pk)


def instalments(job: Job) -> list[tuple[str, Decimal, str]]:
    return [(i.label, i.amount, i.status) for i in Instalment.objects.filter(job=job)]


def test_an_admin_sets_up_the_schedule_and_sees_it(cast: Cast, scheduled: Job) -> None:
    assert scheduled.value == Decimal("12000.00")
    assert instalments(scheduled) == [
        ("Deposit", Decimal("3600.00"), "scheduled"),
        ("Install", Decimal("4800.00"), "scheduled"),
        ("Balance", Decimal("3600.00"), "scheduled"),
    ]
    page = client_for(cast.admin).get(page_url(scheduled))
    assert page.status_code == 200
    words = text_of(section(page.text, "schedule"))
    assert "Deposit 30 % £3,600.00 On entering Deposit Scheduled" in words
    assert "Balance the rest £3,600.00 When the job is won Scheduled" in words


def test_the_job_page_shows_value_paid_outstanding_and_next_to_money_roles(
    cast: Cast, scheduled: Job
) -> None:
    for user in (cast.admin, cast.manager):
        page = client_for(user).get(f"/jobs/{scheduled.number}/")
        assert page.status_code == 200
        words = text_of(section(page.text, "payments"))
        assert "Value £12,000.00 Paid £0.00 Outstanding £0.00" in words
        assert "Next Deposit £3,600.00 · On entering Deposit" in words


def test_staff_see_no_payments_section_and_no_amount(cast: Cast, scheduled: Job) -> None:
    page = client_for(cast.staff).get(f"/jobs/{scheduled.number}/")
    assert page.status_code == 200
    assert 'id="payments"' not in page.text
    for amount in ("12,000", "3,600", "4,800", "12000", "3600"):
        assert amount not in page.text
    assert client_for(cast.staff).get(page_url(scheduled)).status_code == 403


def test_staff_cannot_change_money(cast: Cast, scheduled: Job, renovation: Pipeline) -> None:
    staff = client_for(cast.staff)
    deposit = Instalment.objects.get(job=scheduled, label="Deposit")
    assert staff.post(page_url(scheduled), schedule_post(scheduled, "1")).status_code == 403
    assert staff.post(f"/billing/instalments/{deposit.pk}/request/").status_code == 403
    assert Job.objects.get(pk=scheduled.pk).value == Decimal("12000.00")
    assert not Invoice.objects.exists()


def test_the_feed_says_what_happened_without_amounts(cast: Cast, scheduled: Job) -> None:
    deposit = Instalment.objects.get(job=scheduled, label="Deposit")
    client_for(cast.admin).post(f"/billing/instalments/{deposit.pk}/request/")
    page = client_for(cast.staff).get(f"/jobs/{scheduled.number}/")
    words = text_of(page.text)
    assert "requested the Deposit (INV-1001)" in words
    assert "changed the value and the payment schedule: Deposit → Install → Balance" in words
    assert "3,600" not in page.text


def test_a_schedule_that_does_not_add_up_is_refused_next_to_its_row(
    cast: Cast, bathroom: Job, renovation: Pipeline
) -> None:
    rows = (
        {"label": "Deposit", "percent": "30"},
        {"label": "Middle", "percent": "30"},
        {"label": "Last bit", "percent": "30"},
    )
    response = client_for(cast.admin).post(
        page_url(bathroom), schedule_post(bathroom, "1000", *rows)
    )
    assert response.status_code == 400
    words = text_of(response.text)
    assert "The instalments come to 900.00 GBP but the value is 1,000.00 GBP" in words
    assert 'value="Last bit"' in response.text  # the typed rows stay
    assert 'name="value"' in response.text and 'value="1000"' in response.text
    assert instalments(bathroom) == AS_COPIED
    assert Job.objects.get(pk=bathroom.pk).value is None


@pytest.mark.parametrize(
    ("value", "row", "message"),
    [
        ("-5", {"label": "All", "amount_kind": "balance"}, "A job's value can't be negative."),
        (
            "100",
            {"label": "Too much", "amount_kind": "fixed", "amount": "150"},
            "The instalments come to 150.00 GBP but the value is 100.00 GBP",
        ),
        (
            "100",
            {"label": "", "amount_kind": "fixed", "amount": "150", "id": "999999"},
            "is not on this job",
        ),
        (
            "100",
            {"label": "Negative", "amount_kind": "fixed", "amount": "-1"},
            "An amount can't be negative.",
        ),
        (
            "100",
            {"label": "On a day", "amount_kind": "balance", "trigger": "date"},
            "Give the date it is requested on.",
        ),
        (
            "100",
            {"label": "Stage", "amount_kind": "balance", "trigger": "stage"},
            "Choose a stage of this job's pipeline.",
        ),
    ],
)
def test_bad_schedules_are_refused_with_a_message(
    cast: Cast, bathroom: Job, value: str, row: dict[str, str], message: str
) -> None:
    response = client_for(cast.admin).post(page_url(bathroom), schedule_post(bathroom, value, row))
    assert response.status_code == 400
    assert message in text_of(response.text)
    assert instalments(bathroom) == AS_COPIED


def test_a_stale_page_changes_nothing(cast: Cast, scheduled: Job, renovation: Pipeline) -> None:
    data = schedule_post(scheduled, "20000", *trades_rows(renovation))
    data["version"] = str(scheduled.version - 1)
    response = client_for(cast.admin).post(page_url(scheduled), data)
    assert response.status_code == 302
    assert Job.objects.get(pk=scheduled.pk).value == Decimal("12000.00")
    followed = client_for(cast.admin).get(page_url(scheduled))
    assert followed.status_code == 200


def test_entering_the_deposit_stage_requests_it_and_the_page_shows_the_invoice(
    cast: Cast, scheduled: Job, renovation: Pipeline
) -> None:
    job_move(
        job=scheduled,
        stage=stage_of(renovation, "Deposit"),
        actor=cast.admin,
        expected_version=None,
        enforce_required=False,
    )
    deposit = Instalment.objects.get(job=scheduled, label="Deposit")
    assert deposit.status == InstalmentStatus.REQUESTED
    page = client_for(cast.manager).get(page_url(scheduled))
    words = text_of(section(page.text, "schedule"))
    assert "Requested" in words and "INV-1001 due" in words
    assert "Outstanding £3,600.00" in text_of(page.text)


def test_staff_record_a_part_payment_then_the_rest(cast: Cast, scheduled: Job) -> None:
    admin = client_for(cast.admin)
    deposit = Instalment.objects.get(job=scheduled, label="Deposit")
    admin.post(f"/billing/instalments/{deposit.pk}/request/")
    today = dt.date.today().isoformat()
    paid = {"amount": "1000", "paid_on": today, "method": "bank_transfer", "reference": "BT-1"}
    assert admin.post(f"/billing/instalments/{deposit.pk}/pay/", paid).status_code == 302
    assert Instalment.objects.get(pk=deposit.pk).status == InstalmentStatus.PART_PAID
    page = admin.get(f"/jobs/{scheduled.number}/")
    assert "Paid £1,000.00 Outstanding £2,600.00" in text_of(section(page.text, "payments"))
    rest = {**paid, "amount": "2600", "reference": "BT-2"}
    assert admin.post(f"/billing/instalments/{deposit.pk}/pay/", rest).status_code == 302
    assert Instalment.objects.get(pk=deposit.pk).status == InstalmentStatus.PAID
    page = admin.get(page_url(scheduled))
    assert "Paid £3,600.00" in text_of(page.text)
    assert "Payment on" in text_of(page.text) and "BT-2" in page.text


def test_overpaying_is_refused_next_to_the_amount_with_the_input_kept(
    cast: Cast, scheduled: Job
) -> None:
    admin = client_for(cast.admin)
    deposit = Instalment.objects.get(job=scheduled, label="Deposit")
    admin.post(f"/billing/instalments/{deposit.pk}/request/")
    data = {
        "amount": "5000",
        "paid_on": dt.date.today().isoformat(),
        "method": "card",
        "reference": "Typed ref",
    }
    response = admin.post(f"/billing/instalments/{deposit.pk}/pay/", data)
    assert response.status_code == 400
    assert "That is more than the 3,600.00 GBP still owed on the Deposit." in text_of(response.text)
    assert 'value="Typed ref"' in response.text
    assert f'id="id_pay{deposit.pk}_amount"' in response.text
    assert '<details class="money-action" open>' in response.text
    assert not Payment.objects.exists()


def test_paying_a_void_instalment_is_refused(cast: Cast, scheduled: Job) -> None:
    admin = client_for(cast.admin)
    deposit = Instalment.objects.get(job=scheduled, label="Deposit")
    admin.post(f"/billing/instalments/{deposit.pk}/request/")
    voided = admin.post(f"/billing/instalments/{deposit.pk}/void/", {"reason": "Wrong amount"})
    assert voided.status_code == 302
    data = {"amount": "10", "paid_on": dt.date.today().isoformat(), "method": "cash"}
    response = admin.post(f"/billing/instalments/{deposit.pk}/pay/", data)
    assert response.status_code == 400
    assert "The Deposit is void: nothing is owed on it." in text_of(response.text)
    assert Invoice.objects.get().status == "void"


def test_voiding_needs_a_reason(cast: Cast, scheduled: Job) -> None:
    deposit = Instalment.objects.get(job=scheduled, label="Deposit")
    response = client_for(cast.admin).post(
        f"/billing/instalments/{deposit.pk}/void/", {"reason": "  "}
    )
    assert response.status_code == 400
    assert "This field is required." in text_of(response.text) or "Say why" in response.text
    assert Instalment.objects.get(pk=deposit.pk).status == InstalmentStatus.SCHEDULED


def test_a_refund_with_its_reason_gives_the_money_back(cast: Cast, scheduled: Job) -> None:
    admin = client_for(cast.admin)
    deposit = Instalment.objects.get(job=scheduled, label="Deposit")
    admin.post(f"/billing/instalments/{deposit.pk}/request/")
    today = dt.date.today().isoformat()
    admin.post(
        f"/billing/instalments/{deposit.pk}/pay/",
        {"amount": "3600", "paid_on": today, "method": "card"},
    )
    payment = Payment.objects.get()
    without_reason = admin.post(f"/billing/payments/{payment.pk}/refund/", {"amount": "100"})
    assert without_reason.status_code == 400
    refunded = admin.post(
        f"/billing/payments/{payment.pk}/refund/", {"amount": "600", "reason": "Tiles returned"}
    )
    assert refunded.status_code == 302
    held = Instalment.objects.get(pk=deposit.pk)
    assert (held.paid, held.status) == (Decimal("3000.00"), InstalmentStatus.PART_PAID)
    page = admin.get(page_url(scheduled))
    assert "Refund on" in text_of(page.text) and "Tiles returned" in page.text
    too_much = admin.post(
        f"/billing/payments/{payment.pk}/refund/", {"amount": "3001", "reason": "Everything"}
    )
    assert too_much.status_code == 400
    assert "Only 3,000.00 GBP of that payment is left to refund." in text_of(too_much.text)


def test_changing_the_value_respreads_what_is_not_requested(
    cast: Cast, scheduled: Job, renovation: Pipeline
) -> None:
    admin = client_for(cast.admin)
    deposit = Instalment.objects.get(job=scheduled, label="Deposit")
    admin.post(f"/billing/instalments/{deposit.pk}/request/")
    page = admin.get(page_url(scheduled))
    assert f'name="instalment-0-id" value="{deposit.pk}"' in page.text
    rows = [
        {
            "id": str(i.pk),
            "label": i.label,
            "amount_kind": i.amount_kind,
            "percent": str(i.percent or ""),
            "trigger": i.trigger,
            "trigger_stage": str(i.trigger_stage_id or ""),
        }
        for i in Instalment.objects.filter(job=scheduled)
    ]
    response = admin.post(page_url(scheduled), schedule_post(scheduled, "20000", *rows))
    assert response.status_code == 302
    assert instalments(scheduled) == [
        ("Deposit", Decimal("3600.00"), "requested"),
        ("Install", Decimal("8000.00"), "scheduled"),
        ("Balance", Decimal("8400.00"), "scheduled"),
    ]
    below = admin.post(page_url(scheduled), schedule_post(scheduled, "3000", *rows))
    assert below.status_code == 400
    assert "3,600.00 GBP is already requested: the value can't be less than that." in text_of(
        below.text
    )
    assert Job.objects.get(pk=scheduled.pk).value == Decimal("20000.00")


def test_another_workspace_gets_404(cast: Cast, scheduled: Job) -> None:
    outsider: Client = client_for(cast.outsider)
    deposit = Instalment.objects.get(job=scheduled, label="Deposit")
    assert outsider.get(page_url(scheduled)).status_code == 404
    assert outsider.post(f"/billing/instalments/{deposit.pk}/request/").status_code == 404
    assert not Invoice.objects.exists()


def test_instalments_before_the_balance_over_the_value_are_refused_at_the_balance(
    cast: Cast, bathroom: Job
) -> None:
    rows = (
        {"label": "Deposit", "amount_kind": "fixed", "amount": "150"},
        {"label": "Balance", "amount_kind": "balance"},
    )
    response = client_for(cast.admin).post(
        page_url(bathroom), schedule_post(bathroom, "100", *rows)
    )
    assert response.status_code == 400
    assert "The instalments come to 150.00 GBP, more than the value of 100.00 GBP." in text_of(
        response.text
    )
    assert instalments(bathroom) == AS_COPIED


def test_the_board_card_shows_what_is_outstanding_to_money_roles_only(
    cast: Cast, scheduled: Job, renovation: Pipeline
) -> None:
    deposit = Instalment.objects.get(job=scheduled, label="Deposit")
    admin = client_for(cast.admin)
    admin.post(f"/billing/instalments/{deposit.pk}/request/")
    assert Job.objects.get(pk=scheduled.pk).money_outstanding == Decimal("3600.00")
    board = f"/jobs/board/{renovation.pk}/?cards=all"
    for user in (cast.admin, cast.manager):
        card = section_of_card(client_for(user).get(board).text, scheduled)
        assert "£3,600.00 due" in text_of(card)
    staff_card = section_of_card(client_for(cast.staff).get(board).text, scheduled)
    assert "due" not in text_of(staff_card).replace("No due date", "")
    assert "3,600" not in staff_card
    today = dt.date.today().isoformat()
    admin.post(f"/billing/instalments/{deposit.pk}/pay/",
               {"amount": "3600", "paid_on": today, "method": "cash"})  # fmt: skip
    assert Job.objects.get(pk=scheduled.pk).money_outstanding is None
    card = section_of_card(admin.get(board).text, scheduled)
    assert "3,600" not in card


def section_of_card(html: str, job: Job) -> str:
    """The board card of the job, up to its end."""
    start = html.index(f'id="job-card-{job.number}"')
    return html[start : html.index("</li>", start)]


def test_staff_see_no_amount_anywhere_they_go(cast: Cast, scheduled: Job) -> None:
    """The job page, its feed, the board, the list and its CSV, the dashboard: a requested,
    part-paid deposit leaves no amount on any of them for Staff."""
    admin = client_for(cast.admin)
    deposit = Instalment.objects.get(job=scheduled, label="Deposit")
    admin.post(f"/billing/instalments/{deposit.pk}/request/")
    paid = {"amount": "1234.56", "paid_on": dt.date.today().isoformat(), "method": "cash"}
    admin.post(f"/billing/instalments/{deposit.pk}/pay/", paid)
    staff = client_for(cast.staff)
    pages = [
        staff.get(f"/jobs/{scheduled.number}/").text,
        staff.get(f"/jobs/board/{scheduled.pipeline_id}/?cards=all").text,
        staff.get("/jobs/?owner=all").text,
        b"".join(staff.get("/jobs/export.csv?owner=all").streaming_content).decode(),
        staff.get("/dashboard/").text,
    ]
    for text in pages:
        for amount in (
            "12,000",
            "12000",
            "3,600",
            "3600",
            "1,234.56",
            "1234.56",
            "2,365.44",
            "2365.44",
        ):
            assert amount not in text
