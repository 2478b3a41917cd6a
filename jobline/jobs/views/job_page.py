"""The job page and its feed partial. render_job_page draws the page for every action that
answers with it (a refused form keeps what was typed)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render

from jobline.jobs import hooks, selectors
from jobline.jobs.choices import FEED_TYPE_GROUPS, Visibility
from jobline.jobs.forms import (
    ComposerForm,
    DocumentRequestForm,
    FileUploadForm,
    StageForm,
)
from jobline.jobs.models import Job
from jobline.jobs.views.common import job_of, jobs_page, viewer_of


def render_job_page(
    request: HttpRequest, job: Job, *, status: int = 200, **extra: Any
) -> HttpResponse:
    viewer = viewer_of(request)
    stages = selectors.live_stages(job.pipeline_id)
    show = request.GET.get("show", "all")
    kind_group = request.GET.get("type", "")
    # The feed's form entries name fields the stage forms have just read: no second read.
    known_fields: dict[int, Any] = {}
    form_states, values = selectors.stage_forms(
        job=job, stages=stages, viewer=viewer, seen=known_fields
    )
    feed = selectors.feed(
        job=job, viewer=viewer, show=show, kind_group=kind_group, known_fields=known_fields
    )
    forms_ = []
    for state in form_states:
        stage_form = extra.pop(f"stage_form_{state.stage.pk}", None) or StageForm(
            stage_fields=state.fields, values=values, prefix=f"s{state.stage.pk}"
        )
        forms_.append((state, stage_form))
    current_index = next((i for i, s in enumerate(stages) if s.pk == job.stage_id), 0)
    files = selectors.job_files(job=job, viewer=viewer)
    context = {
        "job": job,
        "stages": stages,
        "current_index": current_index,
        "feed": feed,
        "show": show,
        "kind_group": kind_group,
        "feed_groups": list(FEED_TYPE_GROUPS),
        "stage_forms": forms_,
        "values": values,
        "composer": extra.pop("composer", None)
        or ComposerForm(initial={"version": job.version, "visibility": Visibility.INTERNAL}),
        # The owner hears of the customer anyway; others may follow the job. (An Exists()
        # annotation on the job's query cost more than this query: 0.45 ms against 0.25.)
        "following": job.owner_id != request.user.pk
        and selectors.is_following(job=job, user=request.user),
        "attachments": files,
        "file_form": extra.pop("file_form", None) or FileUploadForm(),
        "document_requests": selectors.job_requests(job=job, viewer=viewer, files=files),
        "request_form": extra.pop("request_form", None) or DocumentRequestForm(),
        "max_upload_mb": settings.JOBLINE_MAX_UPLOAD_BYTES // (1024 * 1024),
        "sections": hooks.job_page_sections(_in_request_workspace(request, job), viewer),
        **extra,
    }
    return render(request, "jobs/detail.html", context, status=status)


def _in_request_workspace(request: HttpRequest, job: Job) -> Job:
    """The job with the request's workspace in hand (the sections read its modules), so
    reading it costs no query."""
    if job.workspace_id == request.workspace.pk:
        job.workspace = request.workspace
    return job


@jobs_page
def job_detail(request: HttpRequest, number: int) -> HttpResponse:
    return render_job_page(request, job_of(request, number))


@jobs_page
def job_feed(request: HttpRequest, number: int) -> HttpResponse:
    """Older entries, or the feed under another filter: a partial for htmx."""
    job = job_of(request, number)
    try:
        feed = selectors.feed(
            job=job,
            viewer=viewer_of(request),
            show=request.GET.get("show", "all"),
            kind_group=request.GET.get("type", ""),
            before=request.GET.get("before", ""),
        )
    except selectors.BadCursor:
        return HttpResponseBadRequest("This feed position is not one of ours; reload the page.")
    return render(
        request,
        "jobs/_feed_entries.html",
        {
            "job": job,
            "feed": feed,
            "show": request.GET.get("show", "all"),
            "kind_group": request.GET.get("type", ""),
        },
    )
