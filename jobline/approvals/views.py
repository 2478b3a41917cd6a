"""The staff side of approvals, from the job page: ask now, change what the customer approves
(a message, a file), and override (Admins and Managers, with a reason)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from jobline.approvals import hooks, selectors, services
from jobline.jobs.models import Attachment
from jobline.jobs.views.common import job_of
from jobline.workspaces.models import Module, Role
from jobline.workspaces.permissions import member_required, module_required, role_required
from jobline.workspaces.viewers import request_viewer

View = Callable[..., HttpResponse]


def approvals_action(view: View) -> View:
    return module_required(Module.JOBS)(member_required(require_POST(view)))


def _back(approval_or_job: object) -> HttpResponse:
    job = getattr(approval_or_job, "job", approval_or_job)
    number = job.number  # type: ignore[attr-defined]
    return redirect(reverse("jobs:detail", args=[number]) + "#approval")


def _said(request: HttpRequest, error: ValidationError) -> None:
    messages.error(request, " ".join(error.messages))


@approvals_action
def approval_ask(request: HttpRequest, number: int) -> HttpResponse:
    job = job_of(request, number)
    try:
        services.approval_ask(job=job, actor=request.user)
    except ValidationError as error:
        _said(request, error)
    else:
        messages.success(request, "The customer is asked to approve.")
    return _back(job)


@approvals_action
def approval_edit(request: HttpRequest, approval_id: int) -> HttpResponse:
    approval = selectors.get_approval(viewer=request_viewer(request), pk=approval_id)
    file_id = request.POST.get("file", "")
    attachment = (
        Attachment.objects.filter(job_id=approval.job_id, pk=int(file_id)).first()
        if file_id.isdigit() and len(file_id) < 12
        else None
    )
    if file_id and attachment is None:
        messages.error(request, "Choose a file of this job that the customer can see.")
        return _back(approval)
    document_key = request.POST.get("document", "")
    document = (
        hooks.document_of(approval.job, request_viewer(request), document_key)
        if document_key
        else None
    )
    if document_key and document is None:
        messages.error(request, "Choose one of the job's quote revisions.")
        return _back(approval)
    try:
        services.approval_edit(
            approval=approval, actor=request.user, message=request.POST.get("message", ""),
            add_file=attachment, add_document=document,
        )  # fmt: skip
    except ValidationError as error:
        _said(request, error)
    else:
        messages.success(request, "What the customer approves is saved.")
    return _back(approval)


@module_required(Module.JOBS)
@role_required(Role.ADMIN, Role.MANAGER)
@require_POST
def approval_override(request: HttpRequest, approval_id: int) -> HttpResponse:
    approval = selectors.get_approval(viewer=request_viewer(request), pk=approval_id)
    try:
        services.approval_override(
            approval=approval, actor=request.user, reason=request.POST.get("reason", "")
        )
    except ValidationError as error:
        _said(request, error)
    else:
        messages.success(request, "Overridden: the job can move on.")
    return _back(approval)
