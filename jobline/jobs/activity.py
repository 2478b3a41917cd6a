"""The feed entries' payloads, typed: one small class per ActivityKind.

An entry's ``data`` (JSON) is written only through these classes (``to_data``) and read only
through them (``parse``, or ``Activity.payload``). The shape of each kind is declared once
here; the job page, the portal, e-mails, notifications and (later) reports and the API read the
attributes, never the JSON keys.

Names (of stages, people, pipelines) are copied into the entry when it is written, so the
staff feed reads the same after a rename. What a customer may read of an entry is not decided
here: see the ``visible_to`` methods in models.py and customer_view.py.

Entries written before a field was added here still parse: missing keys read as empty.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar

from jobline.jobs.choices import ActivityKind, Visibility
from jobline.pipelines.models import FieldType, Stage, StageField

JSON = dict[str, Any]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class StageRef:
    id: int | None
    name: str

    @classmethod
    def of(cls, stage: Stage) -> StageRef:
        return cls(id=stage.pk, name=stage.name)

    @classmethod
    def read(cls, raw: Any) -> StageRef:
        raw = raw if isinstance(raw, dict) else {}
        return cls(id=_int(raw.get("id")), name=_text(raw.get("name")) or "?")

    def to_data(self) -> JSON:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True, slots=True)
class PersonRef:
    """A staff member or a customer, by id and the name they had then."""

    id: int | None
    name: str

    @classmethod
    def of(cls, person: Any) -> PersonRef | None:
        if person is None:
            return None
        return cls(id=person.pk, name=getattr(person, "full_name", None) or str(person))

    @classmethod
    def read(cls, raw: Any) -> PersonRef | None:
        if not isinstance(raw, dict):
            return None
        return cls(id=_int(raw.get("id")), name=_text(raw.get("name")))

    def to_data(self) -> JSON:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file stored in a file-type field: the attachment's id and its name."""

    id: int | None
    name: str

    @classmethod
    def read_all(cls, raw: Any) -> tuple[FileRef, ...] | None:
        if not isinstance(raw, list):
            return None
        return tuple(
            cls(id=_int(item.get("id")), name=_text(item.get("name")))
            for item in raw
            if isinstance(item, dict)
        )

    def to_data(self) -> JSON:
        return {"id": self.id, "name": self.name}


class Payload:
    """The base of every kind's payload."""

    KIND: ClassVar[str]

    def to_data(self) -> JSON:
        return {}

    @classmethod
    def from_data(cls, data: JSON) -> Payload:
        return cls()


_KINDS: dict[str, type[Payload]] = {}


def _kind(cls: type[Payload]) -> type[Payload]:
    _KINDS[cls.KIND] = cls
    return cls


@_kind
@dataclass(frozen=True, slots=True)
class Created(Payload):
    KIND: ClassVar[str] = ActivityKind.CREATED
    stage: StageRef
    title: str

    @classmethod
    def of(cls, stage: Stage, title: str) -> Created:
        return cls(stage=StageRef.of(stage), title=title)

    def to_data(self) -> JSON:
        return {"stage": self.stage.to_data(), "title": self.title}

    @classmethod
    def from_data(cls, data: JSON) -> Created:
        return cls(stage=StageRef.read(data.get("stage")), title=_text(data.get("title")))


@_kind
@dataclass(frozen=True, slots=True)
class StatusChanged(Payload):
    KIND: ClassVar[str] = ActivityKind.STATUS_CHANGED
    old: StageRef
    new: StageRef
    closed: bool
    reopened: bool

    @classmethod
    def between(cls, old: Stage, new: Stage) -> StatusChanged:
        return cls(
            old=StageRef.of(old),
            new=StageRef.of(new),
            closed=new.is_terminal,
            reopened=old.is_terminal and not new.is_terminal,
        )

    def to_data(self) -> JSON:
        return {
            "from": self.old.to_data(),
            "to": self.new.to_data(),
            "closed": self.closed,
            "reopened": self.reopened,
        }

    @classmethod
    def from_data(cls, data: JSON) -> StatusChanged:
        return cls(
            old=StageRef.read(data.get("from")),
            new=StageRef.read(data.get("to")),
            closed=bool(data.get("closed")),
            reopened=bool(data.get("reopened")),
        )


