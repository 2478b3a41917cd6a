"""The start page: where a signed-in member lands, with the counts of their workspace."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from jobline.customers import selectors as customer_selectors
from jobline.jobs import selectors as job_selectors
from jobline.workspaces import selectors as workspace_selectors
from jobline.workspaces.permissions import member_required


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    return redirect("dashboard")


@member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    job_counts = (
        job_selectors.dashboard_counts(workspace=workspace, user_id=request.user.pk)
        if workspace.module_jobs
        else None
    )
    return render(
        request,
        "home/dashboard.html",
        {
            "customer_count": customer_selectors.customers(workspace=workspace).count(),
            "member_count": workspace_selectors.members(workspace=workspace).count(),
            "job_counts": job_counts,
        },
    )
