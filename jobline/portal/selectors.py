"""What a customer may see. Every portal page and e-mail renders only what went through here.

The rule (ARCHITECTURE.md, "Visibility"): internal notes, files, stages and form fields never
reach a customer. A job in an internal stage shows the last customer-visible stage it entered
(by its customer label), or "In progress"; moves through internal stages leave no trace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404

from jobline.accounts.models import User
from jobline.customers.models import Customer
from jobline.jobs.models import (
    Activity,
    ActivityKind,
    Attachment,
    DocumentRequest,
    FieldValue,
    Job,
    Visibility,
)
from jobline.jobs.selectors import customer_visible_q
from jobline.pipelines.models import Stage, StageField
from jobline.portal.models import JobSeen
from jobline.workspaces.models import Workspace

IN_PROGRESS = "In progress"

# The kinds of entry a customer's feed can show (others are staff-only whatever their flag).
PORTAL_KINDS = (
    ActivityKind.CREATED,
    ActivityKind.STATUS_CHANGED,
    ActivityKind.TITLE_CHANGED,
    ActivityKind.DUE_DATE_CHANGED,
    ActivityKind.REPLY,
    ActivityKind.FILE_ADDED,
    ActivityKind.FILE_VISIBILITY_CHANGED,
    ActivityKind.FORM_SAVED,
    ActivityKind.REQUEST_CREATED,
    ActivityKind.REQUEST_FULFILLED,
    ActivityKind.REQUEST_REOPENED,
)


def portal_open_q(prefix: str = "") -> Q:
    """The workspace shows jobs in its portal: Jobs module on, portal on, its Jobs toggle on."""
    return Q(
        **{
            f"{prefix}workspace__module_jobs": True,
            f"{prefix}workspace__portal_enabled": True,
            f"{prefix}workspace__portal_jobs": True,
        }
    )


def portal_shows_jobs(workspace: Workspace) -> bool:
    """portal_open_q for one workspace already in hand (e-mails link into the portal only
    then)."""
    return workspace.module_jobs and workspace.portal_enabled and workspace.portal_jobs


def customer_jobs(*, user: User) -> QuerySet[Job]:
    """Jobs of every customer profile this person signs in as, in workspaces whose portal
    shows jobs. Archived jobs and archived customer profiles are not shown."""
    if not user.is_authenticated:
        return Job.objects.none()
    return (
        Job.objects.filter(
            portal_open_q(),
            customer__portal_user=user,
            customer__archived_at__isnull=True,
            archived_at__isnull=True,
        )
        .select_related("workspace", "pipeline", "customer_stage", "owner", "customer")
        .order_by("workspace__name", "-last_activity_at", "-id")
    )


def customer_jobs_with_news(*, user: User) -> list[Job]:
    """The customer's jobs, those with something new for them first (a visible reply, file,
    status change or request since they last opened the job). One query."""
    latest_news = (
        Activity.objects.filter(customer_visible_q(), job=OuterRef("pk"), kind__in=PORTAL_KINDS)
        .exclude(actor=user)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    seen = JobSeen.objects.filter(user=user, job=OuterRef("pk")).values("seen_at")[:1]
    jobs = list(
        customer_jobs(user=user).annotate(news_at=Subquery(latest_news), seen_at=Subquery(seen))
    )
    for job in jobs:
        job.has_news = job.news_at is not None and (  # type: ignore[attr-defined]
            job.seen_at is None or job.news_at > job.seen_at  # type: ignore[attr-defined]
        )
    jobs.sort(key=lambda j: not j.has_news)  # stable: keeps business and recency order
    return jobs


def customer_profiles(*, user: User) -> QuerySet[Customer]:
    """The customer profiles a person signs in as (one per business)."""
    return (
        Customer.objects.filter(portal_user=user, archived_at__isnull=True)
        .select_related("workspace")
        .order_by("workspace__name", "id")
    )


def customer_job(*, user: User, job_id: int) -> Job:
    """Another customer's job, a job of a workspace with the portal off: a 404 either way."""
    job = customer_jobs(user=user).filter(pk=job_id).first()
    if job is None:
        raise Http404("No such job.")
    return job


