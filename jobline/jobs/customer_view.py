"""A job as its customer may see it: the portal pages, the customer's e-mails, the "View as
customer" preview and (later) the API all read it from here, and only from here.

Nothing here decides visibility on its own: every row comes through a model's
``visible_to(viewer)`` (or StageField.objects.on_job), and amounts through sees_money. This
module only turns what they allow into the customer's words — stage labels instead of staff
names, the fields of stages the customer has seen the job reach, the files they may open —
so an internal note, file, stage or field never reaches a customer, and moves into and out of
internal stages leave no trace.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from jobline.core.wall_time import span_words
from jobline.jobs import activity, hooks
from jobline.jobs.choices import ActivityKind, ActorKind
from jobline.jobs.models import Activity, Attachment, DocumentRequest, FieldValue, Job
from jobline.pipelines.models import FieldType, Stage, StageField
from jobline.workspaces.viewers import Viewer

IN_PROGRESS = "In progress"
NEUTRAL_COLOUR = "#64748b"
FEED_LIMIT = 100


def status_label(job: Job) -> str:
    """What the customer reads as the job's status: the customer-visible stage it last
    entered (Job.customer_stage, kept by the services to be one), by its customer label."""
    stage = job.customer_stage
    return stage.label_for_customer if stage is not None else IN_PROGRESS


def status_colour(job: Job) -> str:
    return job.customer_stage.colour if job.customer_stage is not None else NEUTRAL_COLOUR


@dataclass(frozen=True)
class Step:
    label: str
    state: str  # past / current / future


@dataclass
class CustomerEntry:
    """A feed entry as the customer may read it: built here, never from the raw entry."""

    kind: str
    created_at: dt.datetime
    actor_name: str
    from_customer: bool
    text: str
    status: str = ""  # a status entry's customer label
    message_body: str = ""
    file: Attachment | None = None
    lines: list[tuple[str, str]] = field(default_factory=list)


def _read(
    entry: Activity,
    *,
    labels: dict[int, str],
    readable: dict[int, StageField],
    files: set[int],
    time_zone: str,
) -> tuple[str, dict[str, Any]] | None:
    """An entry's words for the customer, or None when nothing of it may reach them."""
    payload = entry.payload
    if isinstance(payload, activity.VisitBooked | activity.VisitMoved | activity.VisitCancelled
                  | activity.VisitCompleted):  # fmt: skip
        return _visit_words(payload, time_zone), {}
    if isinstance(payload, activity.Created | activity.StatusChanged):
        label = labels.get(entry.stage_id) if entry.stage_id else None
        if label is None:
            return None  # an internal stage: no trace
        verb = "opened the job:" if isinstance(payload, activity.Created) else "moved it on:"
        return f"{verb} {label}", {"status": label}
    if isinstance(payload, activity.TitleChanged):
        return f"Renamed to “{payload.new}”", {}
    if isinstance(payload, activity.DueDateChanged):
        if payload.new is None:
            return "Due date removed", {}
        return f"Due date: {payload.new.day} {payload.new:%b %Y}", {}
    if isinstance(payload, activity.Reply):
        return "wrote", {"message_body": entry.message.body if entry.message else ""}
    if isinstance(payload, activity.FileAdded | activity.FileVisibilityChanged):
        if entry.attachment is None:
            return None
        return "shared a file", {"file": entry.attachment}
    if isinstance(payload, activity.ApprovalRequested | activity.ApprovalReopened
                  | activity.Approved | activity.ChangesRequested):  # fmt: skip
        label = labels.get(payload.stage.id) if payload.stage.id else None
        if label is None:
            return None  # a stage internal now: no trace
        # The stage as the customer reads it now (R1), like a status entry: the label the
        # entry kept may be the staff name of a stage that has a customer label since.
        return APPROVAL_WORDS[payload.KIND].format(label=label, reason=payload.reason), {}
    if isinstance(payload, activity.InstalmentRequested | activity.InstalmentVoided
                  | activity.PaymentRecorded | activity.PaymentRefunded):  # fmt: skip
        return MONEY_WORDS[payload.KIND].format(label=payload.label, invoice=payload.invoice), {}
    if isinstance(payload, activity.FollowUpInvited):
        return f"it is time to book your {payload.label}: reply here or call us", {}
    if isinstance(payload, activity.RequestCreated):
        return f"asked for: {payload.title}", {}
    if isinstance(payload, activity.RequestFulfilled):
        return f"sent: {payload.title}", {}
    if isinstance(payload, activity.RequestReopened):
        return f"asked again for {payload.title}: {payload.reason}", {}
    if isinstance(payload, activity.FormSaved):
        lines = [
            line
            for change in payload.changes
            if (line := _line(change, readable, files)) is not None
        ]
        if not lines:
            return None
        stage_label = labels.get(payload.stage.id) if payload.stage.id else None
        return (f"updated {stage_label}" if stage_label else "updated details"), {"lines": lines}
    return None


