"""Every change to an approval: asked for when a job enters a stage that requires it, edited by
staff (a message; a file attached, which reopens an approval given), reopened when the job's
value changes (billing tells us), answered by the customer (approve with their typed name, or
request changes), overridden by an Admin or Manager with a reason — and the gate that keeps a
job from moving on past an unapproved stage.

Each change writes its feed entry in its transaction. The entries carry no amounts: what the
customer approves is on the portal page, in money() as ever."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from jobline.accounts.models import User
from jobline.approvals.hooks import Document
from jobline.approvals.models import MESSAGE_MAX, PASSING, Approval, ApprovalStatus
from jobline.core.transactions import service
from jobline.jobs import activity
from jobline.jobs.changes import job_lock, log
from jobline.jobs.choices import STAGE_ENTRY_KINDS, ActorKind, Visibility
from jobline.jobs.models import Activity, Attachment, Job
from jobline.pipelines.models import Stage
from jobline.workspaces.models import Membership
from jobline.workspaces.viewers import MONEY_ROLES, Viewer, customer_viewer

REASON_MAX = 300
NAME_MAX = 150
# What changed, as the customer reads it: the file itself is listed with the request while the
# customer may see it (its name here, and in the feed entry, would outlive its being made
# internal).
NEW_FILE = "A file was added"


# ----------------------------------------------------------------------------- what it is


def content_of(approval: Approval) -> dict[str, Any]:
    """What the customer approves (and what the recorded hash covers): its files as the job's
    customer may see them (a file made internal since it was attached is not on their page, so
    it is not in what they approved)."""
    customer = approval.job.customer
    files = Attachment.objects.none()
    if customer is not None:
        files = Attachment.objects.visible_to(customer_viewer(customer), approval.job).filter(
            pk__in=approval.files.values("pk")
        )
    return {
        "stage": approval.stage_id,
        "label": approval.label,
        "message": approval.message,
        "files": sorted((f.pk, f.original_name) for f in files),
        "value": str(approval.value) if approval.value is not None else None,
        "document": approval.document or None,
    }


def content_hash(approval: Approval) -> str:
    return hashlib.sha256(json.dumps(content_of(approval), sort_keys=True).encode()).hexdigest()


def latest_of(job: Job, stage: Stage) -> Approval | None:
    """The job's live approval for the stage (the newest, not replaced)."""
    return (
        Approval.objects.filter(job=job, stage=stage)
        .exclude(status=ApprovalStatus.SUPERSEDED)
        .order_by("-requested_at", "-pk")
        .first()
    )


def _log(approval: Approval, payload_class: type, *, actor: User | None, at: dt.datetime,
         reason: str = "", visibility: str = Visibility.CUSTOMER,
         actor_kind: str | None = None) -> Activity:  # fmt: skip
    return log(
        job=approval.job,
        payload=payload_class(
            approval_id=approval.pk,
            stage=activity.StageRef.of(approval.stage),
            label=approval.label,
            reason=reason,
        ),
        actor=actor,
        actor_kind=actor_kind,
        visibility=visibility,
        at=at,
    )


def _ask(job: Job, stage: Stage, *, actor: User | None, at: dt.datetime, message: str = "",
         files: Iterable[Attachment] = (), document: dict[str, Any] | None = None,
         changed: str = "") -> Approval:  # fmt: skip
    """A new request replaces any still open on the job (one live request per job) and the
    stage's earlier answer (kept, as history)."""
    Approval.objects.filter(
        Q(stage=stage) | Q(status__in=[ApprovalStatus.PENDING, ApprovalStatus.CHANGES_REQUESTED]),
        job=job,
    ).exclude(status=ApprovalStatus.SUPERSEDED).update(status=ApprovalStatus.SUPERSEDED)
    approval = Approval.objects.create(
        workspace_id=job.workspace_id, job=job, stage=stage, message=message, value=job.value,
        document=document or {}, changed=changed[:300], requested_at=at,
    )  # fmt: skip
    approval.files.set(list(files))
    _log(approval, activity.ApprovalReopened if changed else activity.ApprovalRequested,
         actor=actor, at=at, reason=changed)  # fmt: skip
    return approval


def on_activity_logged(entry: Activity) -> None:
    """A job entering a stage that requires approval asks its customer for it — unless the
    stage was approved already (re-entering asks nothing again) or a request is open."""
    if entry.kind not in STAGE_ENTRY_KINDS or entry.stage_id is None:
        return
    stage = entry.stage
    if not stage.requires_approval or not stage.visible_to_customer:
        return
    latest = latest_of(entry.job, stage)
    if latest is not None and (latest.status in PASSING or latest.is_pending):
        return
    _ask(entry.job, stage, actor=entry.actor, at=entry.created_at)


