"""Pipeline reads for the staff pages, each scoped to one workspace.

Job counts go through the stages' and pipelines' reverse ``jobs`` relation: this app sits
below jobs and does not import its models."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from jobline.pipelines.models import Pipeline, Stage, StageField
from jobline.workspaces.models import Workspace


def pipelines(workspace: Workspace, include_archived: bool = False) -> QuerySet[Pipeline]:
    """The pipelines page: each with its live stage count and its unarchived job count."""
    queryset = Pipeline.objects.filter(workspace=workspace)
    if not include_archived:
        queryset = queryset.filter(archived_at__isnull=True)
    # The stages as a correlated count: joining both has-many tables into one GROUP BY would
    # multiply the rows.
    live_stage_count = (
        Stage.objects.filter(pipeline=OuterRef("pk"), deleted_at__isnull=True)
        .order_by()
        .values("pipeline")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return queryset.annotate(
        stage_count=Coalesce(Subquery(live_stage_count, output_field=IntegerField()), Value(0)),
        job_count=Count("jobs", filter=Q(jobs__archived_at__isnull=True)),
    ).order_by("name", "id")


def get_pipeline(workspace: Workspace, pipeline_id: int) -> Pipeline:
    """Another workspace's pipeline is a 404, never a 403."""
    return get_object_or_404(Pipeline.objects.filter(workspace=workspace), pk=pipeline_id)


def get_stage(workspace: Workspace, stage_id: int) -> Stage:
    """A live stage of this workspace; deleted stages and other workspaces' are a 404."""
    return get_object_or_404(
        Stage.objects.select_related("pipeline").filter(
            pipeline__workspace=workspace, deleted_at__isnull=True
        ),
        pk=stage_id,
    )


def get_field(workspace: Workspace, field_id: int, include_retired: bool = False) -> StageField:
    """A field of a live stage of this workspace (live fields only unless asked)."""
    queryset = StageField.objects.select_related("stage__pipeline", "condition_field").filter(
        stage__pipeline__workspace=workspace, stage__deleted_at__isnull=True
    )
    if not include_retired:
        queryset = queryset.filter(retired_at__isnull=True)
    return get_object_or_404(queryset, pk=field_id)


def stages_with_job_counts(pipeline: Pipeline) -> list[Stage]:
    """The pipeline editor's rows in order, each with ``job_count`` (unarchived jobs): one query."""
    return list(
        Stage.objects.filter(pipeline=pipeline)
        .live()
        .annotate(job_count=Count("jobs", filter=Q(jobs__archived_at__isnull=True)))
    )


def live_stages(pipeline: Pipeline) -> QuerySet[Stage]:
    return Stage.objects.filter(pipeline=pipeline).live()


def other_live_stages(stage: Stage) -> QuerySet[Stage]:
    """Where the jobs of a stage being deleted can go."""
    return live_stages(stage.pipeline).exclude(pk=stage.pk)


def stage_job_count(stage: Stage, include_archived: bool = True) -> int:
    """Jobs in the stage. Deleting a stage counts archived ones too: it has to move them all."""
    jobs = stage.jobs.all() if include_archived else stage.jobs.filter(archived_at__isnull=True)
    return jobs.count()


def stage_fields(stage: Stage) -> list[StageField]:
    """A stage's job form: its live fields in order, each with its condition field joined and
    ``customer_sees`` (whether the customer reads it: StageField.objects.visible_to's rule)."""
    return list(
        stage.fields.filter(retired_at__isnull=True)
        .select_related("condition_field", "stage")
        .with_customer_visibility()
        .order_by("position", "id")
    )