MONEY_WORDS = {
    ActivityKind.INSTALMENT_REQUESTED: "asked for the {label} ({invoice})",
    ActivityKind.INSTALMENT_VOIDED: "cancelled the request for the {label} ({invoice})",
    ActivityKind.PAYMENT_RECORDED: "received your payment towards the {label} ({invoice})",
    ActivityKind.PAYMENT_REFUNDED: "refunded part of your payment towards the {label}",
}

APPROVAL_WORDS = {
    ActivityKind.APPROVAL_REQUESTED: "asked for your approval: {label}",
    ActivityKind.APPROVAL_REOPENED: "asked for your approval again ({reason}): {label}",
    ActivityKind.APPROVED: "approved {label}",
    ActivityKind.CHANGES_REQUESTED: "asked for changes to {label}: {reason}",
}

VISIT_VERBS = {
    ActivityKind.VISIT_BOOKED: "booked a visit",
    ActivityKind.VISIT_MOVED: "moved a visit",
    ActivityKind.VISIT_CANCELLED: "cancelled a visit",
    ActivityKind.VISIT_COMPLETED: "completed a visit",
}


def _visit_words(payload: activity.Payload, time_zone: str) -> str:
    """A visit entry for the customer: its title, time and place as written then (a visit's
    internal notes are never in its entries)."""
    assert isinstance(payload, activity.VisitBooked | activity.VisitMoved
                      | activity.VisitCancelled | activity.VisitCompleted)  # fmt: skip
    words = f"{VISIT_VERBS[payload.KIND]}: {payload.title}"
    if payload.starts_at and payload.ends_at:
        words += f", {span_words(payload.starts_at, payload.ends_at, time_zone)}"
    if isinstance(payload, activity.VisitMoved) and payload.old_starts_at and payload.old_ends_at:
        words += f" (was {span_words(payload.old_starts_at, payload.old_ends_at, time_zone)})"
    if payload.location and not isinstance(payload, activity.VisitCancelled):
        words += f" at {payload.location}"
    return words


def _line(
    change: activity.FieldChange, readable: dict[int, StageField], files: set[int]
) -> tuple[str, str] | None:
    """One saved field as the customer reads it: only fields they may read; file fields by
    the names of the files they may open (an older entry without its files: not at all)."""
    stage_field = readable.get(change.field_id) if change.field_id else None
    if stage_field is None:
        return None
    if stage_field.field_type == FieldType.FILE or change.is_files:
        if change.new_files is None:
            return None
        names = [f.name for f in change.new_files if f.id in files]
        return (stage_field.label, ", ".join(names)) if names else None
    return stage_field.label, change.new


def file_for(viewer: Viewer, job: Job, attachment_id: int) -> Attachment:
    """One file the customer may open; anything else (internal, another job's, made up) is
    a 404."""
    attachment = Attachment.objects.visible_to(viewer, job).filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("No such file.")
    return attachment


def request_for(viewer: Viewer, job: Job, request_id: int) -> DocumentRequest:
    request = DocumentRequest.objects.visible_to(viewer, job).filter(pk=request_id).first()
    if request is None:
        raise Http404("No such request.")
    return request


@dataclass(frozen=True)
class CustomerField:
    field: StageField
    value: Any  # as stored; file fields list only the files the customer may open
    editable: bool


