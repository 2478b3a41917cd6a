"""Jobs: the list, the board, the job page, and every action on a job. Views parse input,
call one service or selector, and render (a partial when htmx asked)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from jobline.core.exports import csv_download
from jobline.customers import services as customer_services
from jobline.jobs import requests as document_requests
from jobline.jobs import selectors, services, uploads
from jobline.jobs.forms import (
    ComposerForm,
    CopyForm,
    DocumentRequestForm,
    FileUploadForm,
    JobCreateForm,
    JobEditForm,
    JobFilterForm,
    MoveForm,
    ReopenRequestForm,
    StageForm,
)
from jobline.jobs.models import FEED_TYPE_GROUPS, Job, Message, Visibility
from jobline.notifications import services as notification_services
from jobline.pipelines.models import Stage, StageField
from jobline.workspaces.models import Module
from jobline.workspaces.permissions import module_required
from jobline.workspaces.services import audit_record

jobs_view = module_required(Module.JOBS)
LIST_PAGE_SIZE = 50


def _is_post(request: HttpRequest) -> bool:
    return request.method == "POST"


def _apply_errors(form: Any, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _user_by_id(request: HttpRequest, raw: str | None) -> Any:
    """An owner chosen in a form: must be an active member of this workspace."""
    if not raw:
        return None
    membership = selectors.owners(workspace=request.workspace).filter(user_id=raw).first()
    if membership is None:
        raise ValidationError({"owner": "Choose a member of this workspace as the owner."})
    return membership.user


def _job_url(name: str) -> Callable[[int], str]:
    """The URL of a job's page (or action) for any job number, from one reverse() per page:
    a `{% url %}` per card or row cost ~45 µs, 2 of them per card a quarter of the card."""
    marker = "987654321"
    head, _, tail = reverse(name, args=[int(marker)]).partition(marker)
    return lambda number: f"{head}{number}{tail}"


def _with_urls(jobs: Iterable[Job], *, move: bool = False) -> None:
    """Gives each job of a list or board its `url` (and `move_url`) for the templates."""
    detail_url = _job_url("jobs:detail")
    move_url = _job_url("jobs:move") if move else None
    for job in jobs:
        job.url = detail_url(job.number)  # type: ignore[attr-defined]
        if move_url is not None:
            job.move_url = move_url(job.number)  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- the list


def _list_filters(
    request: HttpRequest, pipelines: list[Any] | None = None
) -> tuple[JobFilterForm, selectors.JobFilters]:
    form = JobFilterForm(request.GET, workspace=request.workspace, pipelines=pipelines)
    form.is_valid()
    data = form.cleaned_data
    default_owner = "mine" if request.membership.role == "staff" else "all"
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


def _options(choices: Iterable[tuple[Any, Any]], selected: Any) -> SafeString:
    """A <select>'s options as one string. Django's Select widget draws every option through
    a template of its own (~25 µs an option): the filters' 80 options were a fifth of the
    list page's time."""
    selected = "" if selected is None else str(selected)
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, " selected" if str(value) == selected else "", label) for value, label in choices),
    )


def _filter_options(form: JobFilterForm, pipelines: list[Any]) -> dict[str, SafeString]:
    """The options of the list's filter <select>s, with the submitted values selected. The
    pipelines come from the page's own list (same rows as the field's queryset)."""
    pipeline_choices = [
        ("", form.fields["pipeline"].empty_label),
        *((p.pk, p.name) for p in pipelines),
    ]
    options = {"pipeline": _options(pipeline_choices, form.data.get("pipeline"))}
    for name in ("stage", "owner", "due", "state", "sort"):
        options[name] = _options(form.fields[name].choices, form.data.get(name))
    return options


