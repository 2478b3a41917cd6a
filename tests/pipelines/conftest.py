"""Pipelines for the cast's workspace (and one for the outsider's), built the way users do."""

from __future__ import annotations

import pytest

from jobline.jobs.models import Job
from jobline.jobs.services import job_create
from jobline.pipelines.models import Pipeline, Stage, StageField
from jobline.pipelines.services import pipeline_create, pipeline_create_from_blueprint
from tests.conftest import Cast


def stage_named(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name, deleted_at__isnull=True)


def field_named(stage: Stage, label: str) -> StageField:
    return stage.fields.get(label=label)


def live_names(pipeline: Pipeline) -> list[str]:
    return list(
        pipeline.stages.filter(deleted_at__isnull=True)
        .order_by("position", "id")
        .values_list("name", flat=True)
    )


def make_jobs(cast: Cast, pipeline: Pipeline, stage: Stage, count: int) -> list[Job]:
    return [
        job_create(
            workspace=cast.workspace,
            pipeline=pipeline,
            title=f"Job {index}",
            actor=cast.admin,
            stage=stage,
        )
        for index in range(count)
    ]


@pytest.fixture
def repair(cast: Cast) -> Pipeline:
    return pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="repair", actor=cast.admin
    )


@pytest.fixture
def beauty(cast: Cast) -> Pipeline:
    return pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="beauty", actor=cast.admin
    )


@pytest.fixture
def blank(cast: Cast) -> Pipeline:
    return pipeline_create(workspace=cast.workspace, name="Odd jobs", actor=cast.admin)


@pytest.fixture
def elsewhere(cast: Cast) -> Pipeline:
    """The outsider's pipeline: its ids must mean nothing in Harbour."""
    return pipeline_create_from_blueprint(
        workspace=cast.other_workspace, blueprint_key="beauty", actor=cast.outsider
    )
