"""Default schedules, from the written rule: a pipeline can carry a default payment schedule
(its Admins set it on the pipeline's Payment schedule page), and each new job of the pipeline
gets a copy, worked out over the job's value once it has one. The five templates come with
theirs (trades: 30 % on entering Deposit, 40 % on entering Install, the balance on entering
Final payment). A default schedule has no dates and must add up whatever a job is worth. A
converted quote's job is worth the quote's accepted total, and what it already went through
(the acceptance, the stage it was made in) requests what waited for it."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest

from jobline.billing import services
from jobline.billing.models import Instalment, Invoice, PipelineInstalment
from jobline.billing.services import InstalmentInput
from jobline.jobs.models import Job
from jobline.jobs.services import job_create, job_move
from jobline.pipelines.blueprints import BLUEPRINTS
from jobline.pipelines.models import Pipeline, Stage
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.quotes import services as quote_services
from jobline.quotes.models import Quote
from jobline.workspaces.models import AuditLogEntry
from tests.billing.test_payments_pages import rows_post
from tests.bookings.conftest import text_of
from tests.conftest import Cast, client_for
from tests.quotes.test_quote_views import a_quote, accepted, add_vat, quotes_everywhere, sent

CENT = Decimal("0.01")


def share(value: Decimal, percent: int) -> Decimal:
    return (value * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def stage_of(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name, deleted_at__isnull=True)


def rows_of(job: Job) -> list[tuple[str, Decimal, str]]:
    return [(i.label, i.amount, i.status) for i in Instalment.objects.filter(job=job)]


def as_typed(job: Job) -> list[InstalmentInput]:
    """The job's schedule as the editor would send it back unchanged."""
    return [
        InstalmentInput(id=i.pk, label=i.label, amount_kind=i.amount_kind, percent=i.percent,
                        trigger=i.trigger, trigger_stage=i.trigger_stage)
        for i in Instalment.objects.filter(job=job)
    ]  # fmt: skip


@pytest.fixture
def renovation(cast: Cast) -> Pipeline:
    return pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="renovation", actor=cast.admin
    )


@pytest.mark.parametrize("blueprint", BLUEPRINTS, ids=lambda b: b.key)
def test_every_template_comes_with_its_default_schedule(cast: Cast, blueprint: object) -> None:
    pipeline = pipeline_create_from_blueprint(
        workspace=cast.workspace,
        blueprint_key=blueprint.key,
        actor=cast.admin,  # type: ignore[attr-defined]
    )
    defaults = list(PipelineInstalment.objects.filter(pipeline=pipeline))
    wanted = blueprint.schedule  # type: ignore[attr-defined]
    assert [d.label for d in defaults] == [w.label for w in wanted]
    assert len(defaults) >= 1
    for default, written in zip(defaults, wanted, strict=True):
        assert default.trigger == written.trigger
        assert (default.trigger_stage.name if default.trigger_stage else "") == written.stage
    # The last is the balance in every template: it adds up whatever the job is worth.
    assert defaults[-1].amount_kind == "balance"


def test_a_new_job_gets_a_copy_worked_out_once_it_has_a_value(
    cast: Cast, renovation: Pipeline
) -> None:
    job = job_create(
        workspace=cast.workspace,
        pipeline=renovation,
        title="Loft",
        actor=cast.admin,
        customer=cast.customer,
    )
    assert rows_of(job) == [
        ("Deposit", Decimal("0.00"), "scheduled"),
        ("Install", Decimal("0.00"), "scheduled"),
        ("Balance", Decimal("0.00"), "scheduled"),
    ]
    rows = as_typed(job)
    value = Decimal("9999.99")
    services.schedule_save(job=job, value=value, rows=rows, actor=cast.admin, expected_version=None)
    deposit, install = share(value, 30), share(value, 40)
    assert rows_of(job) == [
        ("Deposit", deposit, "scheduled"),
        ("Install", install, "scheduled"),
        ("Balance", value - deposit - install, "scheduled"),
    ]


