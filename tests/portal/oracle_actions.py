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
from typing import Any

from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import timezone

from jobline.jobs import requests as document_requests
from jobline.jobs import services as job_services
from jobline.jobs import uploads
from jobline.jobs.models import Attachment, DocumentRequest, Job, Message, Visibility
from jobline.notifications.delivery import deliver_due
from jobline.pipelines import services as pipeline_services
from jobline.pipelines.models import POSITION_GAP, FieldType, Pipeline, Stage, StageField
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
    world: World, *, key: int, name: str, label: str, visible: bool, terminal: bool, order: int
) -> None:
    assert world.pipeline is not None
    world.stages[key] = Stage.objects.create(
        pipeline=world.pipeline,
        name=name,
        customer_label=label,
        visible_to_customer=visible,
        is_terminal=terminal,
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
    return Page(surface, response.status_code, f"{headers}\n\n{body.decode(errors='replace')}")


def look_portal(world: World) -> list[Page]:
    """Everything the customer's browser can open about the job."""
    customer, job = world.clients.customer, world.the_job
    pages = [
        _get(customer, "the portal job list", "/user/jobs/"),
        _get(customer, "the portal job page", f"/user/jobs/{job.pk}/"),
        _get(customer, "the portal account page", "/user/account/"),
    ]
    for key, attachment in world.files.items():
        pages.append(
            _get(customer, f"the portal file URL of file #{key}", f"/user/files/{attachment.pk}/")
        )
    return pages


def look_previews(world: World) -> tuple[Page, Page]:
    """ "View as customer", as the Staff member and as the Admin."""
    url = f"/jobs/{world.the_job.number}/as-customer/"
    return (
        _get(world.clients.staff, "the Staff member's View-as-customer preview", url),
        _get(world.clients.admin, "the Admin's View-as-customer preview", url),
    )


def look_staff(world: World) -> tuple[list[Page], Page]:
    """What the Staff member reads (their job page and the jobs export), and the Admin's job
    page."""
    number = world.the_job.number
    staff = [
        _get(world.clients.staff, "the Staff member's job page", f"/jobs/{number}/"),
        _get(
            world.clients.staff,
            "the Staff member's jobs CSV export",
            "/jobs/export.csv?owner=all&state=all",
        ),
    ]
    return staff, _get(world.clients.admin, "the Admin's job page", f"/jobs/{number}/")


def look_emails(world: World) -> tuple[list[Page], list[Page]]:
    """Run the outbox after the digest window; the customer's e-mails and the Staff member's."""
    deliver_due(now=timezone.now() + dt.timedelta(hours=1))
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
    return customer, staff
