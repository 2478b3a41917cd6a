"""The Jobs section. Its index exists while the Jobs module is on; off, it is a 404."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from jobline.workspaces.models import Module
from jobline.workspaces.permissions import module_required


@module_required(Module.JOBS)
def job_index(request: HttpRequest) -> HttpResponse:
    return render(request, "jobs/index.html")
