"""Jobs fixtures: the cast's workspace gets a Device repair pipeline and a job in it."""

from __future__ import annotations

import pytest

from jobline.jobs.models import Job
from jobline.jobs.services import job_create
from jobline.pipelines.models import Pipeline, Stage
from jobline.pipelines.services import pipeline_create_from_blueprint
from tests.conftest import Cast


@pytest.fixture
def repair(cast: Cast) -> Pipeline:
    return pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="repair", actor=cast.admin
    )


@pytest.fixture
def standard(cast: Cast) -> Pipeline:
    return pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="standard", actor=cast.admin
    )


def stage(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name, deleted_at__isnull=True)


@pytest.fixture
def job(cast: Cast, repair: Pipeline) -> Job:
    return job_create(
        workspace=cast.workspace,
        pipeline=repair,
        title="iPhone 13 cracked screen",
        actor=cast.admin,
        owner=cast.staff,
        customer=cast.customer,
    )


def fill_required(job: Job, of_stage: Stage, actor: object) -> None:
    from jobline.jobs.services import form_save

    required = of_stage.fields.filter(required=True, retired_at__isnull=True)
    form_save(
        job=job,
        stage=of_stage,
        values={f.pk: (True if f.field_type == "checkbox" else "filled") for f in required},
        actor=actor,  # type: ignore[arg-type]
        expected_version=None,
    )
