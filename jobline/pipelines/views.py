"""Jobs → Pipelines: Admins shape pipelines, their stages and each stage's job form.

Every view is behind the Jobs module (off = 404 for everyone) and the Admin role (other
members get 403). Objects are fetched through the selectors, so another workspace's ids 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from jobline.pipelines import selectors, services
from jobline.pipelines.blueprints import BLUEPRINTS
from jobline.pipelines.forms import (
    PALETTE,
    BlueprintForm,
    FieldForm,
    MoveForm,
    PipelineCreateForm,
    PipelineFilterForm,
    PipelineSettingsForm,
    ReorderForm,
    StageDeleteForm,
    StageForm,
    apply_service_errors,
)
from jobline.pipelines.models import Pipeline, Stage, StageField, contrast_text_colour
from jobline.workspaces.models import Module
from jobline.workspaces.permissions import admin_required, module_required

View = Callable[..., HttpResponse]


def pipelines_admin(view: View) -> View:
    """The module check comes first: with Jobs off, even an Admin gets a 404."""
    return module_required(Module.JOBS)(admin_required(view))


def _status(request: HttpRequest) -> int:
    return 400 if request.method == "POST" else 200


def _wants_fragment(request: HttpRequest) -> bool:
    """pipelines.js asks for the stage list back after a drag, to swap it in place."""
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


def _editor_url(pipeline: Pipeline, stage: Stage | None = None) -> str:
    url = reverse("pipelines:detail", kwargs={"pipeline_id": pipeline.pk})
    return f"{url}#stage-{stage.pk}" if stage is not None else url


def _stage_url(stage: Stage, field: StageField | None = None) -> str:
    url = reverse("pipelines:stage_edit", kwargs={"stage_id": stage.pk})
    return f"{url}#field-{field.pk}" if field is not None else url


# Pipelines ------------------------------------------------------------------------------


@pipelines_admin
def pipeline_list(request: HttpRequest) -> HttpResponse:
    filters = PipelineFilterForm(request.GET)
    filters.is_valid()
    show = filters.cleaned_data.get("show") or "active"
    rows = selectors.pipelines(request.workspace, include_archived=show == "all")
    return render(request, "pipelines/list.html", {"pipelines": rows, "show": show})


def _blueprint_previews() -> list[dict[str, Any]]:
    """The templates with their stages, for the chooser's preview."""
    return [
        {
            "key": blueprint.key,
            "name": blueprint.name,
            "description": blueprint.description,
            "stages": [
                {
                    "name": stage.name,
                    "colour": stage.colour,
                    "text_colour": contrast_text_colour(stage.colour),
                    "is_terminal": stage.is_terminal,
                    "is_cancelled": stage.is_cancelled,
                    "internal": not stage.visible_to_customer,
                }
                for stage in blueprint.stages
            ],
        }
        for blueprint in BLUEPRINTS
    ]


def _render_new(
    request: HttpRequest,
    *,
    blank_form: PipelineCreateForm | None = None,
    blueprint_form: BlueprintForm | None = None,
) -> HttpResponse:
    context = {
        "blank_form": blank_form or PipelineCreateForm(prefix="blank"),
        "blueprint_form": blueprint_form or BlueprintForm(prefix="tpl"),
        "blueprints": _blueprint_previews(),
    }
    return render(request, "pipelines/new.html", context, status=_status(request))