@jobs_view
def job_list(request: HttpRequest) -> HttpResponse:
    results_only = bool(request.htmx) and request.htmx.target == "job-results"
    # The full page lists the pipelines (filter and results): read them once, first, and the
    # filter form checks the chosen pipeline against them instead of reading it again.
    listed = None if results_only else list(selectors.pipelines(workspace=request.workspace))
    form, filters = _list_filters(request, pipelines=listed)
    queryset = selectors.jobs(workspace=request.workspace, filters=filters).only(
        *selectors.LIST_ROW_FIELDS
    )
    page = Paginator(queryset, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    _with_urls(page.object_list)
    # The results only ask for the pipelines when nothing matched (a query then, not before).
    pipelines = selectors.pipelines(workspace=request.workspace) if listed is None else listed
    context = {"form": form, "page": page, "pipelines": pipelines}
    if results_only:
        return render(request, "jobs/_list_results.html", context)
    context["filter_options"] = _filter_options(form, listed or [])
    return render(request, "jobs/list.html", context)


@jobs_view
def job_export(request: HttpRequest) -> StreamingHttpResponse:
    _form, filters = _list_filters(request)
    queryset = selectors.jobs(workspace=request.workspace, filters=filters)

    def rows() -> Any:
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


# ----------------------------------------------------------------------------- create / edit


@jobs_view
def job_create(request: HttpRequest) -> HttpResponse:
    initial = {"owner": str(request.user.pk)}
    if request.GET.get("pipeline"):
        initial["pipeline"] = request.GET["pipeline"]
    if request.GET.get("customer"):
        initial["customer"] = request.GET["customer"]
    form = JobCreateForm(
        request.POST if _is_post(request) else None, initial=initial, workspace=request.workspace
    )
    if not selectors.pipelines(workspace=request.workspace).exists():
        return render(request, "jobs/no_pipelines.html")
    if _is_post(request) and form.is_valid():
        data = form.cleaned_data
        try:
            job = _create_job(request, data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"{job.reference} created.")
            return redirect("jobs:detail", number=job.number)
    return render(
        request, "jobs/create.html", {"form": form}, status=400 if _is_post(request) else 200
    )


def _create_job(request: HttpRequest, data: dict[str, Any]) -> Job:
    """A job, and the new customer typed inline if there is one: both or neither."""
    with transaction.atomic():
        customer = data.get("customer")
        if data.get("new_customer_name"):
            try:
                customer = customer_services.customer_create(
                    workspace=request.workspace,
                    actor=request.user,
                    name=data["new_customer_name"],
                    email=data.get("new_customer_email") or "",
                )
            except ValidationError as error:
                raise ValidationError(
                    {"new_customer_email": error.message_dict.get("email", error.messages)}
                ) from error
        return services.job_create(
            workspace=request.workspace,
            pipeline=data["pipeline"],
            stage=data.get("stage"),
            title=data["title"],
            owner=_user_by_id(request, data.get("owner")),
            customer=customer,
            due_date=data.get("due_date"),
            actor=request.user,
        )


@jobs_view
def job_edit(request: HttpRequest, number: int) -> HttpResponse:
    job = selectors.get_job(workspace=request.workspace, number=number)
    initial = {
        "version": job.version,
        "title": job.title,
        "owner": str(job.owner_id or ""),
        "customer": job.customer_id,
        "due_date": job.due_date,
    }
    form = JobEditForm(
        request.POST if _is_post(request) else None, initial=initial, workspace=request.workspace
    )
    status = 200
    if _is_post(request):
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.job_update(
                    job=job,
                    actor=request.user,
                    expected_version=data["version"],
                    title=data["title"],
                    owner=_user_by_id(request, data.get("owner")),
                    customer=data.get("customer"),
                    due_date=data.get("due_date"),
                )
            except services.StaleJob as stale:
                form.add_error(None, stale.message)
                job.refresh_from_db()
                # Keep what they typed, but a second Save now applies it to the fresh job.
                form.data = form.data.copy()
                form.data["version"] = job.version
                status = 409
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, "Job saved.")
                return redirect("jobs:detail", number=job.number)
    return render(request, "jobs/edit.html", {"job": job, "form": form}, status=status)


# ----------------------------------------------------------------------------- the board


def _stage_options(stages: list[Stage]) -> str:
    """The "Move to…" choices, rendered once per board instead of once per card."""
    return format_html_join("", '<option value="{}">{}</option>', ((s.pk, s.name) for s in stages))


@jobs_view
def board_default(request: HttpRequest) -> HttpResponse:
    chosen = request.GET.get("pipeline", "")
    if chosen.isdigit():  # the pipeline picker, without JavaScript
        pipeline = selectors.get_pipeline(workspace=request.workspace, pipeline_id=int(chosen))
        return redirect("jobs:board", pipeline_id=pipeline.pk)
    first = selectors.pipelines(workspace=request.workspace).first()
    if first is None:
        return render(request, "jobs/no_pipelines.html")
    return redirect("jobs:board", pipeline_id=first.pk)


