"""Pipeline reads: scoped to the workspace, counts that skip archived jobs and deleted
stages, and a query count that does not grow with the data."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobline.jobs.models import Job
from jobline.pipelines import selectors, services
from jobline.pipelines.models import Pipeline
from tests.conftest import Cast
from tests.pipelines.conftest import field_named, make_jobs, stage_named


def test_stage_job_counts_skip_archived_jobs_in_one_query(cast: Cast, repair: Pipeline) -> None:
    diagnosis, quote = stage_named(repair, "Diagnosis"), stage_named(repair, "Quote")
    jobs = make_jobs(cast, repair, diagnosis, 3) + make_jobs(cast, repair, quote, 1)
    Job.objects.filter(pk=jobs[0].pk).update(archived_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        stages = selectors.stages_with_job_counts(repair)
    assert len(queries) == 1
    counts = {s.name: s.job_count for s in stages}
    assert counts["Diagnosis"] == 2
    assert counts["Quote"] == 1
    assert counts["Drop-off"] == 0
    assert [s.name for s in stages] == [s.name for s in services.live_stages(repair)]


def test_pipelines_list_counts_live_stages_and_active_jobs_and_hides_archived(
    cast: Cast, repair: Pipeline, blank: Pipeline, elsewhere: Pipeline
) -> None:
    make_jobs(cast, repair, stage_named(repair, "Quote"), 2)
    services.stage_create(pipeline=blank, actor=cast.admin, name="Doing")
    services.stage_delete(stage=stage_named(blank, "Doing"), actor=cast.admin)
    services.pipeline_archive(pipeline=blank, actor=cast.admin)

    active = list(selectors.pipelines(cast.workspace))
    assert [(p.name, p.stage_count, p.job_count) for p in active] == [("Device repair", 9, 2)]
    everything = {p.name: p for p in selectors.pipelines(cast.workspace, include_archived=True)}
    assert set(everything) == {"Device repair", "Odd jobs"}
    assert everything["Odd jobs"].stage_count == 2


def test_pipelines_list_query_count_does_not_grow_with_pipelines(cast: Cast) -> None:
    for key in ("repair", "legal", "beauty", "standard"):
        services.pipeline_create_from_blueprint(
            workspace=cast.workspace, blueprint_key=key, actor=cast.admin
        )
    with CaptureQueriesContext(connection) as queries:
        rows = list(selectors.pipelines(cast.workspace))
    assert len(rows) == 4 and len(queries) == 1


def test_another_workspaces_objects_are_404(
    cast: Cast, repair: Pipeline, elsewhere: Pipeline
) -> None:
    stage = elsewhere.stages.first()
    field = stage_named(elsewhere, "Initial appointment").fields.first()
    with pytest.raises(Http404):
        selectors.get_pipeline(cast.workspace, elsewhere.pk)
    with pytest.raises(Http404):
        selectors.get_stage(cast.workspace, stage.pk)
    with pytest.raises(Http404):
        selectors.get_field(cast.workspace, field.pk)
    assert selectors.get_pipeline(cast.workspace, repair.pk) == repair


def test_deleted_stages_and_retired_fields_are_404(cast: Cast, repair: Pipeline) -> None:
    diagnosis = stage_named(repair, "Diagnosis")
    device = field_named(stage_named(repair, "Drop-off"), "Device")
    services.field_retire(field=device, actor=cast.admin)
    services.stage_delete(stage=diagnosis, actor=cast.admin)
    with pytest.raises(Http404):
        selectors.get_stage(cast.workspace, diagnosis.pk)
    with pytest.raises(Http404):
        selectors.get_field(cast.workspace, device.pk)
    assert selectors.get_field(cast.workspace, device.pk, include_retired=True) == device