def status_label(job: Job) -> str:
    """What the customer reads as the job's status."""
    stage = job.customer_stage
    return stage.label_for_customer if stage is not None else IN_PROGRESS


def status_colour(job: Job) -> str:
    return job.customer_stage.colour if job.customer_stage is not None else "#64748b"


@dataclass
class Step:
    label: str
    state: str  # past / current / future


def stepper(job: Job) -> list[Step]:
    """The customer-visible stages in order, marked past / current / future."""
    stages = list(
        job.pipeline.stages.filter(deleted_at__isnull=True, visible_to_customer=True).order_by(
            "position", "id"
        )
    )
    # Finishing stages that did not happen (e.g. "Cancelled" for a completed job) are left out.
    current = job.customer_stage
    steps = []
    current_position = current.position if current is not None else None
    for stage in stages:
        if stage.is_terminal and (current is None or stage.pk != current.pk):
            continue
        if current_position is None:
            state = "future"
        elif stage.pk == current.pk:
            state = "current"
        elif stage.position < current_position:
            state = "past"
        else:
            state = "future"
        steps.append(Step(label=stage.label_for_customer, state=state))
    return steps


@dataclass
class PortalEntry:
    """A feed entry as the customer may read it: built here, never from the raw entry."""

    kind: str
    created_at: Any
    actor_name: str
    from_customer: bool
    text: str
    message_body: str = ""
    file: Attachment | None = None
    lines: list[tuple[str, str]] | None = None


def _stage_labels(entries: Iterable[Activity]) -> dict[int, str]:
    ids = set()
    for entry in entries:
        for key in ("to", "stage"):
            ref = entry.data.get(key)
            if isinstance(ref, dict) and ref.get("id"):
                ids.add(ref["id"])
    stages = Stage.objects.filter(pk__in=ids, visible_to_customer=True)
    return {stage.pk: stage.label_for_customer for stage in stages}


def _visible_field_ids(entries: Iterable[Activity]) -> set[int]:
    ids = {
        change.get("field")
        for entry in entries
        if entry.kind == ActivityKind.FORM_SAVED
        for change in entry.data.get("changes", [])
    }
    return set(
        StageField.objects.filter(pk__in=ids, visible_to_customer=True).values_list("pk", flat=True)
    )


def customer_feed(*, job: Job, limit: int = 100) -> list[PortalEntry]:
    """The job's customer-visible history, newest first, rewritten for the customer: stage
    names become customer labels, only visible form fields are listed, nothing else."""
    entries = list(
        Activity.objects.filter(customer_visible_q(), job=job, kind__in=PORTAL_KINDS)
        .select_related("actor", "message", "attachment")
        .order_by("-created_at", "-id")[:limit]
    )
    return _as_customer_reads_them(job, entries)


def customer_update_entries(*, job: Job, activity_ids: Iterable[int]) -> list[PortalEntry]:
    """The entries of a customer e-mail, oldest first, decided when it is sent: whatever is
    not customer-visible by then (a reply made internal in the digest window) drops out."""
    entries = list(
        Activity.objects.filter(
            customer_visible_q(), job=job, kind__in=PORTAL_KINDS, pk__in=list(activity_ids)
        )
        .select_related("actor", "message", "attachment")
        .order_by("created_at", "id")
    )
    return _as_customer_reads_them(job, entries)


