"""The jobs list, its filters and its CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from jobline.core.exports import csv_download
from jobline.jobs import selectors
from jobline.jobs.forms import JobFilterForm
from jobline.jobs.views.common import jobs_page, viewer_of, with_urls


def _list_filters(
    request: HttpRequest, pipelines: list[Any] | None = None
) -> tuple[JobFilterForm, selectors.JobFilters]:
    form = JobFilterForm(request.GET, workspace=request.workspace, pipelines=pipelines)
    form.is_valid()
    data = form.cleaned_data
    default_owner = selectors.default_owner_filter(viewer_of(request))
    owner = data.get("owner") or default_owner
    owner_id = request.user.pk if owner == "mine" else None if owner == "all" else int(owner)
    filters = selectors.JobFilters(
        pipeline=data.get("pipeline"),
        stage=data.get("stage"),
        owner_id=owner_id,
        customer_id=data["customer"].pk if data.get("customer") else None,
        due=data.get("due") or "",
        state=data.get("state") or "open",
        search=data.get("q") or "",
        sort=data.get("sort") or "activity",
    )
    if not form.data.get("owner"):
        form.data = form.data.copy()
        form.data["owner"] = default_owner
    return form, filters


def _filter_choices(form: JobFilterForm, pipelines: list[Any]) -> dict[str, list[Any]]:
    """The choices of the list's filter <select>s. The pipelines come from the page's own list
    (same rows as the field's queryset), so the choices do not read them again."""
    choices: dict[str, list[Any]] = {
        "pipeline": [
            ("", form.fields["pipeline"].empty_label),
            *((p.pk, p.name) for p in pipelines),
        ]
    }
    for name in ("stage", "owner", "due", "state", "sort"):
        # Iterated, not list(): list() asks a ModelChoiceIterator its len(), a COUNT query.
        choices[name] = [choice for choice in form.fields[name].choices]
    return choices


@jobs_page
def job_list(request: HttpRequest) -> HttpResponse:
    results_only = bool(request.htmx) and request.htmx.target == "job-results"
    # The full page lists the pipelines (filter and results): read them once, first, and the
    # filter form checks the chosen pipeline against them instead of reading it again.
    listed = None if results_only else list(selectors.pipelines(workspace=request.workspace))
    form, filters = _list_filters(request, pipelines=listed)
    page = selectors.job_list_page(
        viewer=viewer_of(request), filters=filters, page=request.GET.get("page")
    )
    with_urls(page.object_list)
    # The results only ask for the pipelines when nothing matched (a query then, not before).
    pipelines = selectors.pipelines(workspace=request.workspace) if listed is None else listed
    context = {"form": form, "page": page, "pipelines": pipelines}
    if results_only:
        return render(request, "jobs/_list_results.html", context)
    context["filter_choices"] = _filter_choices(form, listed or [])
    return render(request, "jobs/list.html", context)


@jobs_page
def job_export(request: HttpRequest) -> StreamingHttpResponse:
    _form, filters = _list_filters(request)
    queryset = selectors.jobs(viewer=viewer_of(request), filters=filters)

    def rows() -> Iterator[list[str]]:
        yield ["Job", "Title", "Pipeline", "Stage", "Customer", "Owner", "Due", "Created",
               "Closed", "Last activity"]  # fmt: skip
        for job in queryset.iterator(chunk_size=2000):
            yield [
                job.reference,
                job.title,
                job.pipeline.name,
                job.stage.name,
                job.customer.name if job.customer else "",
                job.owner.full_name if job.owner else "",
                job.due_date.isoformat() if job.due_date else "",
                job.created_at.date().isoformat(),
                job.closed_at.date().isoformat() if job.closed_at else "",
                job.last_activity_at.isoformat(timespec="minutes"),
            ]

    return csv_download(rows(), name="jobs")
