"""The oracle's adapter: the only code of the visibility oracle that drives the product.

One function per action (``act_*``) and one per place someone looks (``look_*``). When a
service's signature or a URL changes, this file is the one to edit; the model
(oracle_model.py) and the checks (test_visibility_oracle.py) do not know the product at all.

Services are used where they hold the logic (they are fast); HTTP where the logic lives in a
view: files uploaded into a stage form's file field, and the customer's upload into a document
request. Nothing here decides what anyone may see: it only acts and reads pages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import timezone

from jobline.approvals import services as approval_services
from jobline.approvals.models import Approval
from jobline.billing import services as billing_services
from jobline.billing.models import AmountKind, Instalment, Invoice, Payment, PaymentMethod, Trigger
from jobline.bookings import services as booking_services
from jobline.bookings.models import Booking
from jobline.jobs import requests as document_requests
from jobline.jobs import services as job_services
from jobline.jobs import uploads
from jobline.jobs.models import Attachment, DocumentRequest, Job, Message, Visibility
from jobline.notifications.delivery import deliver_due
from jobline.notifications.emails import visit_reminders_queue
from jobline.pipelines import services as pipeline_services
from jobline.pipelines.models import POSITION_GAP, FieldType, Pipeline, Stage, StageField
from jobline.workspaces.models import Membership, Workspace
from tests.conftest import Cast, client_for

FIELD_TYPES = {"text": FieldType.TEXT, "money": FieldType.MONEY, "file": FieldType.FILE}


class Clients:
    """The fixture cast and its signed-in browsers, made once per test (signing in is not
    part of an example)."""

    def __init__(self, cast: Cast) -> None:
        self.cast = cast
        self.admin = client_for(cast.admin)
        self.staff = client_for(cast.staff)
        self.customer = client_for(cast.customer.portal_user)
        # Visits: the workspace books them (each example turns the module off only in its own
        # rolled-back transaction), and the Staff member is who goes.
        cast.workspace.module_bookings = True
        cast.workspace.save(update_fields=["module_bookings"])
        self.visitor: Membership = cast.membership(cast.staff)

    def __repr__(self) -> str:  # Hypothesis prints it with every falsifying example
        return "Clients(<the portal cast: Ada Admin, Sam Staff, Priya the customer>)"


@dataclass
class World:
    """The product-side objects of one history, under the model's keys."""

    clients: Clients
    pipeline: Pipeline | None = None
    job: Job | None = None
    stages: dict[int, Stage] = field(default_factory=dict)
    fields: dict[int, StageField] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    files: dict[int, Attachment] = field(default_factory=dict)
    requests: dict[int, DocumentRequest] = field(default_factory=dict)
    visits: dict[int, Booking] = field(default_factory=dict)
    other_job: Job | None = None  # the second customer's job, made for their first visit on one
    instalments: dict[int, Instalment] = field(default_factory=dict)
    invoices: dict[int, Invoice] = field(default_factory=dict)
    payments: dict[int, Payment] = field(default_factory=dict)
    approvals: dict[int, Approval] = field(default_factory=dict)
    # Visits start from three days ahead, each in a half-hour slot of its own (so none overlaps
    # another of the Staff member's), all inside one reminder window (REMINDER_LEAD before).
    visit_base: dt.datetime = field(
        default_factory=lambda: (
            timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=3)
        )
    )
    slots: int = 0

    @property
    def cast(self) -> Cast:
        return self.clients.cast

    @property
    def the_job(self) -> Job:
        assert self.job is not None, "the job is created first"
        return self.job


@dataclass(frozen=True)
class Stored:
    """A file the product stored: its id and the visibility it was given."""

    attachment: Attachment
    visible: bool


@contextmanager
def rolled_back() -> Iterator[None]:
    """One example, undone afterwards. Services run in durable transactions of their own,
    which Django allows only directly inside a test case's transaction: this block is marked
    as one, exactly as django.test.TestCase marks its own, so they run as savepoints here."""
    atomic = transaction.atomic()
    atomic._from_testcase = True  # type: ignore[attr-defined]
    with atomic:
        yield
        transaction.set_rollback(True)


