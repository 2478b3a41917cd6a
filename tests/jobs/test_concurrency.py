"""Concurrency on PostgreSQL with real concurrent transactions: job numbers never repeat and
of two moves made from the same page version exactly one wins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from jobline.jobs import services
from jobline.jobs.changes import StaleJob
from jobline.jobs.models import Activity, ActivityKind, Job
from jobline.pipelines.services import pipeline_create_from_blueprint
from tests.concurrency import run_together
from tests.conftest import Cast

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs a server with row locks; SQLite serialises writers by design",
    ),
]


def test_concurrent_creations_get_distinct_consecutive_numbers(cast: Cast) -> None:
    pipeline = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="standard", actor=cast.admin
    )

    def create(i: int) -> Callable[[], Job]:
        return lambda: services.job_create(
            workspace=cast.workspace, pipeline=pipeline, title=f"Job {i}", actor=cast.admin
        )

    results = run_together([create(i) for i in range(8)])
    assert all(isinstance(r, Job) for r in results), results
    assert sorted(r.number for r in results) == list(range(1001, 1009))


def test_two_moves_from_the_same_page_version_one_wins(cast: Cast) -> None:
    pipeline = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="standard", actor=cast.admin
    )
    job = services.job_create(
        workspace=cast.workspace, pipeline=pipeline, title="Contended", actor=cast.admin
    )
    stages = list(pipeline.stages.order_by("position"))
    in_progress = next(s for s in stages if s.name == "In progress")
    cancelled = next(s for s in stages if s.name == "Cancelled")

    def move(stage: Any) -> Callable[[], Any]:
        return lambda: services.job_move(
            job=Job.objects.get(pk=job.pk), stage=stage, actor=cast.admin, expected_version=1,
            enforce_required=False,
        )  # fmt: skip

    results = run_together([move(in_progress), move(cancelled)])
    stale = [r for r in results if isinstance(r, StaleJob)]
    won = [r for r in results if isinstance(r, Job)]
    assert len(stale) == 1 and len(won) == 1, results
    job.refresh_from_db()
    assert job.stage == won[0].stage
    assert job.version == 2
    assert Activity.objects.filter(job=job, kind=ActivityKind.STATUS_CHANGED).count() == 1
