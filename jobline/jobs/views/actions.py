"""Every change made from the jobs pages: each view parses its form, calls ONE service, and
answers — the page again with the errors next to the fields (the input kept, nothing saved),
a partial for htmx, or a redirect."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from jobline.core.one_time import AlreadySubmitted
from jobline.jobs import requests as document_requests
from jobline.jobs import selectors, services, uploads
from jobline.jobs.changes import StaleJob
from jobline.jobs.choices import Visibility
from jobline.jobs.forms import (
    ComposerForm,
    CopyForm,
    DocumentRequestForm,
    FileUploadForm,
    JobCreateForm,
    JobEditForm,
    MoveForm,
    ReopenRequestForm,
    StageForm,
)
from jobline.jobs.models import Job
from jobline.jobs.services import RequiredFieldsMissing
from jobline.jobs.uploads import refusal_status
from jobline.jobs.views.common import (
    apply_errors,
    job_of,
    jobs_action,
    jobs_form,
    user_by_id,
    viewer_of,
    with_urls,
)
from jobline.jobs.views.job_page import render_job_page
from jobline.pipelines.models import Stage, StageField


def _job_page_url(job: Job, anchor: str = "") -> str:
    url = reverse("jobs:detail", args=[job.number])
    return f"{url}#{anchor}" if anchor else url


def _repeat(submitted: AlreadySubmitted, fallback: Job | None) -> str:
    """Where a repeated submission is sent: the first one's result."""
    number = submitted.result.get("job")
    if isinstance(number, int):
        return reverse("jobs:detail", args=[number])
    return _job_page_url(fallback) if fallback is not None else reverse("jobs:index")


# ----------------------------------------------------------------------------- create / edit


@jobs_form
def job_create(request: HttpRequest) -> HttpResponse:
    initial = {"owner": str(request.user.pk)}
    for name in ("pipeline", "customer"):
        if request.GET.get(name):
            initial[name] = request.GET[name]
    posted = request.method == "POST"
    form = JobCreateForm(
        request.POST if posted else None, initial=initial, workspace=request.workspace
    )
    if not selectors.pipelines(workspace=request.workspace).exists():
        return render(request, "jobs/no_pipelines.html")
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            job = services.job_create(
                workspace=request.workspace,
                pipeline=data["pipeline"],
                stage=data.get("stage"),
                title=data["title"],
                owner=user_by_id(request, data.get("owner")),
                customer=data.get("customer"),
                new_customer_name=data.get("new_customer_name") or "",
                new_customer_email=data.get("new_customer_email") or "",
                due_date=data.get("due_date"),
                actor=request.user,
                one_time_token=data.get("one_time_token"),
            )
        except AlreadySubmitted as repeat:
            return redirect(_repeat(repeat, None))
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{job.reference} created.")
            return redirect("jobs:detail", number=job.number)
    return render(request, "jobs/create.html", {"form": form}, status=400 if posted else 200)


@jobs_form
def job_edit(request: HttpRequest, number: int) -> HttpResponse:
    job = job_of(request, number)
    initial = {
        "version": job.version,
        "title": job.title,
        "owner": str(job.owner_id or ""),
        "customer": job.customer_id,
        "due_date": job.due_date,
    }
    posted = request.method == "POST"
    form = JobEditForm(
        request.POST if posted else None, initial=initial, workspace=request.workspace
    )
    status = 400 if posted else 200
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            services.job_update(
                job=job,
                actor=request.user,
                expected_version=data["version"],
                title=data["title"],
                owner=user_by_id(request, data.get("owner")),
                customer=data.get("customer"),
                due_date=data.get("due_date"),
            )
        except StaleJob as stale:
            form.add_error(None, stale.message)
            job = job_of(request, number)
            # Keep what they typed, but a second Save now applies it to the fresh job.
            form.data = form.data.copy()
            form.data["version"] = job.version
            status = 409
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Job saved.")
            return redirect("jobs:detail", number=job.number)
    return render(request, "jobs/edit.html", {"job": job, "form": form}, status=status)


# ----------------------------------------------------------------------------- moving


def _board_card_response(
    request: HttpRequest, job: Job, *, stages: list[Stage] | None = None, status: int = 200
) -> HttpResponse:
    if stages is None:
        stages = selectors.live_stages(job.pipeline_id)
    with_urls([job], move=True)
    return render(
        request,
        "jobs/_board_cards.html",
        {"cards": [job], "single": True, "move_stages": stages},
        status=status,
    )


def _move_refused(
    request: HttpRequest, job: Job, reason: str, from_board: bool, status: int = 400
) -> HttpResponse:
    if from_board:
        response = _board_card_response(request, job, status=status)
        response["HX-Trigger"] = json.dumps({"jobMoveRefused": reason})
        return response
    messages.error(request, reason)
    return render_job_page(request, job, status=status)


