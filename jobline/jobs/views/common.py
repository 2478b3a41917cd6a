"""What the jobs pages share: the module check, turning a service's errors into form errors,
and the URLs of many jobs built from one reverse()."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from jobline.jobs import selectors
from jobline.jobs.models import Job
from jobline.workspaces.models import Module
from jobline.workspaces.permissions import module_required
from jobline.workspaces.viewers import Viewer, request_viewer

View = Callable[..., HttpResponse]
_jobs_module = module_required(Module.JOBS)


def jobs_page(view: View) -> View:
    """A page of the Jobs module (404 with it off) that only reads: GET and HEAD; writing
    methods get 405 (looked up after the module and tenancy checks)."""
    return _jobs_module(require_safe(view))


def jobs_action(view: View) -> View:
    """A change on the Jobs module: POST only."""
    return _jobs_module(require_POST(view))


def jobs_form(view: View) -> View:
    """A page with a form: GET shows it, POST sends it."""
    return _jobs_module(require_http_methods(["GET", "HEAD", "POST"])(view))


def viewer_of(request: HttpRequest) -> Viewer | None:
    return request_viewer(request)


def job_of(request: HttpRequest, number: int) -> Job:
    return selectors.get_job(viewer=viewer_of(request), number=number)


def apply_errors(form: Any, error: ValidationError) -> None:
    """A service's ValidationError as form errors: next to the field when the form has it."""
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def user_by_id(request: HttpRequest, raw: str | None) -> Any:
    """An owner chosen in a form: must be an active member of this workspace."""
    if not raw:
        return None
    membership = selectors.owners(workspace=request.workspace).filter(user_id=raw).first()
    if membership is None:
        raise ValidationError({"owner": "Choose a member of this workspace as the owner."})
    return membership.user


def job_url(name: str) -> Callable[[int], str]:
    """The URL of a job's page (or action) for any job number, from one reverse() per page:
    a reverse per card or row cost ~45 µs, 2 of them per card a quarter of the card."""
    marker = "987654321"
    head, _, tail = reverse(name, args=[int(marker)]).partition(marker)
    return lambda number: f"{head}{number}{tail}"


def with_urls(jobs: Iterable[Job], *, move: bool = False) -> None:
    """Gives each job of a list or board its `url` (and `move_url`) for the templates."""
    detail_url = job_url("jobs:detail")
    move_url = job_url("jobs:move") if move else None
    for job in jobs:
        job.url = detail_url(job.number)  # type: ignore[attr-defined]
        if move_url is not None:
            job.move_url = move_url(job.number)  # type: ignore[attr-defined]
