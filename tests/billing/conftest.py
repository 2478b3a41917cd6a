"""Billing fixtures: Harbour's renovation pipeline (Quote, Deposit, Materials ordered, Install,
Snag list, Final payment, Completed — won —, Cancelled — lost), Priya's kitchen job in it,
and small helpers to write a schedule, move the job and read what the feed and the tables say.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from jobline.billing import services
from jobline.billing.models import AmountKind, Instalment, Invoice, Payment, Trigger
from jobline.billing.services import InstalmentInput
from jobline.customers.models import Customer
from jobline.jobs.models import Activity, Job
from jobline.jobs.services import job_create, job_move
from jobline.pipelines.models import Pipeline, Stage
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.workspaces.models import Membership
from jobline.workspaces.viewers import Viewer, member_viewer
from tests.conftest import Cast

D = Decimal


@pytest.fixture
def renovation(cast: Cast) -> Pipeline:
    return pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="renovation", actor=cast.admin
    )


def stage(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name, deleted_at__isnull=True)


def new_job(
    cast: Cast, pipeline: Pipeline, *, title: str = "Kitchen refit", customer: Any = "priya"
) -> Job:
    """A job in the pipeline's first stage; Priya's unless ``customer`` (None: nobody's)."""
    return job_create(
        workspace=pipeline.workspace,
        pipeline=pipeline,
        title=title,
        actor=cast.admin,
        owner=cast.staff,
        customer=cast.customer if customer == "priya" else customer,
    )


@pytest.fixture
def job(cast: Cast, renovation: Pipeline) -> Job:
    """Priya's kitchen refit, in Quote."""
    return new_job(cast, renovation)


def fresh(job: Job) -> Job:
    return Job.objects.select_related("workspace", "stage", "pipeline").get(pk=job.pk)


def move(cast: Cast, job: Job, name: str) -> Job:
    """Ada drags the job to the stage called ``name`` (required fields not enforced)."""
    job = fresh(job)
    return job_move(
        job=job,
        stage=stage(job.pipeline, name),
        actor=cast.admin,
        expected_version=None,
        enforce_required=False,
    )


def percent(label: str, share: str, **more: Any) -> InstalmentInput:
    return InstalmentInput(label=label, amount_kind=AmountKind.PERCENT, percent=D(share), **more)


def fixed(label: str, amount: str, **more: Any) -> InstalmentInput:
    return InstalmentInput(label=label, amount_kind=AmountKind.FIXED, amount=D(amount), **more)


def balance(label: str = "Balance", **more: Any) -> InstalmentInput:
    return InstalmentInput(label=label, amount_kind=AmountKind.BALANCE, **more)


def on_stage(job: Job, name: str) -> dict[str, Any]:
    return {"trigger": Trigger.STAGE, "trigger_stage": stage(fresh(job).pipeline, name)}


WON: dict[str, Any] = {"trigger": Trigger.WON}


def save(
    cast: Cast, job: Job, value: str | Decimal | None, rows: Sequence[InstalmentInput]
) -> list[Instalment]:
    """Ada saves the job's value and schedule."""
    return services.schedule_save(
        job=fresh(job),
        value=None if value is None else D(value),
        rows=rows,
        actor=cast.admin,
        expected_version=None,
    )


def kept(instalment: Instalment, **changes: Any) -> InstalmentInput:
    """The row of an existing instalment as the editor sends it back (with ``changes``)."""
    return dataclasses.replace(InstalmentInput.kept(instalment), **changes)


def reload(instalment: Instalment) -> Instalment:
    return Instalment.objects.select_related("job", "workspace").get(pk=instalment.pk)


def request(cast: Cast, instalment: Instalment) -> Invoice:
    """Ada asks for the instalment now."""
    return services.instalment_request(instalment=reload(instalment), actor=cast.admin)


def pay(cast: Cast, instalment: Instalment, amount: Any, **more: Any) -> Payment:
    """Max records a bank transfer received today (in Harbour's time zone)."""
    values: dict[str, Any] = {
        "paid_on": services.local_today(cast.workspace),
        "method": "bank_transfer",
        "reference": "",
        "actor": cast.manager,
    }
    values.update(more)
    return services.payment_record(instalment=reload(instalment), amount=amount, **values)


def refund(cast: Cast, payment: Payment, amount: Any, reason: str = "Paid twice") -> Payment:
    return services.payment_refund(
        payment=payment, amount=amount, reason=reason, actor=cast.manager
    )


def void(cast: Cast, instalment: Instalment, reason: str = "Issued by mistake") -> Instalment:
    return services.instalment_void(instalment=reload(instalment), actor=cast.admin, reason=reason)


def feed(job: Job) -> list[Activity]:
    return list(Activity.objects.filter(job_id=job.pk).order_by("created_at", "pk"))


def table(job: Job) -> list[tuple[Any, ...]]:
    """The job's instalments as rows: (label, kind, amount, status, position)."""
    return list(
        Instalment.objects.filter(job_id=job.pk)
        .order_by("position", "pk")
        .values_list("label", "amount_kind", "amount", "status", "position")
    )


def viewer_of(cast: Cast, user: Any) -> Viewer:
    return member_viewer(cast.membership(user))


def outsider_viewer(cast: Cast) -> Viewer:
    """The outsider, as the Admin of their own workspace."""
    return member_viewer(Membership.objects.get(user=cast.outsider, workspace=cast.other_workspace))


@pytest.fixture
def outsiders_job(cast: Cast) -> Job:
    """A job of the outsider's workspace, for its customer Olga."""
    pipeline = pipeline_create_from_blueprint(
        workspace=cast.other_workspace, blueprint_key="renovation", actor=cast.outsider
    )
    olga = Customer.objects.create(
        workspace=cast.other_workspace,
        name="Olga Brandt",
        email="olga@example.com",
        created_by=cast.outsider,
    )
    return job_create(
        workspace=cast.other_workspace,
        pipeline=pipeline,
        title="Bathroom",
        actor=cast.outsider,
        customer=olga,
    )