class CustomerJob:
    """One job as one customer (or a member's preview of them) may see it. Each read is made
    once per instance, so the portal page's details, history, files and requests share the
    fields, files and stages they all need."""

    def __init__(self, job: Job, viewer: Viewer) -> None:
        self.job = job
        self.viewer = viewer

    @cached_property
    def readable_fields(self) -> list[StageField]:
        """The stage-form fields the customer may read on this job (StageField.objects.on_job),
        in form order."""
        customer_stage = self.job.customer_stage
        return list(
            StageField.objects.on_job(
                self.viewer,
                workspace_id=self.job.workspace_id,
                pipeline_id=self.job.pipeline_id,
                customer_stage_position=customer_stage.position if customer_stage else None,
            )
            .select_related("stage")
            .order_by("stage__position", "position", "id")
        )

    @cached_property
    def files(self) -> list[Attachment]:
        """The files the customer may open, newest first."""
        return list(
            Attachment.objects.visible_to(self.viewer, self.job).order_by("-created_at", "-id")
        )

    @cached_property
    def file_ids(self) -> set[int]:
        return {file.pk for file in self.files}

    @cached_property
    def stages(self) -> list[Stage]:
        """The pipeline's stages the customer may read by name, in board order (deleted ones
        too: the history still names them)."""
        return list(
            Stage.objects.visible_to(self.viewer)
            .filter(pipeline_id=self.job.pipeline_id)
            .order_by("position", "id")
        )

    def stepper(self) -> list[Step]:
        """The live stages the customer may read, in order, marked past / current / future.
        Finishing stages that did not happen (e.g. "Cancelled" for a completed job) are left
        out."""
        current = self.job.customer_stage
        steps = []
        for stage in self.stages:
            if stage.deleted_at is not None:
                continue
            if stage.is_terminal and (current is None or stage.pk != current.pk):
                continue
            if current is None:
                state = "future"
            elif stage.pk == current.pk:
                state = "current"
            elif stage.position < current.position:
                state = "past"
            else:
                state = "future"
            steps.append(Step(label=stage.label_for_customer, state=state))
        return steps

    def _entries(self) -> QuerySet[Activity]:
        return (
            Activity.objects.visible_to(self.viewer, self.job)
            .select_related("actor", "message", "attachment")
            .order_by("-created_at", "-id")
        )

    def feed(self, *, limit: int = FEED_LIMIT) -> list[CustomerEntry]:
        """The job's history as the customer may read it, newest first."""
        return self._rewrite(list(self._entries()[:limit]))

    def update_entries(self, activity_ids: Iterable[int]) -> list[CustomerEntry]:
        """The entries of a customer e-mail, oldest first, decided when it is sent: whatever
        is not customer-visible by then (a reply made internal in the digest window) drops
        out."""
        entries = list(self._entries().filter(pk__in=list(activity_ids)))
        entries.reverse()
        return self._rewrite(entries)

    def _rewrite(self, entries: list[Activity]) -> list[CustomerEntry]:
        job = self.job
        labels = {stage.pk: stage.label_for_customer for stage in self.stages}
        forms = any(e.kind == ActivityKind.FORM_SAVED for e in entries)
        readable = {f.pk: f for f in self.readable_fields} if forms else {}
        files = self.file_ids if forms else set()
        customer_user_id = job.customer.portal_user_id if job.customer else None
        # A visit's entries follow the visit: one detached from the job, or another
        # customer's (the job changed hands), leaves no trace (jobs.hooks.visible_visits).
        visits = (
            hooks.visible_visits(job, self.viewer)
            if any(e.kind in VISIT_VERBS for e in entries)
            else set()
        )
        result = []
        for entry in entries:
            if (
                entry.kind in VISIT_VERBS
                and getattr(entry.payload, "booking_id", None) not in visits
            ):
                continue
            from_customer = entry.actor_kind == ActorKind.CUSTOMER or (
                entry.actor_id is not None and entry.actor_id == customer_user_id
            )
            if from_customer:
                actor_name = "You"
            elif entry.actor is not None:
                actor_name = entry.actor.get_short_name()
            else:
                actor_name = job.workspace.name
            rewritten = _read(
                entry, labels=labels, readable=readable, files=files,
                time_zone=job.workspace.time_zone,
            )  # fmt: skip
            if rewritten is None:
                continue
            text, extra = rewritten
            result.append(
                CustomerEntry(
                    kind=entry.kind,
                    created_at=entry.created_at,
                    actor_name=actor_name,
                    from_customer=from_customer,
                    text=text,
                    **extra,
                )
            )
        return result

    def requests(self) -> list[DocumentRequest]:
        """The document requests addressed to the customer, open first, each with
        ``shared_files``: the files sent into it that the customer may open (from
        ``files``, no query of their own)."""
        requests = list(
            DocumentRequest.objects.visible_to(self.viewer, self.job).order_by(
                "status", "created_at"
            )
        )
        by_request: dict[int, list[Attachment]] = {}
        for file in reversed(self.files):  # oldest first within a request
            if file.document_request_id is not None:
                by_request.setdefault(file.document_request_id, []).append(file)
        for request in requests:
            request.shared_files = by_request.get(request.pk, [])  # type: ignore[attr-defined]
        return requests

    def details(self) -> list[CustomerField]:
        """The fields the customer may read on this job, with their values; those marked
        editable by the customer can be filled in."""
        fields = self.readable_fields
        if not fields:
            return []
        values = dict(
            FieldValue.objects.visible_to(self.viewer, self.job).values_list("field_id", "value")
        )
        has_files = any(f.field_type == FieldType.FILE for f in fields)
        visible_files = self.file_ids if has_files else set()
        result = []
        for stage_field in fields:
            value = values.get(stage_field.pk)
            if stage_field.field_type == FieldType.FILE and isinstance(value, list):
                value = [
                    item
                    for item in value
                    if isinstance(item, dict) and item.get("id") in visible_files
                ]
            result.append(
                CustomerField(
                    field=stage_field, value=value, editable=stage_field.editable_by_customer
                )
            )
        return result
