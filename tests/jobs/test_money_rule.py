"""Staff never see amounts; Admins and Managers do. One rule decides, and it covers money
fields that were later retired (issue 9: their saved amounts still rendered for Staff)."""

from __future__ import annotations

import pytest
from django.test import Client

from jobline.jobs import services
from jobline.jobs.models import Job
from jobline.pipelines.models import Pipeline
from jobline.pipelines.services import field_retire
from tests.conftest import Cast, client_for
from tests.jobs.conftest import stage


@pytest.fixture
def priced_then_retired(cast: Cast, repair: Pipeline) -> Job:
    """A job in Quote whose Repair price (money) was saved, then the field retired."""
    quote = stage(repair, "Quote")
    job = services.job_create(
        workspace=cast.workspace, pipeline=repair, stage=quote, title="Priced", actor=cast.admin
    )
    price = quote.fields.get(label="Repair price")
    services.form_save(
        job=job, stage=quote, values={price.pk: "249.50"}, actor=cast.manager,
        expected_version=None,
    )  # fmt: skip
    field_retire(field=price, actor=cast.admin)
    return job


def job_page(client: Client, job: Job) -> str:
    response = client.get(f"/jobs/{job.number}/")
    assert response.status_code == 200
    return response.text


def test_staff_do_not_see_a_retired_money_fields_amount(
    cast: Cast, priced_then_retired: Job
) -> None:
    page = job_page(client_for(cast.staff), priced_then_retired)
    assert "249.50" not in page
    assert "249,50" not in page


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admins_and_managers_still_see_it(cast: Cast, priced_then_retired: Job, role: str) -> None:
    page = job_page(client_for(getattr(cast, role)), priced_then_retired)
    assert "249.50" in page


def test_staff_do_not_see_amounts_in_the_jobs_csv(cast: Cast, priced_then_retired: Job) -> None:
    response = client_for(cast.staff).get("/jobs/export.csv", {"owner": "all", "state": "all"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert "Priced" in body and "249.50" not in body