def test_entering_a_trigger_stage_before_the_job_has_a_value_requests_nothing_yet(
    cast: Cast, renovation: Pipeline
) -> None:
    job = job_create(
        workspace=cast.workspace,
        pipeline=renovation,
        title="Loft",
        actor=cast.admin,
        customer=cast.customer,
    )
    deposit_stage, quote_stage = stage_of(renovation, "Deposit"), stage_of(renovation, "Quote")
    job_move(
        job=job,
        stage=deposit_stage,
        actor=cast.admin,
        expected_version=None,
        enforce_required=False,
    )
    assert not Invoice.objects.exists()
    assert Instalment.objects.get(job=job, label="Deposit").triggered_at is None
    rows = as_typed(job)
    services.schedule_save(
        job=job, value=Decimal(1000), rows=rows, actor=cast.admin, expected_version=None
    )
    for stage in (quote_stage, deposit_stage):
        job_move(
            job=Job.objects.get(pk=job.pk),
            stage=stage,
            actor=cast.admin,
            expected_version=None,
            enforce_required=False,
        )
    [invoice] = Invoice.objects.all()
    assert (invoice.instalment.label, invoice.amount) == ("Deposit", Decimal("300.00"))


def test_a_converted_quote_gives_the_job_its_value_and_fires_what_it_went_through(
    cast: Cast, renovation: Pipeline
) -> None:
    vat = add_vat(quotes_everywhere(cast))
    quote = accepted(sent(cast, a_quote(cast, vat=vat)))
    value = Quote.objects.get(pk=quote.pk).accepted_total
    job = quote_services.quote_convert(
        quote=Quote.objects.get(pk=quote.pk),
        actor=cast.admin,
        pipeline=renovation,
        stage=stage_of(renovation, "Deposit"),
    )
    assert Job.objects.get(pk=job.pk).value == value
    deposit, install = share(value, 30), share(value, 40)
    assert rows_of(job) == [
        ("Deposit", deposit, "requested"),
        ("Install", install, "scheduled"),
        ("Balance", value - deposit - install, "scheduled"),
    ]
    [invoice] = Invoice.objects.all()
    assert invoice.amount == deposit and invoice.reference == "INV-1001"
    page = client_for(cast.admin).get(f"/jobs/{job.number}/")
    assert "requested the Deposit (INV-1001), on conversion of Q-1001" in text_of(page.text)


def test_an_accepted_quote_requests_what_waits_for_acceptance(cast: Cast) -> None:
    standard = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="standard", actor=cast.admin
    )
    vat = add_vat(quotes_everywhere(cast))
    quote = accepted(sent(cast, a_quote(cast, vat=vat)))
    job = quote_services.quote_convert(
        quote=Quote.objects.get(pk=quote.pk), actor=cast.admin, pipeline=standard
    )
    value = Job.objects.get(pk=job.pk).value
    assert rows_of(job) == [
        ("Deposit", share(value, 25), "requested"),
        ("Balance", value - share(value, 25), "scheduled"),
    ]


def test_a_quote_converted_before_acceptance_requests_nothing_on_acceptance(
    cast: Cast,
) -> None:
    standard = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="standard", actor=cast.admin
    )
    vat = add_vat(quotes_everywhere(cast))
    quote = sent(cast, a_quote(cast, vat=vat))
    job = quote_services.quote_convert(
        quote=Quote.objects.get(pk=quote.pk),
        actor=cast.admin,
        pipeline=standard,
        without_acceptance=True,
    )
    assert [status for _label, _amount, status in rows_of(job)] == ["scheduled", "scheduled"]
    assert not Invoice.objects.exists()


# ----------------------------------------------------------------------------- the page


def page(pipeline: Pipeline) -> str:
    return f"/billing/pipelines/{pipeline.pk}/"


def post_rows(*rows: dict[str, str]) -> dict[str, str]:
    return rows_post(*rows, dated=False)