@dataclass(frozen=True, slots=True)
class _PersonChange(Payload):
    old: PersonRef | None
    new: PersonRef | None

    def to_data(self) -> JSON:
        return {
            "old": self.old.to_data() if self.old else None,
            "new": self.new.to_data() if self.new else None,
        }

    @classmethod
    def from_data(cls, data: JSON) -> _PersonChange:
        return cls(old=PersonRef.read(data.get("old")), new=PersonRef.read(data.get("new")))


@_kind
@dataclass(frozen=True, slots=True)
class OwnerChanged(_PersonChange):
    KIND: ClassVar[str] = ActivityKind.OWNER_CHANGED


@_kind
@dataclass(frozen=True, slots=True)
class CustomerChanged(_PersonChange):
    KIND: ClassVar[str] = ActivityKind.CUSTOMER_CHANGED


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


@_kind
@dataclass(frozen=True, slots=True)
class DueDateChanged(Payload):
    KIND: ClassVar[str] = ActivityKind.DUE_DATE_CHANGED
    old: dt.date | None
    new: dt.date | None

    def to_data(self) -> JSON:
        return {
            "old": self.old.isoformat() if self.old else None,
            "new": self.new.isoformat() if self.new else None,
        }

    @classmethod
    def from_data(cls, data: JSON) -> DueDateChanged:
        return cls(old=_date(data.get("old")), new=_date(data.get("new")))


@_kind
@dataclass(frozen=True, slots=True)
class TitleChanged(Payload):
    KIND: ClassVar[str] = ActivityKind.TITLE_CHANGED
    old: str
    new: str

    def to_data(self) -> JSON:
        return {"old": self.old, "new": self.new}

    @classmethod
    def from_data(cls, data: JSON) -> TitleChanged:
        return cls(old=_text(data.get("old")), new=_text(data.get("new")))


@_kind
@dataclass(frozen=True, slots=True)
class Note(Payload):
    """An internal note; its text is the entry's message."""

    KIND: ClassVar[str] = ActivityKind.NOTE


@_kind
@dataclass(frozen=True, slots=True)
class Reply(Payload):
    """A reply to (or from) the customer; its text is the entry's message."""

    KIND: ClassVar[str] = ActivityKind.REPLY


@_kind
@dataclass(frozen=True, slots=True)
class ReplyMadeInternal(Payload):
    """A reply sent by mistake became internal; the entry points at the message."""

    KIND: ClassVar[str] = ActivityKind.REPLY_VISIBILITY_CHANGED

    def to_data(self) -> JSON:
        return {"old": Visibility.CUSTOMER.value, "new": Visibility.INTERNAL.value}


@_kind
@dataclass(frozen=True, slots=True)
class FileAdded(Payload):
    KIND: ClassVar[str] = ActivityKind.FILE_ADDED
    name: str
    size: int
    content_type: str
    is_image: bool

    @classmethod
    def of(cls, attachment: Any) -> FileAdded:
        return cls(
            name=attachment.original_name,
            size=attachment.size,
            content_type=attachment.content_type,
            is_image=attachment.is_image,
        )

    def to_data(self) -> JSON:
        return {
            "name": self.name,
            "size": self.size,
            "content_type": self.content_type,
            "is_image": self.is_image,
        }

    @classmethod
    def from_data(cls, data: JSON) -> FileAdded:
        return cls(
            name=_text(data.get("name")) or "a file",
            size=_int(data.get("size")) or 0,
            content_type=_text(data.get("content_type")),
            is_image=bool(data.get("is_image")),
        )