@pipelines_admin
def pipeline_create(request: HttpRequest) -> HttpResponse:
    """GET: both ways to start. POST: a blank pipeline (name and description)."""
    if request.method != "POST":
        return _render_new(request)
    form = PipelineCreateForm(request.POST, prefix="blank")
    if form.is_valid():
        try:
            pipeline = services.pipeline_create(
                workspace=request.workspace, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Pipeline {pipeline.name} created. Add its stages.")
            return redirect(_editor_url(pipeline))
    return _render_new(request, blank_form=form)


@pipelines_admin
@require_POST
def pipeline_create_from_template(request: HttpRequest) -> HttpResponse:
    form = BlueprintForm(request.POST, prefix="tpl")
    if form.is_valid():
        try:
            pipeline = services.pipeline_create_from_blueprint(
                workspace=request.workspace,
                actor=request.user,
                blueprint_key=form.cleaned_data["template"],
                name=form.cleaned_data["name"],
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Pipeline {pipeline.name} created from the template.")
            return redirect(_editor_url(pipeline))
    return _render_new(request, blueprint_form=form)


def _render_editor(
    request: HttpRequest,
    pipeline: Pipeline,
    *,
    settings_form: PipelineSettingsForm | None = None,
    stage_form: StageForm | None = None,
) -> HttpResponse:
    stages = selectors.stages_with_job_counts(pipeline)
    if settings_form is None:
        settings_form = PipelineSettingsForm(
            prefix="settings",
            initial={
                "name": pipeline.name,
                "description": pipeline.description,
                "customers_can_reply": pipeline.customers_can_reply,
                "customers_can_upload": pipeline.customers_can_upload,
            },
        )
    if stage_form is None:
        stage_form = StageForm(prefix="stage", initial={"colour": PALETTE[len(stages) % 7]})
    context = {
        "pipeline": pipeline,
        "stages": stages,
        "job_total": sum(s.job_count for s in stages),
        "settings_form": settings_form,
        "stage_form": stage_form,
    }
    return render(request, "pipelines/detail.html", context, status=_status(request))


@pipelines_admin
def pipeline_detail(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    """The pipeline editor. POST saves its settings."""
    pipeline = selectors.get_pipeline(request.workspace, pipeline_id)
    if request.method != "POST":
        return _render_editor(request, pipeline)
    form = PipelineSettingsForm(request.POST, prefix="settings")
    if form.is_valid():
        try:
            services.pipeline_update(pipeline=pipeline, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Pipeline settings saved.")
            return redirect(_editor_url(pipeline))
    # The heading shows the saved name, not the rejected edit.
    saved = selectors.get_pipeline(request.workspace, pipeline_id)
    return _render_editor(request, saved, settings_form=form)


@pipelines_admin
@require_POST
def pipeline_archive(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    pipeline = selectors.get_pipeline(request.workspace, pipeline_id)
    services.pipeline_archive(pipeline=pipeline, actor=request.user)
    messages.success(
        request, f"{pipeline.name} archived: no new jobs can start in it. Restore it any time."
    )
    return redirect(_editor_url(pipeline))


@pipelines_admin
@require_POST
def pipeline_restore(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    pipeline = selectors.get_pipeline(request.workspace, pipeline_id)
    services.pipeline_restore(pipeline=pipeline, actor=request.user)
    messages.success(request, f"{pipeline.name} restored.")
    return redirect(_editor_url(pipeline))


# Stages ---------------------------------------------------------------------------------


@pipelines_admin
@require_POST
def stage_create(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    pipeline = selectors.get_pipeline(request.workspace, pipeline_id)
    form = StageForm(request.POST, prefix="stage")
    if form.is_valid():
        try:
            stage = services.stage_create(
                pipeline=pipeline, actor=request.user, **form.service_values()
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Stage {stage.name} added.")
            return redirect(_editor_url(pipeline, stage))
    return _render_editor(request, pipeline, stage_form=form)


def _render_stage(
    request: HttpRequest,
    stage: Stage,
    *,
    stage_form: StageForm | None = None,
    field_form: FieldForm | None = None,
) -> HttpResponse:
    stages = list(selectors.live_stages(stage.pipeline))
    context = {
        "stage": stage,
        "pipeline": stage.pipeline,
        "stage_number": next(i for i, s in enumerate(stages, start=1) if s.pk == stage.pk),
        "stage_total": len(stages),
        "job_count": selectors.stage_job_count(stage, include_archived=False),
        "fields": selectors.stage_fields(stage),
        "stage_form": stage_form or StageForm(prefix="stage", initial=StageForm.initial_for(stage)),
        "field_form": field_form or FieldForm(prefix="field", stage=stage),
    }
    return render(request, "pipelines/stage.html", context, status=_status(request))


@pipelines_admin
def stage_edit(request: HttpRequest, stage_id: int) -> HttpResponse:
    """A stage's settings (POST saves them) and its job form."""
    stage = selectors.get_stage(request.workspace, stage_id)
    if request.method != "POST":
        return _render_stage(request, stage)
    form = StageForm(request.POST, prefix="stage")
    if form.is_valid():
        try:
            services.stage_update(stage=stage, actor=request.user, **form.service_values())
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Stage {stage.name} saved.")
            return redirect(_stage_url(stage))
    # The refused values stay in the form; the heading shows what is saved.
    saved = selectors.get_stage(request.workspace, stage_id)
    return _render_stage(request, saved, stage_form=form)


def _delete_refusal(stage: Stage) -> str:
    """Why deleting this stage would leave the pipeline unusable, or "" if it would not."""
    remaining = list(selectors.other_live_stages(stage))
    try:
        services.validate_stage_set(remaining)
    except ValidationError as error:
        return " ".join(error.messages)
    return ""


@pipelines_admin
def stage_delete(request: HttpRequest, stage_id: int) -> HttpResponse:
    stage = selectors.get_stage(request.workspace, stage_id)
    job_count = selectors.stage_job_count(stage)
    form = StageDeleteForm(
        request.POST if request.method == "POST" else None, stage=stage, job_count=job_count
    )
    if request.method == "POST" and form.is_valid():
        target = form.cleaned_data["move_jobs_to"] if job_count else None
        try:
            moved = services.stage_delete(stage=stage, actor=request.user, move_jobs_to=target)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            if moved and target is not None:
                noun = "job" if moved == 1 else "jobs"
                messages.success(
                    request, f"Stage {stage.name} deleted; {moved} {noun} moved to {target.name}."
                )
            else:
                messages.success(request, f"Stage {stage.name} deleted.")
            return redirect(_editor_url(stage.pipeline))
    context = {
        "stage": stage,
        "pipeline": stage.pipeline,
        "job_count": job_count,
        "archived_count": job_count - selectors.stage_job_count(stage, include_archived=False),
        "form": form,
        "refusal": _delete_refusal(stage),
    }
    return render(request, "pipelines/stage_delete.html", context, status=_status(request))


def _stage_list_fragment(request: HttpRequest, pipeline: Pipeline) -> HttpResponse:
    context = {"pipeline": pipeline, "stages": selectors.stages_with_job_counts(pipeline)}
    return render(request, "pipelines/_stage_list.html", context)


@pipelines_admin
@require_POST
def stage_move(request: HttpRequest, stage_id: int) -> HttpResponse:
    """Move up / Move down: the keyboard and touch alternative to dragging."""
    stage = selectors.get_stage(request.workspace, stage_id)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Choose up or down.")
    services.stage_move_step(stage=stage, actor=request.user, direction=form.step())
    if _wants_fragment(request):
        return _stage_list_fragment(request, stage.pipeline)
    messages.success(request, f"Moved {stage.name} {form.cleaned_data['direction']}.")
    return redirect(_editor_url(stage.pipeline, stage))


@pipelines_admin
@require_POST
def stage_reorder(request: HttpRequest, stage_id: int) -> HttpResponse:
    """Drag and drop: place the stage just before ``before`` (a stage id), or last if empty."""
    stage = selectors.get_stage(request.workspace, stage_id)
    form = ReorderForm(request.POST)
    before: Stage | None = None
    error = ""
    if not form.is_valid():
        error = "Choose a stage of this pipeline to drop it before."
    elif form.cleaned_data["before"] is not None:
        before = (
            selectors.live_stages(stage.pipeline).filter(pk=form.cleaned_data["before"]).first()
        )
        if before is None:
            error = "Choose a stage of this pipeline to drop it before."
    if error:
        if _wants_fragment(request):
            return HttpResponseBadRequest(error)
        messages.error(request, error)
        return redirect(_editor_url(stage.pipeline, stage))
    if before is None or before.pk != stage.pk:  # dropped on itself: nothing moves
        services.stage_reorder(stage=stage, actor=request.user, before=before)
    if _wants_fragment(request):
        return _stage_list_fragment(request, stage.pipeline)
    messages.success(request, f"Moved {stage.name}.")
    return redirect(_editor_url(stage.pipeline, stage))


# Stage form fields ------------------------------------------------------------------------


@pipelines_admin
@require_POST
def field_create(request: HttpRequest, stage_id: int) -> HttpResponse:
    stage = selectors.get_stage(request.workspace, stage_id)
    form = FieldForm(request.POST, prefix="field", stage=stage)
    if form.is_valid():
        try:
            field = services.field_create(stage=stage, actor=request.user, **form.service_values())
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Field {field.label} added to {stage.name}.")
            return redirect(_stage_url(stage, field))
    return _render_stage(request, stage, field_form=form)


@pipelines_admin
def field_edit(request: HttpRequest, field_id: int) -> HttpResponse:
    field = selectors.get_field(request.workspace, field_id)
    stage = field.stage
    form = FieldForm(
        request.POST if request.method == "POST" else None, prefix="field", stage=stage, field=field
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.field_update(field=field, actor=request.user, **form.service_values())
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Field {field.label} saved.")
            return redirect(_stage_url(stage, field))
    saved = selectors.get_field(request.workspace, field_id)
    context: dict[str, Any] = {"field": saved, "stage": stage, "pipeline": stage.pipeline}
    context["form"] = form
    return render(request, "pipelines/field_edit.html", context, status=_status(request))


@pipelines_admin
@require_POST
def field_retire(request: HttpRequest, field_id: int) -> HttpResponse:
    field = selectors.get_field(request.workspace, field_id)
    # Retiring also clears the conditions that used the field: both or neither (one service).
    services.field_retire(field=field, actor=request.user)
    messages.success(
        request, f"Field {field.label} removed. Values already saved on jobs stay readable."
    )
    return redirect(_stage_url(field.stage))


@pipelines_admin
@require_POST
def field_move(request: HttpRequest, field_id: int) -> HttpResponse:
    field = selectors.get_field(request.workspace, field_id)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Choose up or down.")
    services.field_move_step(field=field, actor=request.user, direction=form.step())
    messages.success(request, f"Moved {field.label} {form.cleaned_data['direction']}.")
    return redirect(_stage_url(field.stage, field))
