"""Jobs fixtures: the cast's workspace gets a Device repair pipeline and a job in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


@pytest.fixture
def media(settings: Any) -> Path:
    """Where the test's uploads are stored (tests/conftest.py puts it in a temporary folder)."""
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def other_job(cast: Cast) -> Job:
    """A job of the outsider's workspace: its ids must mean nothing in Harbour."""
    pipeline = pipeline_create_from_blueprint(
        workspace=cast.other_workspace, blueprint_key="repair", actor=cast.outsider
    )
    return job_create(
        workspace=cast.other_workspace, pipeline=pipeline, title="Leak", actor=cast.outsider
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


# The portal cast and its jobs, for tests of what staff changes do to customers.
from tests.portal.conftest import as_priya, portal, priya, priya_job  # noqa: E402, F401