class DrivingFailed(AssertionError):
    """The product refused an action the history needs (a broken adapter, not a leak)."""


def _upload(name: str, content: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(f"{name}.txt", f"{content}\n".encode(), content_type="text/plain")


def _version(world: World) -> int:
    return Job.objects.values_list("version", flat=True).get(pk=world.the_job.pk)


def _newest_attachment(world: World) -> Attachment:
    attachment = Attachment.objects.filter(job=world.the_job).order_by("-pk").first()
    if attachment is None:
        raise DrivingFailed("no file was stored")
    return attachment


def _stored(attachment: Attachment) -> Stored:
    return Stored(attachment, attachment.visibility == Visibility.CUSTOMER)


# --- the pipeline -------------------------------------------------------------------------------


def act_pipeline_create(world: World) -> None:
    world.pipeline = Pipeline.objects.create(workspace=world.cast.workspace, name="Pipeline")


def act_stage_create(
    world: World, *, key: int, name: str, label: str, visible: bool, terminal: bool, order: int,
    approval: bool = False,
) -> None:  # fmt: skip
    assert world.pipeline is not None
    world.stages[key] = Stage.objects.create(
        pipeline=world.pipeline,
        name=name,
        customer_label=label,
        visible_to_customer=visible,
        is_terminal=terminal,
        requires_approval=approval,
        position=(order + 1) * POSITION_GAP,
    )


def act_field_create(
    world: World, *, key: int, stage: int, label: str, type: str, visible: bool
) -> None:
    world.fields[key] = pipeline_services.field_create(
        stage=world.stages[stage],
        actor=world.cast.admin,
        label=label,
        field_type=FIELD_TYPES[type],
        visible_to_customer=visible,
    )


def act_field_retire(world: World, *, field: int) -> None:
    pipeline_services.field_retire(field=world.fields[field], actor=world.cast.admin)


def act_stage_rename(world: World, *, stage: int, name: str) -> None:
    pipeline_services.stage_update(stage=world.stages[stage], actor=world.cast.admin, name=name)


def act_stage_relabel(world: World, *, stage: int, label: str) -> None:
    pipeline_services.stage_update(
        stage=world.stages[stage], actor=world.cast.admin, customer_label=label
    )


# --- the job --------------------------------------------------------------------------------


def act_job_create(world: World, *, stage: int, title: str) -> None:
    assert world.pipeline is not None
    world.job = job_services.job_create(
        workspace=world.cast.workspace,
        pipeline=world.pipeline,
        stage=world.stages[stage],
        title=title,
        actor=world.cast.admin,
        owner=world.cast.staff,
        customer=world.cast.customer,
    )


def act_move(world: World, *, stage: int) -> None:
    """Any move, forwards or back, with the required-field gate off."""
    job_services.job_move(
        job=world.the_job,
        stage=world.stages[stage],
        actor=world.cast.admin,
        expected_version=None,
        enforce_required=False,
    )


def act_retitle(world: World, *, title: str) -> None:
    job_services.job_update(
        job=world.the_job, actor=world.cast.admin, expected_version=None, title=title
    )


def act_change_owner(world: World, *, who: int) -> None:
    owner = (None, world.cast.staff, world.cast.manager)[who % 3]
    job_services.job_update(
        job=world.the_job, actor=world.cast.admin, expected_version=None, owner=owner
    )


def act_save_form(world: World, *, stage: int, values: dict[int, str | None]) -> None:
    """Text and money values of one stage's form (None empties a field)."""
    job_services.form_save(
        job=world.the_job,
        stage=world.stages[stage],
        values={world.fields[key].pk: value for key, value in values.items()},
        actor=world.cast.admin,
        expected_version=None,
    )


def act_save_form_with_files(
    world: World,
    *,
    stage: int,
    values: dict[int, str | None],
    files: dict[int, tuple[str, str]],
) -> dict[int, Stored]:
    """The staff stage form posted by the Admin, as the browser sends it: every live text or
    money field with its value (``values``: the changed ones and the kept ones), and one new
    file (name, content) for each file field in ``files``. Returns the stored files by field."""
    stage_obj = world.stages[stage]
    prefix = f"s{stage_obj.pk}"
    data: dict[str, Any] = {"version": _version(world)}
    for key, value in values.items():
        data[f"{prefix}-f_{world.fields[key].pk}"] = "" if value is None else value
    for key, (name, content) in files.items():
        data[f"{prefix}-f_{world.fields[key].pk}"] = [_upload(name, content)]
    before = set(Attachment.objects.filter(job=world.the_job).values_list("pk", flat=True))
    response = world.clients.admin.post(f"/jobs/{world.the_job.number}/forms/{stage_obj.pk}/", data)
    if response.status_code != 302:
        raise DrivingFailed(f"the stage form answered {response.status_code}")
    world.the_job.refresh_from_db()
    stored: dict[int, Stored] = {}
    new = Attachment.objects.filter(job=world.the_job).exclude(pk__in=before)
    by_name = {a.original_name: a for a in new}
    for key, (name, _content) in files.items():
        attachment = by_name.get(f"{name}.txt")
        if attachment is None:
            raise DrivingFailed(f"the file {name} of field {key} was not stored")
        stored[key] = _stored(attachment)
    return stored


# --- messages and files -------------------------------------------------------------------------


def act_message(
    world: World, *, key: int, body: str, reply: bool, files: list[tuple[str, str]]
) -> list[Stored]:
    """A reply (or internal note) with files attached, as the composer makes it."""
    _job, message = job_services.message_post(
        job=world.the_job,
        body=body,
        visibility=Visibility.CUSTOMER if reply else Visibility.INTERNAL,
        actor=world.cast.admin,
        files=[_upload(name, content) for name, content in files],
    )
    if message is None:
        raise DrivingFailed("the composer stored no message")
    world.messages[key] = message
    return [_stored(a) for a in Attachment.objects.filter(message=message).order_by("pk")]


def act_make_internal(world: World, *, message: int) -> None:
    job_services.message_make_internal(message=world.messages[message], actor=world.cast.admin)


def act_add_file(world: World, *, name: str, content: str, visible: bool) -> Stored:
    attachment = uploads.attachment_add(
        job=world.the_job,
        upload=_upload(name, content),
        visibility=Visibility.CUSTOMER if visible else Visibility.INTERNAL,
        actor=world.cast.admin,
    )
    return _stored(attachment)


def act_set_file_visibility(world: World, *, file: int, visible: bool) -> None:
    uploads.attachment_set_visibility(
        attachment=world.files[file],
        visibility=Visibility.CUSTOMER if visible else Visibility.INTERNAL,
        actor=world.cast.admin,
    )


def act_request_create(world: World, *, key: int, title: str, description: str) -> None:
    world.requests[key] = document_requests.request_create(
        job=world.the_job, title=title, description=description, actor=world.cast.staff
    )


def act_request_fulfil(world: World, *, request: int, name: str, content: str) -> Stored:
    """The customer uploads into the request through the portal."""
    response = world.clients.customer.post(
        f"/user/jobs/{world.the_job.pk}/requests/{world.requests[request].pk}/",
        {"files": [_upload(name, content)]},
    )
    if response.status_code != 302:
        raise DrivingFailed(f"the portal's request upload answered {response.status_code}")
    world.the_job.refresh_from_db()
    return _stored(_newest_attachment(world))


# --- visits -----------------------------------------------------------------------------------

VISIT_SLOT = dt.timedelta(minutes=30)
VISIT_LENGTH = dt.timedelta(minutes=25)
# When the reminders run: an hour before the first slot. Histories use at most a few dozen
# slots (half a day), inside the workspace's default 24-hour window.
REMINDER_LEAD = dt.timedelta(hours=1)


def _slot(world: World) -> tuple[dt.datetime, dt.datetime]:
    start = world.visit_base + world.slots * VISIT_SLOT
    world.slots += 1
    return start, start + VISIT_LENGTH


def _other_job(world: World) -> Job:
    if world.other_job is None:
        assert world.pipeline is not None and world.stages
        world.other_job = job_services.job_create(
            workspace=world.cast.workspace, pipeline=world.pipeline, stage=world.stages[0],
            title="The second customer's job", actor=world.cast.admin,
            customer=world.cast.second_customer,
        )  # fmt: skip
    return world.other_job


def act_book_visit(
    world: World,
    *,
    key: int,
    whose: str,
    on_other_job: bool,
    title: str,
    location: str,
    customer_notes: str,
    internal_notes: str,
) -> None:
    """A visit booked by the Admin for the Staff member: on the customer's job (``job``), an
    internal block (``block``: no customer, no job) or the second customer's (``other``: on
    their own job, or on none)."""
    customer, job = None, None
    if whose == "job":
        job = world.the_job
    elif whose == "other":
        customer = world.cast.second_customer
        job = _other_job(world) if on_other_job else None
    starts_at, ends_at = _slot(world)
    world.visits[key] = booking_services.booking_create(
        workspace=world.cast.workspace, actor=world.cast.admin, title=title,
        starts_at=starts_at, ends_at=ends_at, staff=[world.clients.visitor], customer=customer,
        job=job, location=location, customer_notes=customer_notes,
        internal_notes=internal_notes,
    )  # fmt: skip


def act_lend_job(
    world: World, *, key: int, title: str, location: str, customer_notes: str,
    internal_notes: str,
) -> None:  # fmt: skip
    """The job is the second customer's for a while (an Admin picked the wrong customer): a
    visit is booked on it then (so for them), and the job is given back to the customer."""
    for customer in (world.cast.second_customer, None, world.cast.customer):
        if customer is None:
            starts_at, ends_at = _slot(world)
            world.visits[key] = booking_services.booking_create(
                workspace=world.cast.workspace, actor=world.cast.admin, title=title,
                starts_at=starts_at, ends_at=ends_at, staff=[world.clients.visitor],
                job=world.the_job, location=location, customer_notes=customer_notes,
                internal_notes=internal_notes,
            )  # fmt: skip
            if world.visits[key].customer_id != world.cast.second_customer.pk:
                raise DrivingFailed("the visit on the lent job is not the second customer's")
            continue
        job_services.job_update(
            job=world.the_job, actor=world.cast.admin, expected_version=None, customer=customer
        )
        world.the_job.refresh_from_db()


def act_visit_status(world: World, *, visit: int, status: str) -> None:
    """Cancel (with a reason), complete or mark a no-show."""
    booking_services.booking_set_status(
        booking=world.visits[visit], actor=world.cast.admin, status=status,
        reason="Rearranged by phone" if status == "cancelled" else "",
    )  # fmt: skip


def act_visit_move(world: World, *, visit: int) -> None:
    """The visit moved to a slot of its own later on."""
    starts_at, _ends_at = _slot(world)
    booking_services.booking_move(
        booking=world.visits[visit], actor=world.cast.admin, starts_at=starts_at
    )


def act_visit_detach(world: World, *, visit: int) -> None:
    booking_services.booking_detach(booking=world.visits[visit], actor=world.cast.admin)


def act_bookings_module(world: World, *, on: bool) -> None:
    """The Admin turns the workspace's Bookings module on or off. (Written to the row only: the
    fixture's workspace object outlives the example, which is rolled back.)"""
    Workspace.objects.filter(pk=world.cast.workspace.pk).update(module_bookings=on)


# --- money -----------------------------------------------------------------------------------


def _rows(job: Job) -> list[billing_services.InstalmentInput]:
    """The job's schedule as the editor posts it back unchanged: every instalment by id."""
    return [
        billing_services.InstalmentInput.kept(i)
        for i in Instalment.objects.filter(job=job).order_by("position", "pk")
    ]


def act_schedule_set(
    world: World, *, value: Decimal, rows: list[tuple[int, str, Decimal | None, int | None]]
) -> None:
    """The Admin gives the job its value and schedule: rows of (key, label, a fixed amount or
    None for the balance, the stage that requests it or None for by hand)."""
    saved = billing_services.schedule_save(
        job=world.the_job, value=value, actor=world.cast.admin, expected_version=None,
        rows=[
            billing_services.InstalmentInput(
                label=label,
                amount_kind=AmountKind.FIXED if amount is not None else AmountKind.BALANCE,
                amount=amount,
                trigger=Trigger.MANUAL if stage is None else Trigger.STAGE,
                trigger_stage=None if stage is None else world.stages[stage],
            )
            for _key, label, amount, stage in rows
        ],
    )  # fmt: skip
    for (key, *_rest), instalment in zip(rows, saved, strict=True):
        world.instalments[key] = instalment


def act_value_change(world: World, *, value: Decimal) -> None:
    job = Job.objects.get(pk=world.the_job.pk)
    billing_services.schedule_save(
        job=job, value=value, rows=_rows(job), actor=world.cast.admin,
        expected_version=None,
    )  # fmt: skip


def act_instalment_request(world: World, *, instalment: int) -> None:
    billing_services.instalment_request(
        instalment=world.instalments[instalment], actor=world.cast.admin
    )


def act_pay(world: World, *, key: int, instalment: int, amount: Decimal) -> None:
    owner = world.instalments[instalment]
    world.payments[key] = billing_services.payment_record(
        instalment=owner, amount=amount, paid_on=billing_services.local_today(
            world.cast.workspace), method=PaymentMethod.BANK_TRANSFER, reference="Bank",
        actor=world.cast.admin,
    )  # fmt: skip


def act_refund(world: World, *, payment: int, reason: str) -> None:
    paid = world.payments[payment]
    billing_services.payment_refund(
        payment=paid, amount=paid.amount, reason=reason, actor=world.cast.admin
    )


def act_void(world: World, *, instalment: int, reason: str) -> None:
    billing_services.instalment_void(
        instalment=world.instalments[instalment], actor=world.cast.admin, reason=reason
    )


def act_other_invoice(world: World, *, label: str, amount: Decimal) -> None:
    """The second customer's own job, with one instalment, requested (its invoice issued)."""
    job = _other_job(world)
    billing_services.schedule_save(
        job=job, value=amount, actor=world.cast.admin, expected_version=None,
        rows=[billing_services.InstalmentInput(label=label, amount_kind=AmountKind.BALANCE)],
    )  # fmt: skip
    billing_services.instalment_request(
        instalment=Instalment.objects.get(job=job), actor=world.cast.admin
    )


def invoices_seen(world: World) -> dict[Invoice, bool]:
    """Every invoice issued in the example, in order: True for the second customer's."""
    jobs = [j.pk for j in (world.job, world.other_job) if j is not None]
    issued = Invoice.objects.filter(job_id__in=jobs).order_by("pk")
    return {invoice: invoice.job_id != world.the_job.pk for invoice in issued}


# --- approvals -------------------------------------------------------------------------------


def _newest_approval(world: World) -> Approval:
    approval = Approval.objects.filter(job=world.the_job).order_by("-requested_at", "-pk").first()
    if approval is None:
        raise DrivingFailed("the job has no approval request")
    return approval


def act_approval_message(world: World, *, message: str) -> None:
    approval_services.approval_edit(
        approval=_newest_approval(world), actor=world.cast.admin, message=message
    )


def act_approval_file(world: World, *, file: int) -> None:
    approval = _newest_approval(world)
    approval_services.approval_edit(
        approval=approval, actor=world.cast.admin, message=approval.message,
        add_file=world.files[file],
    )  # fmt: skip


def act_customer_answer(world: World, *, approve: bool, message: str) -> None:
    """The customer approves (their typed name) or asks for changes, through the portal."""
    approval = _newest_approval(world)
    data = {"answer": "approve", "name": "Priya Patel"} if approve else {
        "answer": "changes", "message": message}  # fmt: skip
    response = world.clients.customer.post(
        f"/user/jobs/{world.the_job.pk}/approvals/{approval.pk}/", data
    )
    if response.status_code != 302:
        raise DrivingFailed(f"the portal's approval answered {response.status_code}")


def act_override(world: World, *, reason: str) -> None:
    approval_services.approval_override(
        approval=_newest_approval(world), actor=world.cast.admin, reason=reason
    )


# --- where people look --------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    surface: str
    status: int | None  # None: an e-mail
    text: str


def _get(client: Client, surface: str, url: str) -> Page:
    response = client.get(url)
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content)
    else:
        body = response.content
    headers = "\n".join(f"{name}: {value}" for name, value in response.items())
    text = body.decode(errors="replace")
    if response.get("Content-Type", "").startswith("text/calendar"):
        # iCalendar folds long lines (RFC 5545 3.1): unfolded, a marker is never split.
        text = text.replace("\r\n ", "").replace("\r\n\t", "")
    return Page(surface, response.status_code, f"{headers}\n\n{text}")