@_kind
@dataclass(frozen=True, slots=True)
class FileVisibilityChanged(Payload):
    KIND: ClassVar[str] = ActivityKind.FILE_VISIBILITY_CHANGED
    name: str
    old: str
    new: str

    @property
    def shared(self) -> bool:
        return self.new == Visibility.CUSTOMER

    def to_data(self) -> JSON:
        return {"name": self.name, "old": self.old, "new": self.new}

    @classmethod
    def from_data(cls, data: JSON) -> FileVisibilityChanged:
        return cls(
            name=_text(data.get("name")) or "a file",
            old=_text(data.get("old")),
            new=_text(data.get("new")),
        )


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of a saved stage form, old → new.

    ``kind`` is the field's type when it was saved (None in entries older than this class:
    readers then go by the field's current type). File fields carry their files
    (``old_files``/``new_files``) instead of text, so each reader names only the files its
    viewer may see; ``old``/``new`` are the other fields' values as text.
    """

    field_id: int | None
    label: str
    kind: str | None
    old: str
    new: str
    old_files: tuple[FileRef, ...] | None = None
    new_files: tuple[FileRef, ...] | None = None
    money: bool = False

    @classmethod
    def of(cls, stage_field: StageField, old: Any, new: Any) -> FieldChange:
        if stage_field.field_type == FieldType.FILE:
            return cls(
                field_id=stage_field.pk,
                label=stage_field.label,
                kind=stage_field.field_type,
                old="",
                new="",
                old_files=_files(old),
                new_files=_files(new),
            )
        return cls(
            field_id=stage_field.pk,
            label=stage_field.label,
            kind=stage_field.field_type,
            old=value_as_text(old),
            new=value_as_text(new),
            money=stage_field.field_type == FieldType.MONEY,
        )

    @property
    def is_files(self) -> bool:
        return self.kind == FieldType.FILE

    def to_data(self) -> JSON:
        data: JSON = {
            "field": self.field_id,
            "label": self.label,
            "kind": self.kind,
            "old": self.old,
            "new": self.new,
            "money": self.money,
        }
        if self.is_files:
            data["old_files"] = [f.to_data() for f in self.old_files or ()]
            data["new_files"] = [f.to_data() for f in self.new_files or ()]
        return data

    @classmethod
    def read(cls, raw: Any) -> FieldChange:
        raw = raw if isinstance(raw, dict) else {}
        return cls(
            field_id=_int(raw.get("field")),
            label=_text(raw.get("label")),
            kind=raw.get("kind") if isinstance(raw.get("kind"), str) else None,
            old=_text(raw.get("old")),
            new=_text(raw.get("new")),
            old_files=FileRef.read_all(raw.get("old_files")),
            new_files=FileRef.read_all(raw.get("new_files")),
            money=bool(raw.get("money")),
        )


def _files(value: Any) -> tuple[FileRef, ...]:
    return FileRef.read_all(value) or ()


def value_as_text(value: Any) -> str:
    """A stored field value as the feed writes it (file fields have their own FileRefs)."""
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v.get("name", v)) if isinstance(v, dict) else str(v) for v in value)
    return str(value)


@_kind
@dataclass(frozen=True, slots=True)
class FormSaved(Payload):
    KIND: ClassVar[str] = ActivityKind.FORM_SAVED
    stage: StageRef
    changes: tuple[FieldChange, ...] = field(default_factory=tuple)

    def to_data(self) -> JSON:
        return {"stage": self.stage.to_data(), "changes": [c.to_data() for c in self.changes]}

    @classmethod
    def from_data(cls, data: JSON) -> FormSaved:
        raw = data.get("changes")
        changes = tuple(FieldChange.read(c) for c in raw) if isinstance(raw, list) else ()
        return cls(stage=StageRef.read(data.get("stage")), changes=changes)


@_kind
@dataclass(frozen=True, slots=True)
class Archived(Payload):
    KIND: ClassVar[str] = ActivityKind.ARCHIVED


@_kind
@dataclass(frozen=True, slots=True)
class Restored(Payload):
    KIND: ClassVar[str] = ActivityKind.RESTORED


@_kind
@dataclass(frozen=True, slots=True)
class Copied(Payload):
    """A job re-filed into another pipeline: on the new job ``direction`` is "from", on the
    old one "to"; ``job`` is the other job's reference."""

    KIND: ClassVar[str] = ActivityKind.COPIED
    direction: str
    job: str
    pipeline: str

    def to_data(self) -> JSON:
        return {"direction": self.direction, "job": self.job, "pipeline": self.pipeline}

    @classmethod
    def from_data(cls, data: JSON) -> Copied:
        return cls(
            direction="to" if data.get("direction") == "to" else "from",
            job=_text(data.get("job")),
            pipeline=_text(data.get("pipeline")),
        )