def refuse_unapproved_move(job: Job, current: Stage, target: Stage) -> None:
    """The gate (jobs.hooks.check_move_forward): a job moves on past a stage that requires
    approval only once it is approved, or overridden."""
    if not current.requires_approval:
        return
    latest = latest_of(job, current)
    if latest is not None and latest.status in PASSING:
        return
    why = (
        "the customer asked for changes"
        if latest is not None and latest.status == ApprovalStatus.CHANGES_REQUESTED
        else "the customer has not approved it yet"
    )
    raise ValidationError(
        f"{current.name} waits for the customer's approval: {why}. An Admin or Manager can "
        f"override it from the job page."
    )


# ----------------------------------------------------------------------------- staff


def _locked(approval: Approval) -> tuple[Job, Approval]:
    job = job_lock(job=approval.job, expected_version=None)
    return job, Approval.objects.select_related("stage", "job").get(pk=approval.pk)


@service
def approval_ask(*, job: Job, actor: User, at: dt.datetime | None = None) -> Approval:
    """Ask now for the approval of the job's stage (one that requires it, with none open)."""
    locked = job_lock(job=job, expected_version=None)
    stage = Stage.objects.get(pk=locked.stage_id)
    if not stage.requires_approval:
        raise ValidationError(f"{stage.name} does not need the customer's approval.")
    latest = latest_of(locked, stage)
    if latest is not None and (latest.is_pending or latest.status in PASSING):
        raise ValidationError("The customer has been asked already.")
    return _ask(locked, stage, actor=actor, at=at or timezone.now())


@service
def approval_edit(
    *,
    approval: Approval,
    actor: User,
    message: str,
    add_file: Attachment | None = None,
    add_document: Document | None = None,
    at: dt.datetime | None = None,
) -> Approval:
    """Staff change what the customer approves. A message is theirs to change while the
    request is open; once changes were asked for, the new message asks again. A file attached,
    or a quote revision (``add_document``, which replaces the one attached before), is a
    material change: an approval given is asked for again, with what changed shown."""
    job, locked = _locked(approval)
    now = at or timezone.now()
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX:
        raise ValidationError({"message": f"Keep the message under {MESSAGE_MAX} characters."})
    if add_file is not None:
        # Read again, with the job locked, and judged by the files' own rule: the caller's
        # copy may be older than the file's visibility (the oracle attached a file shared
        # after it was loaded and was refused), and a shared file on an internal note is not
        # one the customer sees.
        add_file = (
            Attachment.objects.with_customer_visibility()
            .filter(pk=add_file.pk, job_id=job.pk, customer_sees=True)
            .first()
        )
        if add_file is None:
            raise ValidationError({"file": "Choose a file of this job that the customer can see."})
    files = list(locked.files.all())
    document = add_document.as_data() if add_document is not None else locked.document
    if add_document is not None and add_document.key == (locked.document or {}).get("key"):
        add_document = None  # the one attached already: nothing new
    if locked.status == ApprovalStatus.SUPERSEDED:
        raise ValidationError("This request was replaced by a newer one; change that instead.")
    material = add_file is not None or add_document is not None
    if locked.status in PASSING or locked.status == ApprovalStatus.CHANGES_REQUESTED:
        if not material and locked.status in PASSING:
            raise ValidationError(
                "It is approved: only a material change (a new file or quote revision) asks "
                "the customer again."
            )
        changed = _what_changed(add_document) if material else "Changed as you asked"
        return _ask(job, locked.stage, actor=actor, at=now, message=message,
                    files=[*files, *([add_file] if add_file else [])], document=document,
                    changed=changed)  # fmt: skip
    # Still open: the customer sees the request as it is now.
    locked.message = message
    if add_file is not None and add_file not in files:
        locked.files.add(add_file)
        locked.changed = NEW_FILE
    if add_document is not None:
        locked.document = document
        locked.changed = _what_changed(add_document)
    locked.save(update_fields=["message", "document", "changed"])
    return locked


def _what_changed(add_document: Document | None) -> str:
    """What changed, for a material change: the quote revision attached, else a file."""
    if add_document is not None:
        return f"{add_document.title} attached"[:300]
    return NEW_FILE


