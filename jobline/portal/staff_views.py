"""The portal as staff reach it: inviting a customer to it, and "View as customer"."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from jobline.customers import selectors as customer_selectors
from jobline.jobs import selectors as job_selectors
from jobline.portal import services
from jobline.portal.views import render_job_page
from jobline.workspaces.models import Module
from jobline.workspaces.permissions import member_required, module_required
from jobline.workspaces.viewers import preview_viewer, request_viewer


@member_required
@require_POST
def customer_invite(request: HttpRequest, customer_id: int) -> HttpResponse:
    """ "Invite to portal": the customer gets a sign-in link by e-mail."""
    customer = customer_selectors.get_customer(workspace=request.workspace, customer_id=customer_id)
    try:
        services.customer_invite(
            customer=customer,
            actor=request.user,
            build_url=lambda token: request.build_absolute_uri(
                reverse("portal:sign_in_link", args=[token])
            ),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Sign-in link sent to {customer.email}.")
    return redirect("customers:detail", customer_id=customer.pk)


@module_required(Module.JOBS)
@require_safe
def job_preview(request: HttpRequest, number: int) -> HttpResponse:
    """ "View as customer": the portal page of this job as its customer sees it, read-only,
    through the same reading of the job (jobs.customer_view) — with the member's own role
    as the limit, so Staff never see amounts here either. Each preview is audited."""
    job = job_selectors.get_job(viewer=request_viewer(request), number=number)
    if job.customer is None:
        messages.info(request, f"{job.reference} has no customer to view it as.")
        return redirect("jobs:detail", number=job.number)
    services.preview_record(job=job, actor=request.user)
    return render_job_page(
        request, job, preview_viewer(request.membership, job.customer), preview=True
    )