def test_an_admin_changes_the_default_and_new_jobs_get_it(cast: Cast, renovation: Pipeline) -> None:
    admin = client_for(cast.admin)
    shown = admin.get(page(renovation))
    assert shown.status_code == 200
    assert 'value="Deposit"' in shown.text and 'value="30"' in shown.text
    assert 'value="date"' not in shown.text  # no dates in a default
    install = str(stage_of(renovation, "Install").pk)
    response = admin.post(
        page(renovation),
        post_rows(
            {"label": "Booking fee", "amount_kind": "fixed", "amount": "250"},
            {"label": "On install", "percent": "50", "trigger": "stage", "trigger_stage": install},
            {"label": "Rest", "amount_kind": "balance", "trigger": "won"},
        ),
    )
    assert response.status_code == 302
    job = job_create(
        workspace=cast.workspace,
        pipeline=renovation,
        title="Porch",
        actor=cast.admin,
        customer=cast.customer,
    )
    assert [(i.label, i.amount) for i in Instalment.objects.filter(job=job)] == [
        ("Booking fee", Decimal("250.00")),
        ("On install", Decimal("0.00")),
        ("Rest", Decimal("0.00")),
    ]
    made, changed = AuditLogEntry.objects.filter(
        action="pipeline.schedule_changed", target=renovation.name
    ).order_by("pk")
    assert (made.old_value, made.new_value) == (
        "none",
        "Deposit 30 %, Install 40 %, Balance balance",
    )
    audit = changed
    assert audit.old_value == "Deposit 30 %, Install 40 %, Balance balance"
    assert audit.new_value == "Booking fee 250.00 GBP, On install 50 %, Rest balance"


def test_jobs_a_pipeline_already_has_keep_their_schedule(cast: Cast, renovation: Pipeline) -> None:
    job = job_create(
        workspace=cast.workspace,
        pipeline=renovation,
        title="Loft",
        actor=cast.admin,
        customer=cast.customer,
    )
    client_for(cast.admin).post(page(renovation), post_rows())
    assert not PipelineInstalment.objects.filter(pipeline=renovation).exists()
    assert [label for label, _a, _s in rows_of(job)] == ["Deposit", "Install", "Balance"]
    later = job_create(
        workspace=cast.workspace,
        pipeline=renovation,
        title="Porch",
        actor=cast.admin,
        customer=cast.customer,
    )
    assert rows_of(later) == []


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            ({"label": "Deposit", "percent": "30"}, {"label": "More", "percent": "30"}),
            "make the last instalment the balance, or give every instalment a share",
        ),
        (
            (
                {"label": "Half", "percent": "60"},
                {"label": "Half", "percent": "40"},
                {"label": "Rest", "amount_kind": "balance"},
            ),
            "The shares come to 100 %: nothing would be left for the balance.",
        ),
        (
            ({"label": "Rest", "amount_kind": "balance"}, {"label": "Then", "percent": "10"}),
            "Only the last instalment can be the balance.",
        ),
        (
            (
                {"label": "Fee", "amount_kind": "fixed", "amount": "0"},
                {"label": "Rest", "amount_kind": "balance"},
            ),
            "An amount is more than zero.",
        ),
        (
            ({"label": "Rest", "amount_kind": "balance", "trigger": "date"},),
            "Select a valid choice.",
        ),
        (
            ({"label": "Rest", "amount_kind": "balance", "trigger": "stage"},),
            "Choose a stage of this job's pipeline.",
        ),
    ],
)
def test_a_default_that_would_not_add_up_is_refused(
    cast: Cast, renovation: Pipeline, rows: tuple[dict[str, str], ...], message: str
) -> None:
    before = list(PipelineInstalment.objects.filter(pipeline=renovation).values_list("label"))
    response = client_for(cast.admin).post(page(renovation), post_rows(*rows))
    assert response.status_code == 400
    assert message in text_of(response.text)
    after = list(PipelineInstalment.objects.filter(pipeline=renovation).values_list("label"))
    assert after == before


def test_the_service_refuses_dates_in_a_default(cast: Cast, renovation: Pipeline) -> None:
    with pytest.raises(services.ScheduleRowError) as refused:
        services.pipeline_schedule_save(
            pipeline=renovation,
            actor=cast.admin,
            rows=[
                InstalmentInput(
                    label="Rest",
                    amount_kind="balance",
                    trigger="date",
                    trigger_on=dt.date(2027, 1, 1),
                )
            ],
        )
    assert "can't ask on a date" in str(refused.value)


def test_only_admins_edit_a_default_and_other_workspaces_get_404(
    cast: Cast, renovation: Pipeline
) -> None:
    for user in (cast.manager, cast.staff):
        assert client_for(user).get(page(renovation)).status_code == 403
        assert client_for(user).post(page(renovation), post_rows()).status_code == 403
    assert client_for(cast.outsider).get(page(renovation)).status_code == 404
    assert PipelineInstalment.objects.filter(pipeline=renovation).count() == 3
    listed = client_for(cast.admin).get(f"/jobs/pipelines/{renovation.pk}/")
    assert f'href="/billing/pipelines/{renovation.pk}/"' in listed.text