def value_changed(*, job: Job, actor: User | None, at: dt.datetime) -> Approval | None:
    """The job's value changed (billing, inside its transaction, the job locked): a material
    change — the approval of the stage the job is in is asked for again (an open request shows
    the new value). No amounts go into the feed."""
    stage = Stage.objects.get(pk=job.stage_id)
    if not stage.requires_approval:
        return None
    latest = latest_of(job, stage)
    if latest is None:
        return None
    if latest.is_pending:
        if latest.value is not None:  # the customer may have seen the old one
            latest.changed = "The job's value changed"
        latest.value = job.value
        latest.save(update_fields=["value", "changed"])
        return latest
    return _ask(job, stage, actor=actor, at=at, message=latest.message,
                files=list(latest.files.all()), document=latest.document,
                changed="The job's value changed")  # fmt: skip


@service
def approval_override(
    *, approval: Approval, actor: User, reason: str, at: dt.datetime | None = None
) -> Approval:
    """An Admin or Manager lets the job move on without the customer's approval, with a
    reason the feed records."""
    job, locked = _locked(approval)
    role = (
        Membership.objects.active()
        .filter(workspace_id=job.workspace_id, user=actor)
        .values_list("role", flat=True)
        .first()
    )
    if role not in MONEY_ROLES:
        raise PermissionDenied("Only an Admin or a Manager can override an approval.")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": "Say why the job goes on without the approval."})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"Keep the reason under {REASON_MAX} characters."})
    if locked.status not in (ApprovalStatus.PENDING, ApprovalStatus.CHANGES_REQUESTED):
        raise ValidationError(f"It is {locked.get_status_display().lower()} already.")
    now = at or timezone.now()
    locked.status = ApprovalStatus.OVERRIDDEN
    locked.override_reason = reason
    locked.overridden_by = actor
    locked.decided_at = now
    locked.save(update_fields=["status", "override_reason", "overridden_by", "decided_at"])
    _log(locked, activity.ApprovalOverridden, actor=actor, at=now, reason=reason,
         visibility=Visibility.INTERNAL)  # fmt: skip
    return locked


# ----------------------------------------------------------------------------- customer


def approval_decide(
    *,
    approval_id: int,
    viewer: Viewer,
    user: User | None,
    approve: bool,
    name: str = "",
    message: str = "",
    ip: str | None = None,
    at: dt.datetime | None = None,
) -> Approval:
    """The customer's answer: approve (their typed name) or request changes (a message). Only
    the live request can be answered, once; its name, time, network address and the hash of
    what it showed are recorded. Raises ValidationError saying why not."""
    with transaction.atomic(durable=True):
        found = Approval.objects.visible_to(viewer).filter(pk=approval_id).first()
        if found is None:
            raise Approval.DoesNotExist
        _job, locked = _locked(found)
        if locked.status == ApprovalStatus.SUPERSEDED:
            raise ValidationError("This request was replaced by a newer one: answer that one.")
        if locked.status == ApprovalStatus.APPROVED:
            raise ValidationError("You approved this already.")
        if locked.status == ApprovalStatus.CHANGES_REQUESTED:
            raise ValidationError("You asked for changes already; you will be asked again.")
        if locked.status == ApprovalStatus.OVERRIDDEN:
            raise ValidationError("This no longer waits for your answer.")
        name = " ".join((name or "").split())
        message = (message or "").strip()
        if approve and not name:
            raise ValidationError({"name": "Type your name to approve."})
        if len(name) > NAME_MAX:
            raise ValidationError({"name": f"Keep your name under {NAME_MAX} characters."})
        if not approve and not message:
            raise ValidationError({"message": "Say what you would like changed."})
        if len(message) > MESSAGE_MAX:
            raise ValidationError({"message": f"Keep it under {MESSAGE_MAX} characters."})
        now = at or timezone.now()
        locked.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.CHANGES_REQUESTED
        locked.decided_at = now
        locked.decided_name = name
        locked.decided_ip = ip
        locked.decided_hash = content_hash(locked)
        locked.changes_message = "" if approve else message
        locked.save(update_fields=["status", "decided_at", "decided_name", "decided_ip",
                                   "decided_hash", "changes_message"])  # fmt: skip
        _log(locked, activity.Approved if approve else activity.ChangesRequested, actor=user,
             at=now, reason="" if approve else message[:REASON_MAX],
             actor_kind=ActorKind.CUSTOMER)  # fmt: skip
        return locked
