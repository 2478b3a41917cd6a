"""Document requests: staff ask for a document, the customer uploads into the request, staff
may reopen it with a reason. Each step is a customer-visible feed entry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.files import File
from django.utils import timezone

from jobline.accounts.models import User
from jobline.core import one_time
from jobline.core.transactions import service
from jobline.jobs import activity
from jobline.jobs.changes import job_lock, job_touch, log
from jobline.jobs.choices import ActorKind, Visibility
from jobline.jobs.models import DocumentRequest, Job
from jobline.jobs.uploads import StoredFile, attachments_create, files_stored

TITLE_MAX_CHARS = 160
DESCRIPTION_MAX_CHARS = 2_000
REASON_MAX_CHARS = 300


@service
def request_create(
    *,
    job: Job,
    title: str,
    actor: User,
    description: str = "",
    due_date: dt.date | None = None,
    one_time_token: str | None = None,
) -> DocumentRequest:
    title = title.strip()
    if not title:
        raise ValidationError({"title": "Say which document you need, e.g. “Photo ID”."})
    if len(title) > TITLE_MAX_CHARS or len(description) > DESCRIPTION_MAX_CHARS:
        raise ValidationError(
            {"description": f"Keep it under {DESCRIPTION_MAX_CHARS:,} characters."}
            if len(description) > DESCRIPTION_MAX_CHARS
            else {"title": f"Keep the title under {TITLE_MAX_CHARS} characters."}
        )
    submission = one_time.claim(token=one_time_token, user=actor)
    locked = job_lock(job=job, expected_version=None)
    request = DocumentRequest.objects.create(
        job=locked, title=title, description=description.strip(), due_date=due_date,
        created_by=actor,
    )  # fmt: skip
    now = timezone.now()
    log(
        job=locked,
        payload=activity.RequestCreated(request_id=request.pk, title=title),
        actor=actor,
        visibility=Visibility.CUSTOMER,
        at=now,
    )
    job_touch(locked, at=now)
    one_time.record(submission, job=locked.number, request=request.pk)
    return request


@service
def request_fulfil_stored(
    *,
    request: DocumentRequest,
    user: User,
    stored: Sequence[StoredFile],
    actor_kind: ActorKind | str,
) -> DocumentRequest:
    locked_job = job_lock(job=request.job, expected_version=None)
    locked = DocumentRequest.objects.select_for_update().get(pk=request.pk)
    if not locked.is_open:
        raise ValidationError({"files": "This request is already done. Nothing more is needed."})
    now = timezone.now()
    attachments_create(
        job=locked_job, stored=stored, visibility=Visibility.CUSTOMER, actor=user,
        actor_kind=actor_kind, at=now, document_request=locked,
    )  # fmt: skip
    locked.status = DocumentRequest.Status.FULFILLED
    locked.fulfilled_at = now
    locked.save(update_fields=["status", "fulfilled_at"])
    log(
        job=locked_job,
        payload=activity.RequestFulfilled(
            request_id=locked.pk, title=locked.title, files=len(stored)
        ),
        actor=user,
        actor_kind=actor_kind,
        visibility=Visibility.CUSTOMER,
        at=now,
    )
    job_touch(locked_job, at=now)
    return locked


def request_fulfil(
    *, request: DocumentRequest, user: User, files: Sequence[File], actor_kind: ActorKind | str
) -> DocumentRequest:
    """The customer uploads into an open request; it is then done. A second upload into a
    done request is refused (staff reopen it if more is needed). Files are stored first."""
    if not request.is_open:
        raise ValidationError({"files": "This request is already done. Nothing more is needed."})
    if not files:
        raise ValidationError({"files": "Choose the file to send."})
    with files_stored(files) as stored:
        return request_fulfil_stored(
            request=request, user=user, stored=stored.get(), actor_kind=actor_kind
        )


@service
def request_reopen(*, request: DocumentRequest, reason: str, actor: User) -> DocumentRequest:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Tell the customer why (e.g. “The photo is blurred”)."})
    if len(reason) > REASON_MAX_CHARS:
        raise ValidationError({"reason": f"Keep it under {REASON_MAX_CHARS} characters."})
    job = job_lock(job=request.job, expected_version=None)
    locked = DocumentRequest.objects.select_for_update().get(pk=request.pk)
    if locked.is_open:
        return locked
    locked.status = DocumentRequest.Status.OPEN
    locked.fulfilled_at = None
    locked.save(update_fields=["status", "fulfilled_at"])
    now = timezone.now()
    log(
        job=job,
        payload=activity.RequestReopened(request_id=locked.pk, title=locked.title, reason=reason),
        actor=actor,
        visibility=Visibility.CUSTOMER,
        at=now,
    )
    job_touch(job, at=now)
    return locked