@_kind
@dataclass(frozen=True, slots=True)
class RequestCreated(Payload):
    KIND: ClassVar[str] = ActivityKind.REQUEST_CREATED
    request_id: int | None
    title: str

    def to_data(self) -> JSON:
        return {"request": self.request_id, "title": self.title}

    @classmethod
    def from_data(cls, data: JSON) -> RequestCreated:
        return cls(request_id=_int(data.get("request")), title=_text(data.get("title")))


@_kind
@dataclass(frozen=True, slots=True)
class RequestFulfilled(Payload):
    KIND: ClassVar[str] = ActivityKind.REQUEST_FULFILLED
    request_id: int | None
    title: str
    files: int

    def to_data(self) -> JSON:
        return {"request": self.request_id, "title": self.title, "files": self.files}

    @classmethod
    def from_data(cls, data: JSON) -> RequestFulfilled:
        return cls(
            request_id=_int(data.get("request")),
            title=_text(data.get("title")),
            files=_int(data.get("files")) or 0,
        )


@_kind
@dataclass(frozen=True, slots=True)
class RequestReopened(Payload):
    KIND: ClassVar[str] = ActivityKind.REQUEST_REOPENED
    request_id: int | None
    title: str
    reason: str

    def to_data(self) -> JSON:
        return {"request": self.request_id, "title": self.title, "reason": self.reason}

    @classmethod
    def from_data(cls, data: JSON) -> RequestReopened:
        return cls(
            request_id=_int(data.get("request")),
            title=_text(data.get("title")),
            reason=_text(data.get("reason")),
        )


def _instant(value: Any) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


@dataclass(frozen=True, slots=True)
class _VisitPayload(Payload):
    """A visit (bookings app) of the job: its title, place and times as they were then (UTC
    instants; readers show them in the workspace's time zone). Never its internal notes.
    ``old_*`` are the times before a move; ``reason`` is a cancellation's."""

    booking_id: int | None
    title: str
    location: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    old_starts_at: dt.datetime | None = None
    old_ends_at: dt.datetime | None = None
    reason: str = ""

    @classmethod
    def of(cls, booking: Any, **extra: Any) -> _VisitPayload:
        return cls(
            booking_id=booking.pk,
            title=booking.title,
            location=booking.location,
            starts_at=booking.starts_at,
            ends_at=booking.ends_at,
            **extra,
        )

    def to_data(self) -> JSON:
        def iso(moment: dt.datetime | None) -> str | None:
            return moment.astimezone(dt.UTC).isoformat() if moment else None

        return {
            "booking": self.booking_id,
            "title": self.title,
            "location": self.location,
            "starts_at": iso(self.starts_at),
            "ends_at": iso(self.ends_at),
            "old_starts_at": iso(self.old_starts_at),
            "old_ends_at": iso(self.old_ends_at),
            "reason": self.reason,
        }

    @classmethod
    def from_data(cls, data: JSON) -> _VisitPayload:
        return cls(
            booking_id=_int(data.get("booking")),
            title=_text(data.get("title")) or "Visit",
            location=_text(data.get("location")),
            starts_at=_instant(data.get("starts_at")),
            ends_at=_instant(data.get("ends_at")),
            old_starts_at=_instant(data.get("old_starts_at")),
            old_ends_at=_instant(data.get("old_ends_at")),
            reason=_text(data.get("reason")),
        )


@_kind
@dataclass(frozen=True, slots=True)
class VisitBooked(_VisitPayload):
    KIND: ClassVar[str] = ActivityKind.VISIT_BOOKED


@_kind
@dataclass(frozen=True, slots=True)
class VisitMoved(_VisitPayload):
    KIND: ClassVar[str] = ActivityKind.VISIT_MOVED