@jobs_view
def board(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    pipeline = selectors.get_pipeline(workspace=request.workspace, pipeline_id=pipeline_id)
    # The page draws the columns and counts; each column then loads its first 50 cards in
    # its own request (htmx), so no single response renders hundreds of cards. Without
    # JavaScript, "?cards=all" (linked in <noscript>) renders everything at once.
    all_cards = request.GET.get("cards") == "all"
    columns = selectors.board(pipeline=pipeline, with_cards=all_cards)
    _with_urls((card for column in columns for card in column.cards), move=True)
    return render(
        request,
        "jobs/board.html",
        {
            "pipeline": pipeline,
            "columns": columns,
            "stages": [c.stage for c in columns],
            "stage_options": _stage_options([c.stage for c in columns]),
            # On phones one column shows at a time: start with the first that has work.
            "first_busy": next((c.stage.pk for c in columns if c.count), columns[0].stage.pk),
            "pipelines": list(selectors.pipelines(workspace=request.workspace)),
            "all_cards": all_cards,
        },
    )


@jobs_view
def board_column_more(request: HttpRequest, stage_id: int) -> HttpResponse:
    stage = selectors.get_stage_of_workspace(workspace=request.workspace, stage_id=stage_id)
    after = parse_datetime(request.GET.get("after", "") or "")
    try:
        after_id = int(request.GET.get("after_id", ""))
    except ValueError:
        after_id = 0
    cursor = (after, after_id) if after is not None and after_id else None
    cards = selectors.board_column_page(stage=stage, cursor=cursor)
    has_more = len(cards) > selectors.BOARD_PAGE_SIZE
    cards = cards[: selectors.BOARD_PAGE_SIZE]
    _with_urls(cards, move=True)
    return render(
        request,
        "jobs/_board_cards.html",
        {
            "cards": cards,
            "has_more": has_more,
            "stage": stage,
            "stage_options": _stage_options(selectors.live_stages(stage.pipeline_id)),
        },
    )


# ----------------------------------------------------------------------------- the job page


def _job_page(request: HttpRequest, job: Job, *, status: int = 200, **extra: Any) -> HttpResponse:
    stages = selectors.live_stages(job.pipeline)
    if job.stage not in stages:  # sitting in a deleted stage is impossible, but be safe
        stages.append(job.stage)
    show = request.GET.get("show", "all")
    kind_group = request.GET.get("type", "")
    # The feed's form entries name fields the stage forms have just read: no second read.
    known_fields: dict[int, bool] = {}
    form_states, values = selectors.stage_forms(job=job, stages=stages, seen=known_fields)
    feed = selectors.feed(job=job, show=show, kind_group=kind_group, known_fields=known_fields)
    forms_ = []
    for state in form_states:
        visible = selectors.fields_for_viewer(request.membership, state.fields)
        stage_form = extra.pop(f"stage_form_{state.stage.pk}", None) or StageForm(
            stage_fields=visible, values=values, prefix=f"s{state.stage.pk}"
        )
        forms_.append((state, stage_form))
    current_index = next((i for i, s in enumerate(stages) if s.pk == job.stage_id), 0)
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
        # The owner hears of the customer anyway; others may follow the job.
        "following": job.owner_id != request.user.pk
        and notification_services.is_following(job=job, user=request.user),
        "copy_options": _options(
            CopyForm(workspace=request.workspace, exclude=job.pipeline).fields["pipeline"].choices,
            "",
        ),
        "attachments": list(job.attachments.select_related("uploaded_by").order_by("-created_at")),
        "file_form": extra.pop("file_form", None) or FileUploadForm(),
        "document_requests": list(
            job.document_requests.prefetch_related("attachments").order_by("-created_at")
        ),
        "request_form": extra.pop("request_form", None) or DocumentRequestForm(),
        "max_upload_mb": settings.JOBLINE_MAX_UPLOAD_BYTES // (1024 * 1024),
        **extra,
    }
    return render(request, "jobs/detail.html", context, status=status)


@jobs_view
def job_detail(request: HttpRequest, number: int) -> HttpResponse:
    job = selectors.get_job(workspace=request.workspace, number=number)
    return _job_page(request, job)


@jobs_view
def job_feed(request: HttpRequest, number: int) -> HttpResponse:
    """Older entries, or the feed under another filter: a partial for htmx."""
    job = selectors.get_job(workspace=request.workspace, number=number)
    feed = selectors.feed(
        job=job,
        show=request.GET.get("show", "all"),
        kind_group=request.GET.get("type", ""),
        before=request.GET.get("before", ""),
    )
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


