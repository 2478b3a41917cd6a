"""Every change to a job. Each is one service: one durable transaction (jobline.core
.transactions), the job's row locked and its version checked (changes.job_lock), and its feed
entry written in the same transaction (changes.log); a refused change writes nothing.

Services that take uploads store the files before their transaction opens (uploads.py), and
delete them again if it fails.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from jobline.accounts.models import User
from jobline.core import one_time
from jobline.core.prepared import PreparedQuery
from jobline.core.transactions import service
from jobline.customers import services as customer_services
from jobline.customers.models import Customer
from jobline.jobs import activity, hooks
from jobline.jobs.changes import job_lock, job_touch, log
from jobline.jobs.choices import STAGE_ENTRY_KINDS, ActorKind, Visibility
from jobline.jobs.models import Activity, FieldValue, Job, JobFollower, JobNumberSequence, Message
from jobline.jobs.stage_forms import missing_required, same_value
from jobline.jobs.uploads import (
    FILES,
    StoredFile,
    StoredFiles,
    attachments_create,
    checked_visibility,
    files_stored,
)
from jobline.pipelines.models import FieldType, Pipeline, Stage, StageField
from jobline.workspaces.models import Membership, Workspace

SEARCH_TEXT_LIMIT = 20000
# Sensible limits for text people type (a 4 MB note was accepted once).
MESSAGE_MAX_CHARS = 10_000


@dataclass
class RequiredFieldsMissing(Exception):
    """Moving on needs these fields of the stage being left."""

    stage: Stage
    fields: list[StageField]

    def __str__(self) -> str:
        labels = ", ".join(f.label for f in self.fields)
        return f"Fill in before moving on from {self.stage.name}: {labels}."


def search_text_for(job: Job) -> str:
    parts = [job.reference, str(job.number), job.title]
    if job.customer is not None:
        parts.append(job.customer.name)
    notes = Message.objects.filter(job_id=job.pk).values_list("body", flat=True) if job.pk else []
    parts.extend(notes)
    return "\n".join(parts)[:SEARCH_TEXT_LIMIT]


def _refresh_search_text(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(search_text=search_text_for(job))


def _validate_people(
    *, workspace: Workspace, owner: User | None, customer: Customer | None
) -> None:
    errors: dict[str, str] = {}
    if (
        owner is not None
        and not Membership.objects.active().filter(workspace=workspace, user=owner).exists()
    ):
        errors["owner"] = "Choose a member of this workspace as the owner."
    if customer is not None and customer.workspace_id != workspace.pk:
        errors["customer"] = "Choose a customer of this workspace."
    if errors:
        raise ValidationError(errors)


def _next_number(workspace: Workspace) -> int:
    """Locks the workspace's sequence row: concurrent creations queue here, numbers never
    repeat, and a rolled-back creation gives its number back."""
    JobNumberSequence.objects.get_or_create(workspace=workspace)
    sequence = JobNumberSequence.objects.select_for_update().get(workspace=workspace)
    number = sequence.next_number
    JobNumberSequence.objects.filter(pk=sequence.pk).update(next_number=F("next_number") + 1)
    return number


def job_values(job: Job) -> dict[int, Any]:
    """Every saved value of a job, by field id (retired fields included)."""
    return dict(FieldValue.objects.filter(job=job).values_list("field_id", "value"))


# ----------------------------------------------------------------------------- creating


@service
def job_create(
    *,
    workspace: Workspace,
    pipeline: Pipeline,
    title: str,
    actor: User,
    owner: User | None = None,
    customer: Customer | None = None,
    new_customer_name: str = "",
    new_customer_email: str = "",
    stage: Stage | None = None,
    due_date: dt.date | None = None,
    at: dt.datetime | None = None,
    one_time_token: str | None = None,
) -> Job:
    """A new job; with ``new_customer_name``, the new customer typed inline too — both or
    neither. A repeat of ``one_time_token`` raises one_time.AlreadySubmitted."""
    submission = one_time.claim(token=one_time_token, user=actor)
    customer = customer_services.customer_or_new(
        workspace=workspace, actor=actor, customer=customer,
        new_customer_name=new_customer_name, new_customer_email=new_customer_email,
    )  # fmt: skip
    job = _create(
        workspace=workspace, pipeline=pipeline, title=title, actor=actor, owner=owner,
        customer=customer, stage=stage, due_date=due_date, at=at,
    )  # fmt: skip
    one_time.record(submission, job=job.number)
    return job


def _create(
    *,
    workspace: Workspace,
    pipeline: Pipeline,
    title: str,
    actor: User,
    owner: User | None,
    customer: Customer | None,
    stage: Stage | None,
    due_date: dt.date | None,
    at: dt.datetime | None,
) -> Job:
    if pipeline.workspace_id != workspace.pk or pipeline.archived_at is not None:
        raise ValidationError({"pipeline": "Choose an active pipeline of this workspace."})
    stages = list(Stage.objects.filter(pipeline=pipeline).live())
    if stage is None:
        stage = stages[0]
    elif stage.pk not in {s.pk for s in stages}:
        raise ValidationError({"stage": "Choose a stage of the chosen pipeline."})
    _validate_people(workspace=workspace, owner=owner, customer=customer)
    title = title.strip()
    if not title:
        raise ValidationError({"title": "Give the job a title."})
    now = at or timezone.now()
    job = Job(
        workspace=workspace,
        number=_next_number(workspace),
        pipeline=pipeline,
        stage=stage,
        customer_stage=stage if stage.visible_to_customer else None,
        title=title,
        owner=owner,
        customer=customer,
        due_date=due_date,
        created_by=actor,
        created_at=now,
        last_activity_at=now,
        stage_entered_at=now,
        closed_at=now if stage.is_terminal else None,
    )
    job.full_clean(exclude=["search_text"])
    job.search_text = search_text_for(job)
    job.save()
    log(
        job=job,
        payload=activity.Created.of(stage, title),
        actor=actor,
        visibility=Visibility.CUSTOMER if stage.visible_to_customer else Visibility.INTERNAL,
        stage=stage,
        at=now,
    )
    return job


# ----------------------------------------------------------------------------- moving


# The gate of every move on: its SQL compiled once (core/prepared.py), as building it took
# several times as long as the database's answer.
_REQUIRED_FIELDS = PreparedQuery(
    lambda stage_id: StageField.objects.filter(
        stage_id=stage_id, retired_at__isnull=True, required=True
    ).order_by("position", "id"),
    name="required fields of a stage",
)


def _is_forward(current: Stage, target: Stage) -> bool:
    return target.is_terminal or target.position > current.position


def _move(
    *,
    locked: Job,
    stage: Stage,
    actor: User | None,
    actor_kind: ActorKind | str | None,
    at: dt.datetime | None,
    enforce_required: bool,
) -> Job:
    """Move a locked job: the required-fields gate, the new stage, the feed entry."""
    if stage.pipeline_id != locked.pipeline_id or stage.deleted_at is not None:
        raise ValidationError({"stage": "Choose a stage of this job's pipeline."})
    current = locked.stage
    if stage.pk == current.pk:
        return locked
    if enforce_required and _is_forward(current, stage):
        # Only required fields can be missing (a condition reads the other field's value, not
        # the field): a stage without any asks for none of the job's values.
        required = _REQUIRED_FIELDS.list(stage_id=current.pk)
        missing = missing_required(required, job_values(locked)) if required else []
        if missing:
            raise RequiredFieldsMissing(stage=current, fields=missing)
        hooks.check_move_forward(locked, current, stage)
    now = at or timezone.now()
    before_customer_stage_id = locked.customer_stage_id
    locked.stage = stage
    locked.stage_entered_at = now
    if stage.visible_to_customer:
        locked.customer_stage = stage
    if stage.is_terminal and locked.closed_at is None:
        locked.closed_at = now
    elif not stage.is_terminal:
        locked.closed_at = None
    job_touch(locked, at=now, fields=["stage", "stage_entered_at", "customer_stage", "closed_at"])
    # The customer sees a status change only when what they see changes: moves into and out
    # of internal stages leave no trace for them.
    customer_sees = stage.visible_to_customer and before_customer_stage_id != stage.pk
    log(
        job=locked,
        payload=activity.StatusChanged.between(current, stage),
        actor=actor,
        actor_kind=actor_kind,
        visibility=Visibility.CUSTOMER if customer_sees else Visibility.INTERNAL,
        stage=stage,
        at=now,
    )
    return locked


@service
def job_move(
    *,
    job: Job,
    stage: Stage,
    actor: User | None,
    expected_version: int | None,
    actor_kind: ActorKind | None = None,
    at: dt.datetime | None = None,
    enforce_required: bool = True,
) -> Job:
    """Move a job to another stage of its pipeline; returns the job as it now is.

    Moving on (to a later or finishing stage) needs the required fields of the stage being
    left; moving back is always allowed. Entering a finishing stage closes the job, leaving
    one reopens it.
    """
    locked = job_lock(job=job, expected_version=expected_version)
    return _move(
        locked=locked, stage=stage, actor=actor, actor_kind=actor_kind, at=at,
        enforce_required=enforce_required,
    )  # fmt: skip


def job_fill_and_move(
    *,
    job: Job,
    stage: Stage,
    values: Mapping[int, Any],
    actor: User,
    expected_version: int | None,
    files: Mapping[StageField, Sequence[File]] | None = None,
) -> Job:
    """The required-fields dialog: fill the missing fields (files included) and move, all
    or nothing. Files are stored first; the rest is one durable transaction."""
    with files_stored(_by_field_name(files)) as stored, transaction.atomic(durable=True):
        locked = job_lock(job=job, expected_version=expected_version)
        _save_form(
            locked=locked, stage=locked.stage, values=values, stored=stored, actor=actor,
            actor_kind=None, at=None,
        )  # fmt: skip
        return _move(
            locked=locked, stage=stage, actor=actor, actor_kind=None, at=None,
            enforce_required=True,
        )  # fmt: skip


def stage_empty_into(stage: Stage, target: Stage, actor: User) -> int:
    """pipelines.hooks' stage emptier: before a stage is deleted, every job in it moves to
    ``target``, each move logged on its job like any other, without the form gate."""
    moved = 0
    for job in Job.objects.filter(stage=stage).order_by("pk"):
        locked = job_lock(job=job, expected_version=None)
        _move(
            locked=locked, stage=target, actor=actor, actor_kind=None, at=None,
            enforce_required=False,
        )  # fmt: skip
        moved += 1
    return moved


def customer_stages_reset(stage: Stage) -> None:
    """pipelines.hooks' visibility handler: a stage was made internal or visible, so every
    job of its pipeline reads its customer-visible stage again from its feed — the last
    stage it entered that is visible now (None: the customer sees "In progress")."""
    last_visible_entered = (
        Activity.objects.filter(
            job=OuterRef("pk"),
            kind__in=STAGE_ENTRY_KINDS,
            stage__visible_to_customer=True,
            stage__deleted_at__isnull=True,
        )
        .order_by("-created_at", "-id")
        .values("stage_id")[:1]
    )
    Job.objects.filter(pipeline_id=stage.pipeline_id).update(
        customer_stage=Subquery(last_visible_entered)
    )


# ----------------------------------------------------------------------------- details

DETAIL_PAYLOADS: dict[str, Any] = {
    "title": activity.TitleChanged,
    "owner": activity.OwnerChanged,
    "customer": activity.CustomerChanged,
    "due_date": activity.DueDateChanged,
}


def _detail_payload(name: str, old: Any, new: Any) -> activity.Payload:
    if name in ("owner", "customer"):
        return DETAIL_PAYLOADS[name](old=activity.PersonRef.of(old), new=activity.PersonRef.of(new))
    return DETAIL_PAYLOADS[name](old=old, new=new)


@service
def job_update(
    *, job: Job, actor: User, expected_version: int | None, **changes: Any
) -> tuple[Job, list[Activity]]:
    """Edit title, owner, customer and due date: one feed entry per field that changed.
    Returns the job as it now is and the entries written."""
    unknown = set(changes) - set(DETAIL_PAYLOADS)
    if unknown:
        raise ValueError(f"Not editable job details: {', '.join(sorted(unknown))}")
    locked = job_lock(job=job, expected_version=expected_version)
    _validate_people(
        workspace=locked.workspace,
        owner=changes.get("owner", locked.owner),
        customer=changes.get("customer", locked.customer),
    )
    if "title" in changes:
        changes["title"] = changes["title"].strip()
        if not changes["title"]:
            raise ValidationError({"title": "Give the job a title."})
    now = timezone.now()
    entries = []
    changed = []
    for name, new in changes.items():
        old = getattr(locked, name)
        if old == new:
            continue
        setattr(locked, name, new)
        changed.append(name)
        # The customer sees title and due-date changes; owner and customer changes are internal.
        visibility = Visibility.CUSTOMER if name in ("title", "due_date") else Visibility.INTERNAL
        entries.append(
            log(
                job=locked,
                payload=_detail_payload(name, old, new),
                actor=actor,
                visibility=visibility,
                at=now,
            )
        )
    if changed:
        job_touch(locked, at=now, fields=changed)
        if {"title", "customer"} & set(changed):
            _refresh_search_text(locked)
    return locked, entries


def _archive(locked: Job, actor: User) -> Job:
    if locked.archived_at is None:
        now = timezone.now()
        locked.archived_at = now
        job_touch(locked, at=now, fields=["archived_at"])
        log(job=locked, payload=activity.Archived(), actor=actor, at=now)
    return locked


@service
def job_archive(*, job: Job, actor: User, expected_version: int | None = None) -> Job:
    return _archive(job_lock(job=job, expected_version=expected_version), actor)


@service
def job_restore(*, job: Job, actor: User, expected_version: int | None = None) -> Job:
    locked = job_lock(job=job, expected_version=expected_version)
    if locked.archived_at is not None:
        now = timezone.now()
        locked.archived_at = None
        job_touch(locked, at=now, fields=["archived_at"])
        log(job=locked, payload=activity.Restored(), actor=actor, at=now)
    return locked


@service
def job_copy(*, job: Job, pipeline: Pipeline, actor: User) -> Job:
    """Re-file a job: a new job in another pipeline, linked to the old one, which is archived."""
    if pipeline.pk == job.pipeline_id:
        raise ValidationError({"pipeline": "Choose a different pipeline to copy into."})
    if pipeline.workspace_id != job.workspace_id or pipeline.archived_at is not None:
        raise ValidationError({"pipeline": "Choose an active pipeline of this workspace."})
    locked = job_lock(job=job, expected_version=None)
    copy = _create(
        workspace=locked.workspace, pipeline=pipeline, title=locked.title, actor=actor,
        owner=locked.owner, customer=locked.customer, stage=None, due_date=locked.due_date,
        at=None,
    )  # fmt: skip
    copy.copied_from = locked
    copy.save(update_fields=["copied_from"])
    log(
        job=copy,
        payload=activity.Copied(
            direction="from", job=locked.reference, pipeline=locked.pipeline.name
        ),
        actor=actor,
    )
    log(
        job=locked,
        payload=activity.Copied(direction="to", job=copy.reference, pipeline=pipeline.name),
        actor=actor,
    )
    _archive(locked, actor)
    return copy


# ----------------------------------------------------------------------------- messages


def _clean_body(body: str) -> str:
    body = body.strip()
    if len(body) > MESSAGE_MAX_CHARS:
        raise ValidationError(
            {"body": f"A message can be at most {MESSAGE_MAX_CHARS:,} characters; "
             f"this one has {len(body):,}."}
        )  # fmt: skip
    return body


@service
def message_post_stored(
    *,
    job: Job,
    body: str,
    visibility: Visibility | str,
    stored: Sequence[StoredFile],
    actor: User,
    actor_kind: ActorKind | str = ActorKind.STAFF,
    at: dt.datetime | None = None,
    one_time_token: str | None = None,
) -> tuple[Job, Message | None]:
    """An internal note or a reply, with files already stored (message_post stores them)."""
    checked = checked_visibility(visibility, actor_kind)
    body = _clean_body(body)
    if not body and not stored:
        raise ValidationError({"body": "Write something or attach a file."})
    submission = one_time.claim(token=one_time_token, user=actor)
    # A note does not conflict with other changes to the job, so it is not refused for a
    # stale page: it is added to the job as it is now.
    locked = job_lock(job=job, expected_version=None)
    now = at or timezone.now()
    message = None
    if body:
        message = Message.objects.create(
            job=locked, body=body, visibility=checked, author=actor, author_kind=actor_kind,
            created_at=now,
        )  # fmt: skip
        payload = activity.Reply() if checked == Visibility.CUSTOMER else activity.Note()
        log(
            job=locked, payload=payload, actor=actor, actor_kind=actor_kind,
            visibility=checked, message=message, at=now,
        )  # fmt: skip
        # Append the new text rather than re-reading every message of the job: a job with
        # thousands of notes would otherwise re-read all of them on each new one.
        locked.search_text = f"{locked.search_text}\n{body}"[:SEARCH_TEXT_LIMIT]
    attachments_create(
        job=locked, stored=stored, visibility=checked, actor=actor, actor_kind=actor_kind,
        at=now, message=message,
    )  # fmt: skip
    job_touch(locked, at=now, fields=["search_text"] if body else ())
    one_time.record(submission, job=locked.number)
    return locked, message


def message_post(
    *,
    job: Job,
    body: str,
    visibility: Visibility | str,
    actor: User,
    files: Sequence[File] = (),
    actor_kind: ActorKind | str = ActorKind.STAFF,
    one_time_token: str | None = None,
) -> tuple[Job, Message | None]:
    """The composer (and a customer's reply): a note or a reply with any files attached to
    it, all or nothing. Returns the job as it now is and the message (None: files only)."""
    checked_visibility(visibility, actor_kind)
    # Keyed, so a refused file's message goes next to the files field, not above the form.
    with files_stored({FILES: files}) as stored:
        return message_post_stored(
            job=job, body=body, visibility=visibility, stored=stored.get(), actor=actor,
            actor_kind=actor_kind, one_time_token=one_time_token,
        )  # fmt: skip


def message_add(
    *,
    job: Job,
    body: str,
    visibility: Visibility | str,
    actor: User,
    actor_kind: ActorKind | str = ActorKind.STAFF,
    at: dt.datetime | None = None,
) -> Message:
    """A note or reply without files (the demo, imports): one durable transaction."""
    if not body.strip():
        raise ValidationError({"body": "Write something first."})
    _job, message = message_post_stored(
        job=job, body=body, visibility=visibility, stored=(), actor=actor,
        actor_kind=actor_kind, at=at,
    )  # fmt: skip
    assert message is not None
    return message


@service
def message_make_internal(*, message: Message, actor: User) -> Message:
    """A reply sent to the customer by mistake becomes internal (the correction is logged)."""
    job = job_lock(job=message.job, expected_version=None)
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.visibility == Visibility.INTERNAL:
        return message
    message.visibility = Visibility.INTERNAL
    message.save(update_fields=["visibility"])
    now = timezone.now()
    log(job=job, payload=activity.ReplyMadeInternal(), actor=actor, message=message, at=now)
    job_touch(job, at=now)
    return message


# ----------------------------------------------------------------------------- stage forms


def _by_field_name(
    files: Mapping[StageField, Sequence[File]] | None,
) -> dict[str, Sequence[File]]:
    """Uploads keyed by the stage form's field names (f_<id>), so a refused file's message
    lands next to its field."""
    return {f"f_{stage_field.pk}": uploads for stage_field, uploads in (files or {}).items()}


def _save_form(
    *,
    locked: Job,
    stage: Stage,
    values: Mapping[int, Any],
    stored: StoredFiles,
    actor: User | None,
    actor_kind: ActorKind | str | None,
    at: dt.datetime | None,
) -> Activity | None:
    """Save a stage form on a locked job: stored files become attachments listed after the
    field's earlier files; one feed entry lists each changed field with old → new."""
    if stage.pipeline_id != locked.pipeline_id:
        raise ValidationError({"stage": "This form belongs to another pipeline."})
    fields = {f.pk: f for f in stage.fields.filter(retired_at__isnull=True)}
    existing = {fv.field_id: fv for fv in FieldValue.objects.filter(job=locked, field__in=fields)}
    now = at or timezone.now()
    values = dict(values)
    for stage_field in fields.values():
        added = stored.get(f"f_{stage_field.pk}")
        if stage_field.field_type != FieldType.FILE or not added:
            continue
        # A file field's files are visible to the customer when the field reaches them.
        attachments = attachments_create(
            job=locked,
            stored=added,
            visibility=Visibility.CUSTOMER if stage_field.reaches_customer else Visibility.INTERNAL,
            actor=actor,
            actor_kind=actor_kind or (ActorKind.STAFF if actor else ActorKind.SYSTEM),
            at=now,
        )
        earlier = existing[stage_field.pk].value if stage_field.pk in existing else None
        values[stage_field.pk] = [
            *(earlier or []),
            *({"id": a.pk, "name": a.original_name} for a in attachments),
        ]
    changes = []
    customer_visible = False
    for field_id, new in values.items():
        stage_field = fields.get(field_id)
        if stage_field is None:
            raise ValidationError("A field of this form no longer exists. Reload the page.")
        current = existing.get(field_id)
        old = current.value if current else None
        if same_value(old, new):
            continue
        if current is None:
            FieldValue.objects.create(
                job=locked, field=stage_field, value=new, updated_by=actor, updated_at=now
            )
        else:
            current.value, current.updated_by, current.updated_at = new, actor, now
            current.save(update_fields=["value", "updated_by", "updated_at"])
        customer_visible = customer_visible or stage_field.reaches_customer
        changes.append(activity.FieldChange.of(stage_field, old, new))
    if not changes:
        return None
    entry = log(
        job=locked,
        payload=activity.FormSaved(stage=activity.StageRef.of(stage), changes=tuple(changes)),
        actor=actor,
        actor_kind=actor_kind,
        # The portal shows only the lines of fields the customer may read, of a visible entry.
        visibility=Visibility.CUSTOMER if customer_visible else Visibility.INTERNAL,
        at=now,
    )
    job_touch(locked, at=now)
    return entry


@service
def form_save_stored(
    *,
    job: Job,
    stage: Stage,
    values: Mapping[int, Any],
    actor: User | None,
    expected_version: int | None,
    stored: StoredFiles | None = None,
    actor_kind: ActorKind | str | None = None,
    at: dt.datetime | None = None,
) -> tuple[Job, Activity | None]:
    locked = job_lock(job=job, expected_version=expected_version)
    entry = _save_form(
        locked=locked, stage=stage, values=values,
        stored=stored or StoredFiles.empty(),
        actor=actor, actor_kind=actor_kind, at=at,
    )  # fmt: skip
    return locked, entry


def form_save(
    *,
    job: Job,
    stage: Stage,
    values: Mapping[int, Any],
    actor: User | None,
    expected_version: int | None,
    files: Mapping[StageField, Sequence[File]] | None = None,
    actor_kind: ActorKind | str | None = None,
    at: dt.datetime | None = None,
) -> Activity | None:
    """Save a stage form, its file fields' uploads included: files stored first, then one
    durable transaction. Returns the feed entry (None when nothing changed)."""
    with files_stored(_by_field_name(files)) as stored:
        _job, entry = form_save_stored(
            job=job, stage=stage, values=values, actor=actor,
            expected_version=expected_version, stored=stored, actor_kind=actor_kind, at=at,
        )  # fmt: skip
        return entry


# ----------------------------------------------------------------------------- followers


@service
def job_follow(*, job: Job, user: User) -> None:
    """Follow a job: hear (bell and e-mail) what its customer does, as its owner does."""
    JobFollower.objects.get_or_create(job=job, user=user)


@service
def job_unfollow(*, job: Job, user: User) -> None:
    JobFollower.objects.filter(job=job, user=user).delete()
