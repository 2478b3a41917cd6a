"""What a customer may do: reply (with files), upload, fill in the fields opened to them —
each a feed entry with the customer as the actor — and nothing else."""

from __future__ import annotations

import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from jobline.jobs.models import Activity, ActorKind, Attachment, FieldValue, Job, Message
from jobline.jobs.services import job_move
from jobline.pipelines.models import Pipeline
from tests.approvals.helpers import approve_as_customer
from tests.conftest import Cast


def photo(name: str = "mine.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "purple").save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue())


def test_reply_with_a_file_is_visible_and_from_the_customer(
    priya_job: Job, as_priya: Client, priya: Any
) -> None:
    response = as_priya.post(
        f"/user/jobs/{priya_job.pk}/reply/", {"body": "Screen still flickers", "files": [photo()]}
    )
    assert response.status_code == 302
    message = Message.objects.get(job=priya_job)
    assert (message.author, message.author_kind, message.visibility) == (
        priya, ActorKind.CUSTOMER, "customer",
    )  # fmt: skip
    attachment = Attachment.objects.get(job=priya_job)
    assert attachment.uploader_kind == ActorKind.CUSTOMER and attachment.message == message
    kinds = set(
        Activity.objects.filter(job=priya_job, actor=priya).values_list("kind", "actor_kind")
    )
    assert kinds == {("reply", "customer"), ("file_added", "customer")}
    page = as_priya.get(f"/user/jobs/{priya_job.pk}/").text
    assert "Screen still flickers" in page and "From you" in page


def test_an_empty_reply_is_refused_and_the_toggle_is_enforced(
    priya_job: Job, repair: Pipeline, as_priya: Client
) -> None:
    response = as_priya.post(f"/user/jobs/{priya_job.pk}/reply/", {"body": "  "})
    assert response.status_code == 400
    assert "Write a message or attach a file." in response.text
    repair.customers_can_reply = False
    repair.save()
    response = as_priya.post(f"/user/jobs/{priya_job.pk}/reply/", {"body": "Let me in"})
    assert response.status_code == 400
    assert "Replies are not open" in response.text
    assert "Let me in" in response.text  # typed text kept
    assert not Message.objects.exists()


def test_upload_is_refused_when_the_pipeline_does_not_allow_it(
    priya_job: Job, repair: Pipeline, as_priya: Client
) -> None:
    repair.customers_can_upload = False
    repair.save()
    response = as_priya.post(f"/user/jobs/{priya_job.pk}/upload/", {"files": [photo()]})
    assert response.status_code == 400
    assert not Attachment.objects.exists()


def test_a_disallowed_file_is_refused_with_a_message(priya_job: Job, as_priya: Client) -> None:
    bad = SimpleUploadedFile("virus.jpg", b"MZ\x90\x00" + b"\0" * 100)
    response = as_priya.post(f"/user/jobs/{priya_job.pk}/upload/", {"files": [bad]})
    assert response.status_code == 400
    assert "virus.jpg" in response.text
    assert not Attachment.objects.exists()


def test_customer_fills_an_editable_field_but_not_a_read_only_one(
    portal: Cast, as_priya: Client
) -> None:
    from jobline.jobs.services import job_create
    from jobline.pipelines.services import pipeline_create_from_blueprint

    legal = pipeline_create_from_blueprint(
        workspace=portal.workspace, blueprint_key="legal", actor=portal.admin
    )
    review = legal.stages.get(name="Client review")
    job = job_create(
        workspace=portal.workspace, pipeline=legal, stage=review, title="Lease",
        actor=portal.admin, customer=portal.customer,
    )  # fmt: skip
    comments = review.fields.get(label="Client comments")
    page = as_priya.get(f"/user/jobs/{job.pk}/").text
    assert f'name="c-f_{comments.pk}"' in page
    response = as_priya.post(
        f"/user/jobs/{job.pk}/details/", {f"c-f_{comments.pk}": "Clause 4 looks wrong"}
    )
    assert response.status_code == 302
    assert FieldValue.objects.get(job=job, field=comments).value == "Clause 4 looks wrong"
    entry = Activity.objects.filter(job=job, kind="form_saved").get()
    assert entry.actor_kind == ActorKind.CUSTOMER

    matter = legal.stages.get(name="Intake").fields.get(label="Matter type")  # internal field
    response = as_priya.post(f"/user/jobs/{job.pk}/details/", {f"c-f_{matter.pk}": "Family"})
    assert response.status_code == 403
    assert not FieldValue.objects.filter(field=matter).exists()


def test_customers_cannot_move_or_delete(
    priya_job: Job, repair: Pipeline, as_priya: Client
) -> None:
    diagnosis = repair.stages.get(name="Diagnosis")
    response = as_priya.post(
        f"/jobs/{priya_job.number}/move/", {"stage": diagnosis.pk, "version": priya_job.version}
    )
    assert response.status_code == 302 and response["Location"] == "/user/jobs/"
    priya_job.refresh_from_db()
    assert priya_job.stage.name == "Drop-off"


def test_a_job_in_an_internal_stage_shows_the_last_visible_stage(
    portal: Cast, priya_job: Job, repair: Pipeline, as_priya: Client
) -> None:
    approval = repair.stages.get(name="Approval")
    job_move(job=priya_job, stage=approval, actor=portal.admin, expected_version=None,
             enforce_required=False)  # fmt: skip
    approve_as_customer(priya_job)  # Approval asks for the customer's approval (its gate)
    job_move(job=priya_job, stage=repair.stages.get(name="Awaiting parts"), actor=portal.admin,
             expected_version=None)  # fmt: skip
    page = as_priya.get(f"/user/jobs/{priya_job.pk}/").text
    assert "Waiting for your approval" in page  # Approval's customer label
    assert "Awaiting parts" not in page
    listing = as_priya.get("/user/jobs/").text
    assert "Waiting for your approval" in listing and "Awaiting parts" not in listing


def test_a_job_with_news_moves_to_the_top_with_a_dot_until_opened(
    portal: Cast, repair: Pipeline, as_priya: Client
) -> None:
    from jobline.jobs.services import job_create, message_add

    older = job_create(
        workspace=portal.workspace, pipeline=repair, title="Older job", actor=portal.admin,
        customer=portal.customer,
    )  # fmt: skip
    newer = job_create(
        workspace=portal.workspace, pipeline=repair, title="Newer job", actor=portal.admin,
        customer=portal.customer,
    )  # fmt: skip
    for job in (older, newer):
        as_priya.get(f"/user/jobs/{job.pk}/")  # both seen: no dots
    assert "unread-dot" not in as_priya.get("/user/jobs/").text
    message_add(job=older, body="Parts arrived", visibility="customer", actor=portal.staff)
    message_add(job=newer, body="Internal only", visibility="internal", actor=portal.staff)
    listing = as_priya.get("/user/jobs/").text
    assert listing.count("unread-dot") == 1
    assert listing.index("Older job") < listing.index("Newer job")  # news first
    as_priya.get(f"/user/jobs/{older.pk}/")
    assert "unread-dot" not in as_priya.get("/user/jobs/").text


def test_staff_view_as_customer_is_read_only_filtered_and_logged(
    portal: Cast, priya_job: Job, as_staff: Client
) -> None:
    from jobline.jobs.services import message_add
    from jobline.workspaces.models import AuditLogEntry

    message_add(job=priya_job, body="Visible hello", visibility="customer", actor=portal.staff)
    message_add(job=priya_job, body="Secret margin", visibility="internal", actor=portal.staff)
    page = as_staff.get(f"/jobs/{priya_job.number}/as-customer/").text
    assert "Visible hello" in page and "Secret margin" not in page
    assert "viewing this job as Priya Natarajan sees it" in page
    assert 'action="/user/jobs/' not in page  # no forms to send anything
    entry = AuditLogEntry.objects.get(action="portal.previewed")
    assert (entry.actor, entry.field) == (portal.staff, priya_job.reference)