def _dialog_form(
    request: HttpRequest, job: Job, fields: list[StageField], data: Any = None
) -> StageForm:
    fillable = selectors.fields_for_viewer(viewer_of(request), fields)
    return StageForm(
        data,
        request.FILES if data is not None else None,
        stage_fields=fillable,
        values=selectors.saved_values(job=job, viewer=viewer_of(request)),
        require={f.pk for f in fillable},
        prefix="dialog",
    )


@jobs_action
def job_move(request: HttpRequest, number: int) -> HttpResponse:
    """Move to another stage. From the board (htmx) the answer is the card, or the
    required-fields dialog; from the job page it is the page."""
    job = job_of(request, number)
    # The request's workspace is the job's (job_of reads only its jobs): handed on with the
    # job, what the move sets off (follow-ups, an invoice) does not read it again.
    job.workspace = request.workspace
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
    dialog_form = None
    try:
        if request.POST.get("dialog") == "1":
            dialog_form = _dialog_form(
                request, job, selectors.missing_required_fields(job=job), data=request.POST
            )
            if not dialog_form.is_valid():
                raise RequiredFieldsMissing(stage=job.stage, fields=dialog_form.stage_fields)
            try:
                moved = services.job_fill_and_move(
                    job=job, stage=stage, values=dialog_form.json_values(), actor=request.user,
                    expected_version=version, files=dialog_form.uploads_by_field(),
                )  # fmt: skip
            except ValidationError as upload_error:
                apply_errors(dialog_form, upload_error)
                raise RequiredFieldsMissing(
                    stage=job.stage, fields=dialog_form.stage_fields
                ) from upload_error
        else:
            moved = services.job_move(
                job=job, stage=stage, actor=request.user, expected_version=version
            )
    except StaleJob as stale:
        return _move_refused(request, job_of(request, number), stale.message, from_board, 409)
    except RequiredFieldsMissing as gate:
        job = job_of(request, number)
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
        return render_job_page(request, job, status=422, move_dialog=context)
    except ValidationError as error:
        return _move_refused(request, job, " ".join(error.messages), from_board, status=400)
    if from_board:
        response = _board_card_response(request, moved, stages=stages)
        response["HX-Trigger"] = "jobMoved"
        return response
    messages.success(request, f"{moved.reference} moved to {stage.name}.")
    return redirect("jobs:detail", number=moved.number)


# ----------------------------------------------------------------------------- forms, messages


@jobs_action
def job_form_save(request: HttpRequest, number: int, stage_id: int) -> HttpResponse:
    job = job_of(request, number)
    viewer = viewer_of(request)
    stage, fields = selectors.stage_form_fields(job=job, stage_id=stage_id, viewer=viewer)
    form = StageForm(
        request.POST,
        request.FILES,
        stage_fields=fields,
        values=selectors.saved_values(job=job, viewer=viewer),
        prefix=f"s{stage.pk}",
    )
    form_key = f"stage_form_{stage.pk}"
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = -1
    if not form.is_valid():
        return render_job_page(request, job, status=400, **{form_key: form})
    try:
        entry = services.form_save(
            job=job, stage=stage, values=form.json_values(), actor=request.user,
            expected_version=version, files=form.uploads_by_field(),
        )  # fmt: skip
    except StaleJob as stale:
        form.add_error(None, stale.message)
        return render_job_page(request, job_of(request, number), status=409, **{form_key: form})
    except ValidationError as error:  # a refused upload: its message goes next to its field
        apply_errors(form, error)
        return render_job_page(request, job, status=refusal_status(error), **{form_key: form})
    messages.success(request, "Form saved." if entry else "Nothing changed.")
    return redirect(_job_page_url(job, f"stage-form-{stage.pk}"))


def _done(request: HttpRequest, job: Job, anchor: str) -> HttpResponse:
    """After a change from the job page: htmx (uploads with their progress bar) gets the
    fresh page to swap in; a plain form post is redirected to it."""
    if request.htmx:
        return render_job_page(request, job_of(request, job.number))
    return redirect(_job_page_url(job, anchor))


@jobs_action
def job_message(request: HttpRequest, number: int) -> HttpResponse:
    """The composer: an internal note or a reply, with any files attached to it."""
    job = job_of(request, number)
    form = ComposerForm(request.POST, request.FILES)
    if not form.is_valid():
        return render_job_page(request, job, status=400, composer=form)
    visibility = form.cleaned_data["visibility"]
    files = request.FILES.getlist("files")
    try:
        services.message_post(
            job=job, body=form.cleaned_data["body"], visibility=visibility, actor=request.user,
            files=files, one_time_token=form.cleaned_data.get("one_time_token"),
        )  # fmt: skip
    except AlreadySubmitted:
        return _done(request, job, "feed")
    except ValidationError as error:
        apply_errors(form, error)
        if not form.errors:
            form.add_error(None, error.messages)
        return render_job_page(request, job, status=refusal_status(error), composer=form)
    sent = visibility == Visibility.CUSTOMER
    messages.success(request, "Sent to the customer." if sent else "Internal note added.")
    return _done(request, job, "feed")