VISIT_LIST = "the portal visits list"


def visit_file_surface(key: int) -> str:
    return f"the portal calendar file (.ics) of visit #{key}"


def look_portal(world: World) -> list[Page]:
    """Everything the customer's browser can open about the job."""
    customer, job = world.clients.customer, world.the_job
    pages = [
        _get(customer, "the portal job list", "/user/jobs/"),
        _get(customer, "the portal job page", f"/user/jobs/{job.pk}/"),
        _get(customer, "the portal account page", "/user/account/"),
        _get(customer, VISIT_LIST, "/user/visits/"),
    ]
    for key, attachment in world.files.items():
        pages.append(
            _get(customer, f"the portal file URL of file #{key}", f"/user/files/{attachment.pk}/")
        )
    for key, booking in world.visits.items():
        pages.append(_get(customer, visit_file_surface(key), f"/user/visits/{booking.pk}.ics"))
    for key, invoice in enumerate(invoices_seen(world)):
        pages.append(_get(customer, invoice_surface(key), f"/user/invoices/{invoice.pk}/"))
    return pages


def invoice_surface(key: int) -> str:
    return f"the portal invoice page of invoice #{key}"


def look_previews(world: World) -> tuple[Page, Page]:
    """ "View as customer", as the Staff member and as the Admin."""
    url = f"/jobs/{world.the_job.number}/as-customer/"
    return (
        _get(world.clients.staff, "the Staff member's View-as-customer preview", url),
        _get(world.clients.admin, "the Admin's View-as-customer preview", url),
    )


