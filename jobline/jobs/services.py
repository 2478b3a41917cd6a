"""Every change to a job. Each is one transaction that writes its feed entry in the same
transaction; a refused change writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobline.accounts.models import User
from jobline.customers.models import Customer
from jobline.jobs.models import (
    Activity,
    ActivityKind,
    ActorKind,
    FieldValue,
    Job,
    JobNumberSequence,
    Message,
    Visibility,
)
from jobline.notifications.emails import customer_update_queue
from jobline.pipelines.models import FieldType, Pipeline, Stage, StageField
from jobline.workspaces.models import Membership, Workspace


class StaleJob(Exception):
    """The job changed since the page was opened; the change was not made."""

    message = "This job changed since you opened it. Here is its current state; try again."


@dataclass
class RequiredFieldsMissing(Exception):
    """Moving on needs these fields of the stage being left."""

    stage: Stage
    fields: list[StageField]

    def __str__(self) -> str:
        labels = ", ".join(f.label for f in self.fields)
        return f"Fill in before moving on from {self.stage.name}: {labels}."


def _stage_ref(stage: Stage | None) -> dict[str, Any] | None:
    # Names are copied into the entry so the feed reads the same after a rename or deletion.
    if stage is None:
        return None
    return {"id": stage.pk, "name": stage.name, "visible": stage.visible_to_customer}


def _user_ref(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": user.full_name}


def _customer_ref(customer: Customer | None) -> dict[str, Any] | None:
    return None if customer is None else {"id": customer.pk, "name": customer.name}


def log(
    *,
    job: Job,
    kind: ActivityKind,
    actor: User | None,
    visibility: Visibility = Visibility.INTERNAL,
    data: dict[str, Any] | None = None,
    actor_kind: ActorKind | None = None,
    message: Message | None = None,
    attachment: Any = None,
    at: dt.datetime | None = None,
) -> Activity:
    """The one way feed entries are written. An entry the customer sees also goes to their
    e-mail outbox, in the same transaction."""
    activity = Activity.objects.create(
        workspace_id=job.workspace_id,
        job=job,
        kind=kind,
        actor=actor,
        actor_kind=actor_kind or (ActorKind.STAFF if actor else ActorKind.SYSTEM),
        visibility=visibility,
        data=data or {},
        message=message,
        attachment=attachment,
        created_at=at or timezone.now(),
    )
    customer_update_queue(activity)
    return activity


SEARCH_TEXT_LIMIT = 20000


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


@transaction.atomic
def job_create(
    *,
    workspace: Workspace,
    pipeline: Pipeline,
    title: str,
    actor: User,
    owner: User | None = None,
    customer: Customer | None = None,
    stage: Stage | None = None,
    due_date: dt.date | None = None,
    at: dt.datetime | None = None,
) -> Job:
    if pipeline.workspace_id != workspace.pk or pipeline.archived_at is not None:
        raise ValidationError({"pipeline": "Choose an active pipeline of this workspace."})
    stages = list(pipeline.stages.filter(deleted_at__isnull=True).order_by("position", "id"))
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
        kind=ActivityKind.CREATED,
        actor=actor,
        visibility=Visibility.CUSTOMER if stage.visible_to_customer else Visibility.INTERNAL,
        data={"stage": _stage_ref(stage), "title": title},
        at=now,
    )
    return job


SHARED_RELATIONS = ("stage", "customer_stage", "customer", "owner", "pipeline")


def _lock(job: Job, expected_version: int | None) -> Job:
    """Lock the job row and check the page's version; bumps nothing yet."""
    # No select_related here: PostgreSQL re-checks a row locked after a wait against the
    # joined rows it read before the wait, so a job whose stage was changed concurrently
    # would vanish from the query (test_concurrency caught exactly that).
    locked = Job.objects.select_for_update().get(pk=job.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleJob()
    # Instead, the stages, customer and owner the caller already read are handed on when the
    # locked row still points at the same ones (a move otherwise reads them all again).
    for name in SHARED_RELATIONS:
        field = Job._meta.get_field(name)
        if field.is_cached(job) and getattr(locked, field.attname) == getattr(job, field.attname):
            field.set_cached_value(locked, field.get_cached_value(job))
    return locked


def job_check_version(*, job: Job, expected_version: int | None) -> Job:
    """Lock the job and refuse a stale page before a change made of several steps."""
    return _lock(job, expected_version)


def _touch(job: Job, *, at: dt.datetime, fields: Iterable[str] = ()) -> None:
    job.version += 1
    job.last_activity_at = at
    job.save(update_fields=["version", "last_activity_at", *fields])


def _visible_fields(stage: Stage, values: Mapping[int, Any]) -> list[StageField]:
    """The stage's live fields whose condition (if any) holds for these values."""
    fields = list(stage.fields.filter(retired_at__isnull=True).order_by("position", "id"))
    return [f for f in fields if condition_holds(f, values)]


def condition_holds(field: StageField, values: Mapping[int, Any]) -> bool:
    """A condition compares the other field's value as text; a checkbox reads "true"/"false"."""
    if field.condition_field_id is None:
        return True
    value = values.get(field.condition_field_id)
    if isinstance(value, bool) or value is None:
        text = "true" if value else "false"
    else:
        text = value_as_text(value)
    return text == field.condition_value


def value_as_text(value: Any) -> str:
    """A stored value as the feed shows it."""
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if value is None:
        return ""
    if isinstance(value, list):
        # File fields hold [{"id": …, "name": …}]; dropdowns hold plain choices.
        return ", ".join(str(v.get("name", v)) if isinstance(v, dict) else str(v) for v in value)
    return str(value)


def is_filled(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return bool(value)
    return True


def job_values(job: Job) -> dict[int, Any]:
    return dict(FieldValue.objects.filter(job=job).values_list("field_id", "value"))


def missing_required(
    job: Job, stage: Stage, values: Mapping[int, Any] | None = None
) -> list[StageField]:
    values = job_values(job) if values is None else values
    return [
        f for f in _visible_fields(stage, values) if f.required and not is_filled(values.get(f.pk))
    ]


def _is_forward(current: Stage, target: Stage) -> bool:
    return target.is_terminal or target.position > current.position


@transaction.atomic
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
    """Move a job to another stage of its pipeline.

    Moving on (to a later or finishing stage) needs the required fields of the stage being
    left; moving back is always allowed. Entering a finishing stage closes the job, leaving
    one reopens it.
    """
    locked = _lock(job, expected_version)
    if stage.pipeline_id != locked.pipeline_id or stage.deleted_at is not None:
        raise ValidationError({"stage": "Choose a stage of this job's pipeline."})
    current = locked.stage
    if stage.pk == current.pk:
        return locked
    if enforce_required and _is_forward(current, stage):
        missing = missing_required(locked, current)
        if missing:
            raise RequiredFieldsMissing(stage=current, fields=missing)
    now = at or timezone.now()
    before_customer_stage = locked.customer_stage
    locked.stage = stage
    locked.stage_entered_at = now
    if stage.visible_to_customer:
        locked.customer_stage = stage
    if stage.is_terminal and locked.closed_at is None:
        locked.closed_at = now
    elif not stage.is_terminal:
        locked.closed_at = None
    _touch(
        locked,
        at=now,
        fields=["stage", "stage_entered_at", "customer_stage", "closed_at"],
    )
    # The customer sees a status change only when what they see changes: moves into and out
    # of internal stages leave no trace for them.
    customer_sees = stage.visible_to_customer and (
        before_customer_stage is None or before_customer_stage.pk != stage.pk
    )
    log(
        job=locked,
        kind=ActivityKind.STATUS_CHANGED,
        actor=actor,
        actor_kind=actor_kind,
        visibility=Visibility.CUSTOMER if customer_sees else Visibility.INTERNAL,
        data={
            "from": _stage_ref(current),
            "to": _stage_ref(stage),
            "closed": stage.is_terminal,
            "reopened": current.is_terminal and not stage.is_terminal,
        },
        at=now,
    )
    job.__dict__.update(locked.__dict__)
    return locked


def job_move_for_stage_deletion(*, job: Job, stage: Stage, actor: User) -> Job:
    """Emptying a stage before it is deleted: logged like any move, without the form gate."""
    return job_move(
        job=job, stage=stage, actor=actor, expected_version=None, enforce_required=False
    )


DETAIL_KINDS = {
    "title": ActivityKind.TITLE_CHANGED,
    "owner": ActivityKind.OWNER_CHANGED,
    "customer": ActivityKind.CUSTOMER_CHANGED,
    "due_date": ActivityKind.DUE_DATE_CHANGED,
}


@transaction.atomic
def job_update(
    *, job: Job, actor: User, expected_version: int | None, **changes: Any
) -> list[Activity]:
    """Edit title, owner, customer and due date: one feed entry per field that changed."""
    unknown = set(changes) - set(DETAIL_KINDS)
    if unknown:
        raise ValueError(f"Not editable job details: {', '.join(sorted(unknown))}")
    locked = _lock(job, expected_version)
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
        if name == "owner":
            data = {"old": _user_ref(old), "new": _user_ref(new)}
        elif name == "customer":
            data = {"old": _customer_ref(old), "new": _customer_ref(new)}
        elif name == "due_date":
            data = {
                "old": old.isoformat() if old else None,
                "new": new.isoformat() if new else None,
            }
        else:
            data = {"old": old, "new": new}
        # The customer sees title and due-date changes; owner and customer changes are internal.
        visibility = Visibility.CUSTOMER if name in ("title", "due_date") else Visibility.INTERNAL
        entries.append(
            log(
                job=locked,
                kind=DETAIL_KINDS[name],
                actor=actor,
                visibility=visibility,
                data=data,
                at=now,
            )
        )
    if changed:
        _touch(locked, at=now, fields=changed)
        if {"title", "customer"} & set(changed):
            _refresh_search_text(locked)
    job.__dict__.update(locked.__dict__)
    return entries


@transaction.atomic
def job_archive(*, job: Job, actor: User, expected_version: int | None = None) -> Job:
    locked = _lock(job, expected_version)
    if locked.archived_at is None:
        now = timezone.now()
        locked.archived_at = now
        _touch(locked, at=now, fields=["archived_at"])
        log(job=locked, kind=ActivityKind.ARCHIVED, actor=actor, at=now)
    job.__dict__.update(locked.__dict__)
    return locked


@transaction.atomic
def job_restore(*, job: Job, actor: User, expected_version: int | None = None) -> Job:
    locked = _lock(job, expected_version)
    if locked.archived_at is not None:
        now = timezone.now()
        locked.archived_at = None
        _touch(locked, at=now, fields=["archived_at"])
        log(job=locked, kind=ActivityKind.RESTORED, actor=actor, at=now)
    job.__dict__.update(locked.__dict__)
    return locked


@transaction.atomic
def job_copy(*, job: Job, pipeline: Pipeline, actor: User) -> Job:
    """Re-file a job: a new job in another pipeline, linked to the old one, which is archived."""
    if pipeline.pk == job.pipeline_id:
        raise ValidationError({"pipeline": "Choose a different pipeline to copy into."})
    if pipeline.workspace_id != job.workspace_id or pipeline.archived_at is not None:
        raise ValidationError({"pipeline": "Choose an active pipeline of this workspace."})
    locked = _lock(job, None)
    copy = job_create(
        workspace=locked.workspace,
        pipeline=pipeline,
        title=locked.title,
        actor=actor,
        owner=locked.owner,
        customer=locked.customer,
        due_date=locked.due_date,
    )
    copy.copied_from = locked
    copy.save(update_fields=["copied_from"])
    log(
        job=copy,
        kind=ActivityKind.COPIED,
        actor=actor,
        data={"direction": "from", "job": locked.reference, "pipeline": locked.pipeline.name},
    )
    log(
        job=locked,
        kind=ActivityKind.COPIED,
        actor=actor,
        data={"direction": "to", "job": copy.reference, "pipeline": pipeline.name},
    )
    job_archive(job=locked, actor=actor)
    return copy


@transaction.atomic
def message_add(
    *,
    job: Job,
    body: str,
    visibility: Visibility,
    actor: User,
    actor_kind: ActorKind = ActorKind.STAFF,
    expected_version: int | None = None,
    at: dt.datetime | None = None,
) -> Message:
    """An internal note or a reply to the customer."""
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write something first."})
    locked = _lock(job, expected_version)
    now = at or timezone.now()
    message = Message.objects.create(
        job=locked,
        body=body,
        visibility=visibility,
        author=actor,
        author_kind=actor_kind,
        created_at=now,
    )
    kind = ActivityKind.REPLY if visibility == Visibility.CUSTOMER else ActivityKind.NOTE
    log(
        job=locked,
        kind=kind,
        actor=actor,
        actor_kind=actor_kind,
        visibility=visibility,
        message=message,
        at=now,
    )
    # Append the new text rather than re-reading every message of the job: a job with
    # thousands of notes would otherwise re-read all of them on each new one.
    locked.search_text = f"{locked.search_text}\n{body}"[:SEARCH_TEXT_LIMIT]
    _touch(locked, at=now, fields=["search_text"])
    job.__dict__.update(locked.__dict__)
    return message


@transaction.atomic
def message_make_internal(*, message: Message, actor: User) -> Message:
    """A reply sent to the customer by mistake becomes internal (the correction is logged)."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.visibility == Visibility.INTERNAL:
        return message
    message.visibility = Visibility.INTERNAL
    message.save(update_fields=["visibility"])
    job = _lock(message.job, None)
    log(
        job=job,
        kind=ActivityKind.REPLY_VISIBILITY_CHANGED,
        actor=actor,
        message=message,
        data={"old": Visibility.CUSTOMER, "new": Visibility.INTERNAL},
    )
    _touch(job, at=timezone.now())
    return message


@transaction.atomic
def form_save(
    *,
    job: Job,
    stage: Stage,
    values: Mapping[int, Any],
    actor: User | None,
    expected_version: int | None,
    actor_kind: ActorKind | None = None,
    at: dt.datetime | None = None,
) -> Activity | None:
    """Save a stage form: one feed entry listing each changed field with old → new."""
    locked = _lock(job, expected_version)
    if stage.pipeline_id != locked.pipeline_id:
        raise ValidationError({"stage": "This form belongs to another pipeline."})
    fields = {f.pk: f for f in stage.fields.filter(retired_at__isnull=True)}
    existing = {fv.field_id: fv for fv in FieldValue.objects.filter(job=locked, field__in=fields)}
    now = at or timezone.now()
    changes = []
    customer_visible = False
    for field_id, new in values.items():
        field = fields.get(field_id)
        if field is None:
            raise ValidationError("A field of this form no longer exists. Reload the page.")
        current = existing.get(field_id)
        old = current.value if current else None
        if (old if is_filled(old) else None) == (new if is_filled(new) else None):
            continue
        if current is None:
            FieldValue.objects.create(
                job=locked, field=field, value=new, updated_by=actor, updated_at=now
            )
        else:
            current.value, current.updated_by, current.updated_at = new, actor, now
            current.save(update_fields=["value", "updated_by", "updated_at"])
        customer_visible = customer_visible or field.visible_to_customer
        changes.append(
            {
                "field": field.pk,
                "label": field.label,
                "old": value_as_text(old),
                "new": value_as_text(new),
                "visible": field.visible_to_customer,
                # Staff never see amounts: the feed leaves money lines out for them.
                "money": field.field_type == FieldType.MONEY,
            }
        )
    if not changes:
        return None
    entry = log(
        job=locked,
        kind=ActivityKind.FORM_SAVED,
        actor=actor,
        actor_kind=actor_kind,
        # The portal shows only the visible fields' lines of a visible entry.
        visibility=Visibility.CUSTOMER if customer_visible else Visibility.INTERNAL,
        data={"stage": _stage_ref(stage), "changes": changes},
        at=now,
    )
    _touch(locked, at=now)
    job.__dict__.update(locked.__dict__)
    return entry


@transaction.atomic
def job_save_and_move(
    *,
    job: Job,
    stage: Stage,
    values: Mapping[int, Any],
    actor: User,
    expected_version: int | None,
) -> Job:
    """The required-fields dialog: fill the missing fields and move, all or nothing."""
    form_save(
        job=job, stage=job.stage, values=values, actor=actor, expected_version=expected_version
    )
    return job_move(job=job, stage=stage, actor=actor, expected_version=None)
