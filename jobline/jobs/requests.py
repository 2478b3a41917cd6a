"""Document requests: staff ask for a document, the customer uploads into the request, staff
may reopen it with a reason. Each step is a customer-visible feed entry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from jobline.accounts.models import User
from jobline.jobs.models import ActivityKind, ActorKind, DocumentRequest, Job, Visibility
from jobline.jobs.services import _lock, _touch, log
from jobline.jobs.uploads import attachments_add
from jobline.notifications.services import notify_job_staff


@transaction.atomic
def request_create(
    *,
    job: Job,
    title: str,
    actor: User,
    description: str = "",
    due_date: dt.date | None = None,
) -> DocumentRequest:
    title = title.strip()
    if not title:
        raise ValidationError({"title": "Say which document you need, e.g. “Photo ID”."})
    locked = _lock(job, None)
    request = DocumentRequest.objects.create(
        job=locked, title=title, description=description.strip(), due_date=due_date,
        created_by=actor,
    )  # fmt: skip
    now = timezone.now()
    log(
        job=locked,
        kind=ActivityKind.REQUEST_CREATED,
        actor=actor,
        visibility=Visibility.CUSTOMER,
        data={"request": request.pk, "title": title},
        at=now,
    )
    _touch(locked, at=now)
    return request


@transaction.atomic
def request_fulfil(
    *, request: DocumentRequest, user: User, files: Sequence[File], actor_kind: ActorKind
) -> DocumentRequest:
    """The customer uploads into an open request; it is then done. A second upload into a
    done request is refused (staff reopen it if more is needed)."""
    locked = DocumentRequest.objects.select_for_update().get(pk=request.pk)
    if not locked.is_open:
        raise ValidationError({"files": "This request is already done. Nothing more is needed."})
    if not files:
        raise ValidationError({"files": "Choose the file to send."})
    attachments_add(
        job=locked.job,
        uploads=files,
        visibility=Visibility.CUSTOMER,
        actor=user,
        actor_kind=actor_kind,
        document_request=locked,
    )
    now = timezone.now()
    locked.status = DocumentRequest.Status.FULFILLED
    locked.fulfilled_at = now
    locked.save(update_fields=["status", "fulfilled_at"])
    log(
        job=locked.job,
        kind=ActivityKind.REQUEST_FULFILLED,
        actor=user,
        actor_kind=actor_kind,
        visibility=Visibility.CUSTOMER,
        data={"request": locked.pk, "title": locked.title, "files": len(files)},
        at=now,
    )
    if actor_kind == ActorKind.CUSTOMER:
        notify_job_staff(job=locked.job, actor=user, text=f"The customer sent “{locked.title}”")
    request.__dict__.update(locked.__dict__)
    return locked


@transaction.atomic
def request_reopen(*, request: DocumentRequest, reason: str, actor: User) -> DocumentRequest:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Tell the customer why (e.g. “The photo is blurred”)."})
    locked = DocumentRequest.objects.select_for_update().get(pk=request.pk)
    if locked.is_open:
        return locked
    job = _lock(locked.job, None)
    locked.status = DocumentRequest.Status.OPEN
    locked.fulfilled_at = None
    locked.save(update_fields=["status", "fulfilled_at"])
    now = timezone.now()
    log(
        job=job,
        kind=ActivityKind.REQUEST_REOPENED,
        actor=actor,
        visibility=Visibility.CUSTOMER,
        data={"request": locked.pk, "title": locked.title, "reason": reason},
        at=now,
    )
    _touch(job, at=now)
    request.__dict__.update(locked.__dict__)
    return locked