def _as_customer_reads_them(job: Job, entries: list[Activity]) -> list[PortalEntry]:
    labels = _stage_labels(entries)
    visible_fields = _visible_field_ids(entries)
    customer_user_id = job.customer.portal_user_id if job.customer else None
    result = []
    for entry in entries:
        from_customer = entry.actor_kind == "customer" or (
            entry.actor_id is not None and entry.actor_id == customer_user_id
        )
        actor_name = (
            "You"
            if from_customer
            else (entry.actor.get_short_name() if entry.actor else job.workspace.name)
        )
        data = entry.data or {}
        portal_entry = PortalEntry(
            kind=entry.kind,
            created_at=entry.created_at,
            actor_name=actor_name,
            from_customer=from_customer,
            text="",
        )
        if entry.kind in (ActivityKind.CREATED, ActivityKind.STATUS_CHANGED):
            ref = data.get("to") or data.get("stage") or {}
            label = labels.get(ref.get("id"))
            if label is None:
                continue  # an internal stage: no trace
            portal_entry.text = (
                f"opened the job: {label}"
                if entry.kind == ActivityKind.CREATED
                else f"moved it on: {label}"
            )
        elif entry.kind == ActivityKind.TITLE_CHANGED:
            portal_entry.text = f"Renamed to “{data.get('new', '')}”"
        elif entry.kind == ActivityKind.DUE_DATE_CHANGED:
            new = data.get("new")
            portal_entry.text = f"Due date: {new}" if new else "Due date removed"
        elif entry.kind == ActivityKind.REPLY:
            portal_entry.text = "wrote"
            portal_entry.message_body = entry.message.body if entry.message else ""
        elif entry.kind in (ActivityKind.FILE_ADDED, ActivityKind.FILE_VISIBILITY_CHANGED):
            if entry.attachment is None:
                continue
            portal_entry.text = "shared a file"
            portal_entry.file = entry.attachment
        elif entry.kind == ActivityKind.REQUEST_CREATED:
            portal_entry.text = f"asked for: {data.get('title', '')}"
        elif entry.kind == ActivityKind.REQUEST_FULFILLED:
            portal_entry.text = f"sent: {data.get('title', '')}"
        elif entry.kind == ActivityKind.REQUEST_REOPENED:
            portal_entry.text = f"asked again for {data.get('title', '')}: {data.get('reason', '')}"
        elif entry.kind == ActivityKind.FORM_SAVED:
            lines = [
                (change.get("label", ""), change.get("new", ""))
                for change in data.get("changes", [])
                if change.get("field") in visible_fields
            ]
            if not lines:
                continue
            stage_label = labels.get((data.get("stage") or {}).get("id"))
            portal_entry.text = f"updated {stage_label}" if stage_label else "updated details"
            portal_entry.lines = lines
        result.append(portal_entry)
    return result


def customer_requests(*, job: Job) -> QuerySet[DocumentRequest]:
    """Document requests are addressed to the customer: all of a job's are theirs to see."""
    shared = Attachment.objects.filter(visibility=Visibility.CUSTOMER)
    return job.document_requests.prefetch_related(
        Prefetch("attachments", queryset=shared)
    ).order_by("status", "created_at")


def customer_request(*, job: Job, request_id: int) -> DocumentRequest:
    request = job.document_requests.filter(pk=request_id).first()
    if request is None:
        raise Http404("No such request.")
    return request


def customer_files(*, job: Job) -> QuerySet[Attachment]:
    """Files shared with the customer, never one on an internal message."""
    return (
        Attachment.objects.filter(job=job, visibility=Visibility.CUSTOMER)
        .filter(Q(message__isnull=True) | Q(message__visibility=Visibility.CUSTOMER))
        .order_by("-created_at", "-id")
    )


def customer_file(*, user: User, attachment_id: int) -> Attachment:
    attachment = (
        Attachment.objects.select_related("job")
        .filter(pk=attachment_id, job__in=customer_jobs(user=user))
        .first()
    )
    if attachment is None or not customer_files(job=attachment.job).filter(pk=attachment.pk):
        raise Http404("No such file.")
    return attachment


@dataclass
class PortalField:
    field: StageField
    value: Any
    editable: bool


def customer_fields(*, job: Job) -> list[PortalField]:
    """Form fields of stages the job has reached that are visible to the customer; those
    marked editable by customer can be filled in."""
    reached = job.stage.position
    fields = list(
        StageField.objects.filter(
            stage__pipeline=job.pipeline,
            stage__deleted_at__isnull=True,
            stage__position__lte=reached,
            visible_to_customer=True,
            retired_at__isnull=True,
        )
        .select_related("stage")
        .order_by("stage__position", "position", "id")
    )
    values = dict(
        FieldValue.objects.filter(job=job, field__in=fields).values_list("field_id", "value")
    )
    return [
        PortalField(field=f, value=values.get(f.pk), editable=f.editable_by_customer)
        for f in fields
    ]