@jobs_action
def job_files_add(request: HttpRequest, number: int) -> HttpResponse:
    """Files straight onto the job (several at once, or dropped onto the page)."""
    job = job_of(request, number)
    form = FileUploadForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        files = form.cleaned_data["files"]
        try:
            uploads.attachments_add(
                job=job, uploads=files, visibility=form.cleaned_data["visibility"],
                actor=request.user,
            )  # fmt: skip
        except ValidationError as error:
            form.add_error("files", error.messages)
            status = refusal_status(error)
        else:
            count = len(files)
            messages.success(request, f"{count} file{'s' if count != 1 else ''} added.")
            return _done(request, job, "files")
    return render_job_page(request, job, status=status, file_form=form)


@jobs_action
def job_file_visibility(request: HttpRequest, number: int, attachment_id: int) -> HttpResponse:
    job = job_of(request, number)
    attachment = selectors.job_attachment(
        job=job, viewer=viewer_of(request), attachment_id=attachment_id
    )
    visibility = request.POST.get("visibility", "")
    try:
        uploads.attachment_set_visibility(
            attachment=attachment, visibility=visibility, actor=request.user
        )
    except ValidationError as error:  # neither internal nor visible
        messages.error(request, " ".join(error.messages))
        return redirect(_job_page_url(job, "files"))
    shared = visibility == Visibility.CUSTOMER  # which words to say; the service decided
    messages.success(
        request,
        f"{attachment.original_name} is now {'visible to the customer' if shared else 'internal'}.",
    )
    return redirect(_job_page_url(job, "files"))


@jobs_action
def message_make_internal(request: HttpRequest, number: int, message_id: int) -> HttpResponse:
    job = job_of(request, number)
    message = selectors.job_message(job=job, viewer=viewer_of(request), message_id=message_id)
    services.message_make_internal(message=message, actor=request.user)
    messages.success(request, "The reply is now internal; the customer no longer sees it.")
    return redirect(_job_page_url(job, "feed"))


# ----------------------------------------------------------------------------- requests


@jobs_action
def job_request_create(request: HttpRequest, number: int) -> HttpResponse:
    job = job_of(request, number)
    form = DocumentRequestForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            document_requests.request_create(
                job=job, actor=request.user, title=data["title"],
                description=data.get("description") or "", due_date=data.get("due_date"),
                one_time_token=data.get("one_time_token"),
            )  # fmt: skip
        except AlreadySubmitted:
            return redirect(_job_page_url(job, "requests"))
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Asked the customer for “{data['title']}”.")
            return redirect(_job_page_url(job, "requests"))
    return render_job_page(request, job, status=400, request_form=form)


@jobs_action
def job_request_reopen(request: HttpRequest, number: int, request_id: int) -> HttpResponse:
    job = job_of(request, number)
    document_request = selectors.job_request(
        job=job, viewer=viewer_of(request), request_id=request_id
    )
    form = ReopenRequestForm(request.POST)
    if form.is_valid():
        document_requests.request_reopen(
            request=document_request, reason=form.cleaned_data["reason"], actor=request.user
        )
        messages.success(request, f"“{document_request.title}” is open again.")
    else:
        messages.error(request, "Say why the document is needed again.")
    return redirect(_job_page_url(job, "requests"))


# ----------------------------------------------------------------------------- the rest


@jobs_action
def job_archive(request: HttpRequest, number: int) -> HttpResponse:
    job = services.job_archive(job=job_of(request, number), actor=request.user)
    messages.success(request, f"{job.reference} archived. Restore it any time.")
    return redirect("jobs:detail", number=job.number)


@jobs_action
def job_restore(request: HttpRequest, number: int) -> HttpResponse:
    job = services.job_restore(job=job_of(request, number), actor=request.user)
    messages.success(request, f"{job.reference} restored.")
    return redirect("jobs:detail", number=job.number)


@jobs_form
def job_copy(request: HttpRequest, number: int) -> HttpResponse:
    """Copy a job into another pipeline: a new linked job there, this one archived."""
    job = job_of(request, number)
    posted = request.method == "POST"
    form = CopyForm(
        request.POST if posted else None, workspace=request.workspace, exclude=job.pipeline
    )
    if posted and form.is_valid():
        try:
            copy = services.job_copy(
                job=job, pipeline=form.cleaned_data["pipeline"], actor=request.user
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Copied into {copy.pipeline.name} as {copy.reference}.")
            return redirect("jobs:detail", number=copy.number)
    return render(
        request, "jobs/copy.html", {"job": job, "form": form}, status=400 if posted else 200
    )


@jobs_action
def job_follow(request: HttpRequest, number: int) -> HttpResponse:
    """Follow or stop following a job (its owner hears about it anyway)."""
    job = job_of(request, number)
    if request.POST.get("follow") == "1":
        services.job_follow(job=job, user=request.user)
        messages.success(
            request, f"You'll hear when the customer does something on {job.reference}."
        )
    else:
        services.job_unfollow(job=job, user=request.user)
        messages.success(request, f"You no longer follow {job.reference}.")
    return redirect("jobs:detail", job.number)