@_kind
@dataclass(frozen=True, slots=True)
class VisitCancelled(_VisitPayload):
    KIND: ClassVar[str] = ActivityKind.VISIT_CANCELLED


@_kind
@dataclass(frozen=True, slots=True)
class VisitCompleted(_VisitPayload):
    KIND: ClassVar[str] = ActivityKind.VISIT_COMPLETED


@_kind
@dataclass(frozen=True, slots=True)
class VisitNoShow(_VisitPayload):
    KIND: ClassVar[str] = ActivityKind.VISIT_NO_SHOW


@_kind
@dataclass(frozen=True, slots=True)
class VisitDetached(_VisitPayload):
    KIND: ClassVar[str] = ActivityKind.VISIT_DETACHED


@_kind
@dataclass(frozen=True, slots=True)
class QuoteConverted(Payload):
    """The job was made from a quote (quotes app): which one, by its reference then. Staff
    only: the amounts stay on the quote and the job's money fields."""

    KIND: ClassVar[str] = ActivityKind.QUOTE_CONVERTED
    quote_id: int | None
    reference: str
    title: str
    accepted: bool = True  # False: converted before the customer accepted

    def to_data(self) -> JSON:
        return {
            "quote": self.quote_id,
            "reference": self.reference,
            "title": self.title,
            "accepted": self.accepted,
        }

    @classmethod
    def from_data(cls, data: JSON) -> QuoteConverted:
        return cls(
            quote_id=_int(data.get("quote")),
            reference=_text(data.get("reference")),
            title=_text(data.get("title")),
            accepted=data.get("accepted", True) is not False,
        )


# The payment schedule's entries (billing app). Staff-only, and amount-free: the feed names
# which instalment and which invoice, and the amounts stay on the Payments section, which only
# the roles that see money are shown (sees_money). Staff read that a deposit was requested,
# never how much.


@_kind
@dataclass(frozen=True, slots=True)
class ScheduleChanged(Payload):
    KIND: ClassVar[str] = ActivityKind.SCHEDULE_CHANGED
    labels: tuple[str, ...]  # the instalments after the change, in order
    value_changed: bool = False

    def to_data(self) -> JSON:
        return {"labels": list(self.labels), "value_changed": self.value_changed}

    @classmethod
    def from_data(cls, data: JSON) -> ScheduleChanged:
        raw = data.get("labels")
        labels = tuple(_text(label) for label in raw) if isinstance(raw, list) else ()
        return cls(labels=labels, value_changed=data.get("value_changed") is True)


@dataclass(frozen=True, slots=True)
class _InstalmentPayload(Payload):
    """An instalment by its id and label then, and the invoice it concerns (INV-1001)."""

    instalment_id: int | None
    label: str
    invoice: str = ""  # its reference then: INV-1001
    # Why: what triggered a request ("entering Install"; empty: by hand), a void's or a
    # refund's reason.
    reason: str = ""
    invoice_id: int | None = None

    def to_data(self) -> JSON:
        return {
            "instalment": self.instalment_id,
            "label": self.label,
            "invoice": self.invoice,
            "reason": self.reason,
            "invoice_id": self.invoice_id,
        }

    @classmethod
    def from_data(cls, data: JSON) -> _InstalmentPayload:
        return cls(
            instalment_id=_int(data.get("instalment")),
            label=_text(data.get("label")),
            invoice=_text(data.get("invoice")),
            reason=_text(data.get("reason")),
            invoice_id=_int(data.get("invoice_id")),
        )


@_kind
@dataclass(frozen=True, slots=True)
class InstalmentRequested(_InstalmentPayload):
    KIND: ClassVar[str] = ActivityKind.INSTALMENT_REQUESTED


@_kind
@dataclass(frozen=True, slots=True)
class InstalmentVoided(_InstalmentPayload):
    KIND: ClassVar[str] = ActivityKind.INSTALMENT_VOIDED


@_kind
@dataclass(frozen=True, slots=True)
class PaymentRecorded(_InstalmentPayload):
    KIND: ClassVar[str] = ActivityKind.PAYMENT_RECORDED


