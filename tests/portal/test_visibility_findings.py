"""Leaks found by reading the code and probing the demo (issue 9, part 1). Each test drives the
product the way staff and the customer do, and reads what the customer is shown.

The repair pipeline: Drop-off ("Received") → Diagnosis ("Being checked") → Quote → Approval →
Awaiting parts (internal) → Fix → Ready for pickup → Collected.
"""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from jobline.jobs.models import Attachment, Job
from jobline.jobs.services import form_save, job_move
from jobline.pipelines.models import FieldType, Pipeline, Stage, StageField
from jobline.pipelines.services import field_create
from tests.conftest import Cast, client_for


def stage(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name, deleted_at__isnull=True)


def move(job: Job, pipeline: Pipeline, name: str, cast: Cast) -> None:
    job_move(
        job=job,
        stage=stage(pipeline, name),
        actor=cast.admin,
        expected_version=None,
        enforce_required=False,
    )


def portal_page(client: Client, job: Job) -> str:
    response = client.get(f"/user/jobs/{job.pk}/")
    assert response.status_code == 200, response.status_code
    return response.text


def jpeg(name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "orange").save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def version_of(job: Job) -> int:
    return Job.objects.values_list("version", flat=True).get(pk=job.pk)


# --- an internal file's name through a file field --------------------------------------------


@pytest.fixture
def photo_field(portal: Cast, repair: Pipeline) -> StageField:
    """A customer-visible file field on the first (customer-visible) stage."""
    return field_create(
        stage=stage(repair, "Drop-off"),
        actor=portal.admin,
        label="Condition photos",
        field_type=FieldType.FILE,
        visible_to_customer=True,
    )


def upload_into_field(
    client: Client, job: Job, field: StageField, name: str, *, htmx: bool = False
) -> None:
    prefix = f"s{field.stage_id}"
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.post(
        f"/jobs/{job.number}/forms/{field.stage_id}/",
        {"version": version_of(job), f"{prefix}-f_{field.pk}": [jpeg(name)]},
        **headers,
    )
    assert response.status_code in (200, 302), response.status_code


def test_a_file_in_a_visible_field_made_internal_loses_its_name_in_the_portal(
    portal: Cast, priya_job: Job, photo_field: StageField, as_priya: Client
) -> None:
    as_admin = client_for(portal.admin)
    upload_into_field(as_admin, priya_job, photo_field, "scratch-on-lid.jpg")
    attachment = Attachment.objects.get(job=priya_job)
    assert "scratch-on-lid.jpg" in portal_page(as_priya, priya_job)  # shared: shown

    response = as_admin.post(
        f"/jobs/{priya_job.number}/files/{attachment.pk}/visibility/", {"visibility": "internal"}
    )
    assert response.status_code == 302
    page = portal_page(as_priya, priya_job)
    assert "scratch-on-lid.jpg" not in page  # not in Details, not in the feed line
    assert as_priya.get(f"/user/files/{attachment.pk}/").status_code == 404


def test_a_file_uploaded_through_htmx_into_a_visible_field_follows_the_same_rule(
    portal: Cast, priya_job: Job, photo_field: StageField, as_priya: Client
) -> None:
    as_admin = client_for(portal.admin)
    upload_into_field(as_admin, priya_job, photo_field, "inside-casing.jpg", htmx=True)
    attachment = Attachment.objects.get(job=priya_job)
    as_admin.post(
        f"/jobs/{priya_job.number}/files/{attachment.pk}/visibility/",
        {"visibility": "internal"},
        follow=True,  # reads the staff toast ("… is now internal") on the job page
    )
    preview = as_admin.get(f"/jobs/{priya_job.number}/as-customer/")
    assert preview.status_code == 200
    assert "inside-casing.jpg" not in preview.text
    assert "inside-casing.jpg" not in portal_page(as_priya, priya_job)


# --- money and the "View as customer" preview ---------------------------------------------


def test_staff_never_see_amounts_in_the_customer_preview(
    portal: Cast, repair: Pipeline, priya_job: Job
) -> None:
    quote = stage(repair, "Quote")
    price = quote.fields.get(label="Repair price")
    move(priya_job, repair, "Quote", portal)
    form_save(
        job=priya_job, stage=quote, values={price.pk: "149.99"}, actor=portal.admin,
        expected_version=None,
    )  # fmt: skip
    admin_preview = client_for(portal.admin).get(f"/jobs/{priya_job.number}/as-customer/")
    assert admin_preview.status_code == 200 and "149.99" in admin_preview.text
    staff_preview = client_for(portal.staff).get(f"/jobs/{priya_job.number}/as-customer/")
    assert staff_preview.status_code == 200
    assert "149.99" not in staff_preview.text


# --- the skipped-stage trace -----------------------------------------------------------------


def test_a_move_into_an_internal_stage_leaves_no_trace_in_the_customers_details(
    portal: Cast, repair: Pipeline, priya_job: Job, as_priya: Client
) -> None:
    before = portal_page(as_priya, priya_job)
    assert "Received" in before
    assert "Device model" not in before and "Repair price" not in before

    move(priya_job, repair, "Awaiting parts", portal)  # Drop-off straight into an internal stage
    after = portal_page(as_priya, priya_job)
    assert "Received" in after  # the status still reads the last visible stage…
    # …and nothing of the visible stages in between (Diagnosis, Quote) appears either.
    assert "Device model" not in after
    assert "Fault found" not in after
    assert "Repair price" not in after


def test_once_the_job_visibly_reaches_a_stage_its_fields_appear(
    portal: Cast, repair: Pipeline, priya_job: Job, as_priya: Client
) -> None:
    move(priya_job, repair, "Awaiting parts", portal)
    move(priya_job, repair, "Fix", portal)  # visible again: "Being repaired", after Quote
    page = portal_page(as_priya, priya_job)
    assert "Being repaired" in page
    assert "Device model" in page and "Repair price" in page


# --- fields on an internal stage -------------------------------------------------------------


@pytest.fixture
def internal_stage_field(portal: Cast, repair: Pipeline) -> StageField:
    """A field flagged customer-visible on the internal Awaiting parts stage."""
    return field_create(
        stage=stage(repair, "Awaiting parts"),
        actor=portal.admin,
        label="Expected part arrival",
        field_type=FieldType.TEXT,
        visible_to_customer=True,
    )


def test_a_visible_field_on_an_internal_stage_never_reaches_the_customer(
    portal: Cast, repair: Pipeline, priya_job: Job, internal_stage_field: StageField,
    as_priya: Client,
) -> None:  # fmt: skip
    move(priya_job, repair, "Awaiting parts", portal)
    form_save(
        job=priya_job,
        stage=internal_stage_field.stage,
        values={internal_stage_field.pk: "Tuesday via Parcelforce"},
        actor=portal.admin,
        expected_version=None,
    )
    move(priya_job, repair, "Fix", portal)  # the customer's status is past the stage now
    page = portal_page(as_priya, priya_job)
    assert "Expected part arrival" not in page
    assert "Tuesday via Parcelforce" not in page


def test_the_pipeline_editor_says_fields_of_an_internal_stage_are_internal(
    portal: Cast, internal_stage_field: StageField
) -> None:
    stage_page = f"/jobs/pipelines/stages/{internal_stage_field.stage_id}/"
    response = client_for(portal.admin).get(stage_page)
    assert response.status_code == 200
    assert "Internal (stage is internal)" in response.text