STAFF_PAYMENTS = "the Staff member's GET of the job's Payments page"


def look_staff(world: World) -> tuple[list[Page], list[Page]]:
    """What the Staff member reads (their job page, the jobs export, and what the job's
    Payments page answers them), and the Admin's job page and Payments page."""
    number = world.the_job.number
    staff = [
        _get(world.clients.staff, "the Staff member's job page", f"/jobs/{number}/"),
        _get(
            world.clients.staff,
            "the Staff member's jobs CSV export",
            "/jobs/export.csv?owner=all&state=all",
        ),
        _get(world.clients.staff, STAFF_PAYMENTS, f"/billing/jobs/{number}/"),
    ]
    admin = [
        _get(world.clients.admin, "the Admin's job page", f"/jobs/{number}/"),
        _get(world.clients.admin, "the Admin's Payments page", f"/billing/jobs/{number}/"),
    ]
    return staff, admin


@dataclass(frozen=True)
class Emails:
    customer: list[Page]
    staff: list[Page]
    reminders_queued: int  # visit reminders queued (for anyone), for the harness's own check


def look_emails(world: World) -> Emails:
    """Run the outbox after the digest window, then the visit reminders from inside their
    window (an hour before the first visit) and the outbox again; the customer's e-mails and
    the Staff member's."""
    deliver_due(now=timezone.now() + dt.timedelta(hours=1))
    reminders_at = world.visit_base - REMINDER_LEAD
    reminders = visit_reminders_queue(now=reminders_at)
    deliver_due(now=reminders_at)
    customer, staff = [], []
    for index, message in enumerate(mail.outbox):
        parts = [
            f"Subject: {message.subject}",
            *(f"{name}: {value}" for name, value in message.extra_headers.items()),
            message.body,
            *(str(content) for content, _type in getattr(message, "alternatives", [])),
        ]
        text = "\n".join(parts)
        if world.cast.customer.email in message.to:
            customer.append(Page(f"e-mail #{index} to the customer", None, text))
        if world.cast.staff.email in message.to:
            staff.append(Page(f"e-mail #{index} to the Staff member", None, text))
    return Emails(customer, staff, reminders)