@_kind
@dataclass(frozen=True, slots=True)
class PaymentRefunded(_InstalmentPayload):
    KIND: ClassVar[str] = ActivityKind.PAYMENT_REFUNDED


# A customer approval of a stage (approvals app): which approval and stage, the stage's
# name as the customer reads it, and why (what changed, the customer's message, the reason
# of an override).


@dataclass(frozen=True, slots=True)
class _ApprovalPayload(Payload):
    approval_id: int | None
    stage: StageRef
    label: str  # the stage as the customer reads it
    reason: str = ""

    def to_data(self) -> JSON:
        return {"approval": self.approval_id, "stage": self.stage.to_data(), "label": self.label,
                "reason": self.reason}  # fmt: skip

    @classmethod
    def from_data(cls, data: JSON) -> _ApprovalPayload:
        return cls(
            approval_id=_int(data.get("approval")),
            stage=StageRef.read(data.get("stage")),
            label=_text(data.get("label")),
            reason=_text(data.get("reason")),
        )


@_kind
@dataclass(frozen=True, slots=True)
class ApprovalRequested(_ApprovalPayload):
    KIND: ClassVar[str] = ActivityKind.APPROVAL_REQUESTED


@_kind
@dataclass(frozen=True, slots=True)
class ApprovalReopened(_ApprovalPayload):
    KIND: ClassVar[str] = ActivityKind.APPROVAL_REOPENED


@_kind
@dataclass(frozen=True, slots=True)
class Approved(_ApprovalPayload):
    KIND: ClassVar[str] = ActivityKind.APPROVED


@_kind
@dataclass(frozen=True, slots=True)
class ChangesRequested(_ApprovalPayload):
    KIND: ClassVar[str] = ActivityKind.CHANGES_REQUESTED


@_kind
@dataclass(frozen=True, slots=True)
class ApprovalOverridden(_ApprovalPayload):
    KIND: ClassVar[str] = ActivityKind.APPROVAL_OVERRIDDEN


@_kind
@dataclass(frozen=True, slots=True)
class FollowUpInvited(Payload):
    """The customer is asked to book a follow-up that fell due (followups app)."""

    KIND: ClassVar[str] = ActivityKind.FOLLOW_UP_INVITED
    follow_up_id: int | None
    label: str

    def to_data(self) -> JSON:
        return {"follow_up": self.follow_up_id, "label": self.label}

    @classmethod
    def from_data(cls, data: JSON) -> FollowUpInvited:
        return cls(follow_up_id=_int(data.get("follow_up")), label=_text(data.get("label")))


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@_kind
@dataclass(frozen=True, slots=True)
class FollowUpDue(Payload):
    """A follow-up check-in fell due (followups app): which, and its window then (UTC)."""

    KIND: ClassVar[str] = ActivityKind.FOLLOW_UP_DUE
    follow_up_id: int | None
    label: str
    window_starts_at: dt.datetime | None = None
    window_ends_at: dt.datetime | None = None

    def to_data(self) -> JSON:
        return {
            "follow_up": self.follow_up_id,
            "label": self.label,
            "window_starts_at": _iso(self.window_starts_at),
            "window_ends_at": _iso(self.window_ends_at),
        }

    @classmethod
    def from_data(cls, data: JSON) -> FollowUpDue:
        return cls(
            follow_up_id=_int(data.get("follow_up")),
            label=_text(data.get("label")),
            window_starts_at=_instant(data.get("window_starts_at")),
            window_ends_at=_instant(data.get("window_ends_at")),
        )


@dataclass(frozen=True, slots=True)
class Unknown(Payload):
    """An entry of a kind this code no longer writes: shown by its kind's name only."""

    KIND: ClassVar[str] = ""
    kind: str = ""


def parse(kind: str, data: Any) -> Payload:
    """The typed payload of an entry's kind and JSON data."""
    payload_class = _KINDS.get(kind)
    if payload_class is None:
        return Unknown(kind=kind)
    return payload_class.from_data(data if isinstance(data, dict) else {})