def _board_card_response(
    request: HttpRequest, job: Job, *, stages: list[Stage] | None = None, status: int = 200
) -> HttpResponse:
    if stages is None:
        stages = selectors.live_stages(job.pipeline_id)
    _with_urls([job], move=True)
    return render(
        request,
        "jobs/_board_card.html",
        {"job": job, "stage_options": _stage_options(stages)},
        status=status,
    )


@jobs_view
@require_POST
def job_move(request: HttpRequest, number: int) -> HttpResponse:
    """Move to another stage. From the board (htmx) the answer is the card, or the
    required-fields dialog; from the job page it is the page."""
    job = selectors.get_job(workspace=request.workspace, number=number)
    from_board = bool(request.htmx) and request.POST.get("from") == "board"
    move = MoveForm(request.POST)
    if not move.is_valid():
        return _move_refused(request, job, "Choose a stage to move to.", from_board)
    # One read of the pipeline's stages: it checks the target and, from the board, gives the
    # card its "Move to…" choices.
    stages = selectors.live_stages(job.pipeline_id)
    stage = next((s for s in stages if s.pk == move.cleaned_data["stage"]), None)
    if stage is None:
        return _move_refused(request, job, "Choose a stage of this job's pipeline.", from_board)
    version = move.cleaned_data["version"]
    # Only the dialog's post needs them now; a plain move is checked by the service.
    dialog = request.POST.get("dialog") == "1"
    missing_fields = services.missing_required(job, job.stage) if dialog else []
    owner, customer = job.owner, job.customer
    dialog_form = None
    try:
        if dialog and missing_fields:
            dialog_form = _dialog_form(request, job, missing_fields, data=request.POST)
            if not dialog_form.is_valid():
                raise services.RequiredFieldsMissing(stage=job.stage, fields=missing_fields)
            with transaction.atomic():
                services.job_check_version(job=job, expected_version=version)
                try:
                    values = _with_uploaded_files(request, job, dialog_form)
                except ValidationError as upload_error:
                    raise services.RequiredFieldsMissing(
                        stage=job.stage, fields=missing_fields
                    ) from upload_error
                services.job_save_and_move(
                    job=job, stage=stage, values=values, actor=request.user,
                    expected_version=None,
                )  # fmt: skip
        else:
            services.job_move(job=job, stage=stage, actor=request.user, expected_version=version)
    except services.StaleJob as stale:
        job.refresh_from_db()
        return _move_refused(request, job, stale.message, from_board, status=409)
    except services.RequiredFieldsMissing as gate:
        job.refresh_from_db()
        form = dialog_form or _dialog_form(request, job, gate.fields)
        context = {
            "job": job,
            "target": stage,
            "dialog_form": form,
            "staff_cannot_fill": [f for f in gate.fields if f not in form.stage_fields],
            "from_board": from_board,
        }
        if from_board:
            return render(request, "jobs/_move_dialog.html", context, status=422)
        return _job_page(request, job, status=422, move_dialog=context)
    except ValidationError as error:
        return _move_refused(request, job, " ".join(error.messages), from_board, status=400)
    if from_board:
        # The service hands the job back as it re-read it under its lock, without the owner
        # and customer already loaded here: put them back rather than read them again.
        if job.owner_id == (owner.pk if owner else None):
            job.owner = owner
        if job.customer_id == (customer.pk if customer else None):
            job.customer = customer
        response = _board_card_response(request, job, stages=stages)
        response["HX-Trigger"] = "jobMoved"
        return response
    messages.success(request, f"{job.reference} moved to {stage.name}.")
    return redirect("jobs:detail", number=job.number)


def _dialog_form(
    request: HttpRequest, job: Job, fields: list[StageField], data: Any = None
) -> StageForm:
    fillable = selectors.fields_for_viewer(request.membership, fields)
    return StageForm(
        data,
        request.FILES if data is not None else None,
        stage_fields=fillable,
        values=services.job_values(job),
        require={f.pk for f in fillable},
        prefix="dialog",
    )


def _move_refused(
    request: HttpRequest, job: Job, reason: str, from_board: bool, status: int = 400
) -> HttpResponse:
    if from_board:
        response = _board_card_response(request, job, status=status)
        response["HX-Trigger"] = json.dumps({"jobMoveRefused": reason})
        return response
    messages.error(request, reason)
    return _job_page(request, job, status=status)


def _with_uploaded_files(request: HttpRequest, job: Job, form: StageForm) -> dict[int, Any]:
    """A stage form's values, with the files chosen in its file fields stored (visible to the
    customer when the field is) and listed after the field's earlier files. Raises the
    upload's ValidationError onto the field."""
    values = form.json_values()
    saved = services.job_values(job)
    for stage_field, files in form.uploads_by_field().items():
        visible = stage_field.visible_to_customer
        try:
            added = uploads.attachments_add(
                job=job,
                uploads=files,
                visibility=Visibility.CUSTOMER if visible else Visibility.INTERNAL,
                actor=request.user,
            )
        except ValidationError as error:
            form.add_error(f"f_{stage_field.pk}", error.messages)
            raise
        earlier = saved.get(stage_field.pk) or []
        values[stage_field.pk] = [*earlier, *({"id": a.pk, "name": a.original_name} for a in added)]
    return values


@jobs_view
@require_POST
def job_form_save(request: HttpRequest, number: int, stage_id: int) -> HttpResponse:
    job = selectors.get_job(workspace=request.workspace, number=number)
    stage = get_object_or_404(Stage, pk=stage_id, pipeline=job.pipeline)
    fields = selectors.fields_for_viewer(
        request.membership,
        list(stage.fields.filter(retired_at__isnull=True).order_by("position", "id")),
    )
    form = StageForm(
        request.POST,
        request.FILES,
        stage_fields=fields,
        values=services.job_values(job),
        prefix=f"s{stage.pk}",
    )
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = -1
    if not form.is_valid():
        return _job_page(request, job, status=400, **{f"stage_form_{stage.pk}": form})
    try:
        with transaction.atomic():
            services.job_check_version(job=job, expected_version=version)
            values = _with_uploaded_files(request, job, form)
            entry = services.form_save(
                job=job, stage=stage, values=values, actor=request.user, expected_version=None
            )
    except services.StaleJob as stale:
        job.refresh_from_db()
        form.add_error(None, stale.message)
        return _job_page(request, job, status=409, **{f"stage_form_{stage.pk}": form})
    except ValidationError:  # a refused upload: its message is on the field
        return _job_page(request, job, status=400, **{f"stage_form_{stage.pk}": form})
    messages.success(request, "Form saved." if entry else "Nothing changed.")
    return redirect(f"{reverse('jobs:detail', args=[job.number])}#stage-form-{stage.pk}")


def _done(request: HttpRequest, job: Job, anchor: str) -> HttpResponse:
    """After a change from the job page: htmx (uploads with their progress bar) gets the
    fresh page to swap in; a plain form post is redirected to it."""
    if request.htmx:
        job.refresh_from_db()
        return _job_page(request, job)
    return redirect(f"{reverse('jobs:detail', args=[job.number])}#{anchor}")


@jobs_view
@require_POST
def job_message(request: HttpRequest, number: int) -> HttpResponse:
    """The composer: an internal note or a reply, with any files attached to it."""
    job = selectors.get_job(workspace=request.workspace, number=number)
    form = ComposerForm(request.POST, request.FILES)
    if not form.is_valid():
        return _job_page(request, job, status=400, composer=form)
    body = form.cleaned_data["body"]
    visibility = form.cleaned_data["visibility"]
    files = request.FILES.getlist("files")
    try:
        with transaction.atomic():
            # A note does not conflict with other changes to the job, so it is not refused
            # for a stale page: it is added to the job as it is now.
            message = None
            if body.strip():
                message = services.message_add(
                    job=job, body=body, visibility=visibility, actor=request.user
                )
            uploads.attachments_add(
                job=job, uploads=files, visibility=visibility, actor=request.user, message=message
            )
    except ValidationError as error:
        form.add_error("files" if files and body.strip() else None, error.messages)
        return _job_page(request, job, status=400, composer=form)
    sent = visibility == Visibility.CUSTOMER
    messages.success(request, "Sent to the customer." if sent else "Internal note added.")
    return _done(request, job, "feed")


@jobs_view
@require_POST
def job_files_add(request: HttpRequest, number: int) -> HttpResponse:
    """Files straight onto the job (several at once, or dropped onto the page)."""
    job = selectors.get_job(workspace=request.workspace, number=number)
    form = FileUploadForm(request.POST, request.FILES)
    files = request.FILES.getlist("files")
    if form.is_valid():
        try:
            uploads.attachments_add(
                job=job,
                uploads=files,
                visibility=form.cleaned_data["visibility"],
                actor=request.user,
            )
        except ValidationError as error:
            form.add_error("files", error.messages)
        else:
            count = len(files)
            messages.success(request, f"{count} file{'s' if count != 1 else ''} added.")
            return _done(request, job, "files")
    return _job_page(request, job, status=400, file_form=form)


@jobs_view
@require_POST
def job_file_visibility(request: HttpRequest, number: int, attachment_id: int) -> HttpResponse:
    job = selectors.get_job(workspace=request.workspace, number=number)
    attachment = get_object_or_404(job.attachments, pk=attachment_id)
    visibility = request.POST.get("visibility")
    if visibility not in Visibility.values:
        messages.error(request, "Choose internal or visible.")
        return redirect(f"{reverse('jobs:detail', args=[job.number])}#files")
    uploads.attachment_set_visibility(
        attachment=attachment, visibility=visibility, actor=request.user
    )
    shared = visibility == Visibility.CUSTOMER
    messages.success(
        request,
        f"{attachment.original_name} is now {'visible to the customer' if shared else 'internal'}.",
    )
    return redirect(f"{reverse('jobs:detail', args=[job.number])}#files")


@jobs_view
@require_POST
def message_make_internal(request: HttpRequest, number: int, message_id: int) -> HttpResponse:
    job = selectors.get_job(workspace=request.workspace, number=number)
    message = get_object_or_404(Message, pk=message_id, job=job)
    services.message_make_internal(message=message, actor=request.user)
    messages.success(request, "The reply is now internal; the customer no longer sees it.")
    return redirect(f"{reverse('jobs:detail', args=[job.number])}#feed")


@jobs_view
@require_POST
def job_request_create(request: HttpRequest, number: int) -> HttpResponse:
    job = selectors.get_job(workspace=request.workspace, number=number)
    form = DocumentRequestForm(request.POST)
    if form.is_valid():
        try:
            document_requests.request_create(job=job, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"Asked the customer for “{form.cleaned_data['title']}”.")
            return redirect(f"{reverse('jobs:detail', args=[job.number])}#requests")
    return _job_page(request, job, status=400, request_form=form)


@jobs_view
@require_POST
def job_request_reopen(request: HttpRequest, number: int, request_id: int) -> HttpResponse:
    job = selectors.get_job(workspace=request.workspace, number=number)
    document_request = get_object_or_404(job.document_requests, pk=request_id)
    form = ReopenRequestForm(request.POST)
    if form.is_valid():
        document_requests.request_reopen(
            request=document_request, reason=form.cleaned_data["reason"], actor=request.user
        )
        messages.success(request, f"“{document_request.title}” is open again.")
    else:
        messages.error(request, "Say why the document is needed again.")
    return redirect(f"{reverse('jobs:detail', args=[job.number])}#requests")


@jobs_view
def job_as_customer(request: HttpRequest, number: int) -> HttpResponse:
    """ "View as customer": the portal page of this job, read-only, through the portal's own
    selectors; each preview is written to the workspace's audit log."""
    from jobline.portal.views import render_job_page

    job = selectors.get_job(workspace=request.workspace, number=number)
    audit_record(
        workspace=request.workspace,
        actor=request.user,
        action="portal.previewed",
        field=job.reference,
    )
    return render_job_page(request, job, preview=True)


@jobs_view
@require_POST
def job_archive(request: HttpRequest, number: int) -> HttpResponse:
    job = selectors.get_job(workspace=request.workspace, number=number)
    services.job_archive(job=job, actor=request.user)
    messages.success(request, f"{job.reference} archived. Restore it any time.")
    return redirect("jobs:detail", number=job.number)


@jobs_view
@require_POST
def job_restore(request: HttpRequest, number: int) -> HttpResponse:
    job = selectors.get_job(workspace=request.workspace, number=number)
    services.job_restore(job=job, actor=request.user)
    messages.success(request, f"{job.reference} restored.")
    return redirect("jobs:detail", number=job.number)


@jobs_view
@require_POST
def job_copy(request: HttpRequest, number: int) -> HttpResponse:
    job = selectors.get_job(workspace=request.workspace, number=number)
    form = CopyForm(request.POST, workspace=request.workspace, exclude=job.pipeline)
    if not form.is_valid():
        messages.error(request, "Choose another active pipeline to copy the job into.")
        return _job_page(request, job, status=400)
    copy = services.job_copy(job=job, pipeline=form.cleaned_data["pipeline"], actor=request.user)
    messages.success(request, f"Copied into {copy.pipeline.name} as {copy.reference}.")
    return redirect("jobs:detail", number=copy.number)
