"""Files on the job page: the composer's attachments, uploads onto the job, sharing."""

from __future__ import annotations

import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from jobline.jobs.models import Activity, ActivityKind, Attachment, Job, Message, Visibility


def photo(name: str = "site.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def test_reply_with_photos_attaches_them_visible_to_the_customer(
    job: Job, as_staff: Client
) -> None:
    response = as_staff.post(
        f"/jobs/{job.number}/messages/",
        {"body": "Here is the damage", "visibility": "customer", "version": job.version,
         "files": [photo("a.jpg"), photo("b.jpg")]},
    )  # fmt: skip
    assert response.status_code == 302
    message = Message.objects.get(job=job)
    files = list(Attachment.objects.filter(job=job).order_by("original_name"))
    assert [f.original_name for f in files] == ["a.jpg", "b.jpg"]
    assert all(f.message == message and f.visibility == Visibility.CUSTOMER for f in files)
    assert all(f.is_image and f.thumbnail for f in files)


def test_htmx_upload_answers_with_the_fresh_page(job: Job, as_staff: Client) -> None:
    response = as_staff.post(
        f"/jobs/{job.number}/files/",
        {"visibility": "internal", "files": [photo("fresh.jpg")]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'alt="fresh.jpg"' in response.text
    assert "1 file added." in response.text


def test_a_refused_file_saves_nothing_and_says_why_next_to_the_field(
    job: Job, as_staff: Client, settings: Any
) -> None:
    settings.JOBLINE_MAX_UPLOAD_BYTES = 100
    response = as_staff.post(
        f"/jobs/{job.number}/messages/",
        {"body": "With a big file", "visibility": "internal", "version": job.version,
         "files": [photo("huge.jpg")]},
    )  # fmt: skip
    assert response.status_code == 400
    errors = response.context["composer"].errors["files"]
    assert "huge.jpg" in errors[0] and "limit" in errors[0]
    assert "With a big file" in response.text  # input kept
    assert not Message.objects.exists()  # nothing half-saved
    assert not Attachment.objects.exists()


def test_a_disallowed_type_is_refused_from_its_content(job: Job, as_staff: Client) -> None:
    fake = SimpleUploadedFile("invoice.pdf", b"\x7fELF\x02\x01\x01" + b"\0" * 200)
    response = as_staff.post(
        f"/jobs/{job.number}/files/", {"visibility": "internal", "files": [fake]}
    )
    assert response.status_code == 400
    assert "invoice.pdf" in response.context["file_form"].errors["files"][0]
    assert not Attachment.objects.exists()


def test_sharing_and_hiding_a_file_is_logged(job: Job, as_staff: Client) -> None:
    as_staff.post(f"/jobs/{job.number}/files/", {"visibility": "internal", "files": [photo()]})
    attachment = Attachment.objects.get(job=job)
    url = f"/jobs/{job.number}/files/{attachment.pk}/visibility/"
    assert as_staff.post(url, {"visibility": "customer"}).status_code == 302
    attachment.refresh_from_db()
    assert attachment.visibility == Visibility.CUSTOMER
    entry = Activity.objects.filter(kind=ActivityKind.FILE_VISIBILITY_CHANGED).get()
    assert (entry.data["old"], entry.data["new"]) == ("internal", "customer")
    page = as_staff.get(f"/jobs/{job.number}/").text
    assert f'src="/jobs/files/{attachment.pk}/thumb/"' in page


def test_a_file_of_another_job_cannot_be_shared_through_this_one(
    cast: Any, job: Job, repair: Any, as_staff: Client
) -> None:
    from jobline.jobs.services import job_create
    from jobline.jobs.uploads import attachment_add

    other = job_create(workspace=cast.workspace, pipeline=repair, title="Other", actor=cast.admin)
    attachment = attachment_add(job=other, upload=photo(), visibility="internal", actor=cast.admin)
    response = as_staff.post(
        f"/jobs/{job.number}/files/{attachment.pk}/visibility/", {"visibility": "customer"}
    )
    assert response.status_code == 404
    attachment.refresh_from_db()
    assert attachment.visibility == Visibility.INTERNAL


def test_a_stage_form_file_field_stores_photos_and_lists_them(cast: Any, as_staff: Client) -> None:
    from jobline.jobs.models import FieldValue
    from jobline.jobs.services import job_create
    from jobline.pipelines.services import pipeline_create_from_blueprint

    renovation = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="renovation", actor=cast.admin
    )
    snag = renovation.stages.get(name="Snag list")
    job = job_create(
        workspace=cast.workspace, pipeline=renovation, stage=snag, title="Bathroom",
        actor=cast.admin,
    )  # fmt: skip
    photos = snag.fields.get(label="Photos")
    url = f"/jobs/{job.number}/forms/{snag.pk}/"
    response = as_staff.post(
        url, {"version": job.version, f"s{snag.pk}-f_{photos.pk}": [photo("snag1.jpg")]}
    )
    assert response.status_code == 302
    job.refresh_from_db()
    as_staff.post(url, {"version": job.version, f"s{snag.pk}-f_{photos.pk}": [photo("snag2.jpg")]})
    value = FieldValue.objects.get(job=job, field=photos).value
    assert [item["name"] for item in value] == ["snag1.jpg", "snag2.jpg"]
    stored = Attachment.objects.filter(job=job).order_by("pk")
    assert [a.visibility for a in stored] == [Visibility.CUSTOMER, Visibility.CUSTOMER]
    last = Activity.objects.filter(job=job, kind=ActivityKind.FORM_SAVED).latest("id")
    change = last.payload.changes[0]
    assert [f.name for f in change.old_files] == ["snag1.jpg"]
    assert [f.name for f in change.new_files] == ["snag1.jpg", "snag2.jpg"]


def test_a_refused_stage_form_file_is_reported_on_its_field(
    cast: Any, as_staff: Client, settings: Any
) -> None:
    from jobline.jobs.models import FieldValue
    from jobline.jobs.services import job_create
    from jobline.pipelines.services import pipeline_create_from_blueprint

    settings.JOBLINE_MAX_UPLOAD_BYTES = 100
    renovation = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="renovation", actor=cast.admin
    )
    snag = renovation.stages.get(name="Snag list")
    job = job_create(
        workspace=cast.workspace, pipeline=renovation, stage=snag, title="Bath", actor=cast.admin
    )
    items, photos = snag.fields.get(label="Items"), snag.fields.get(label="Photos")
    response = as_staff.post(
        f"/jobs/{job.number}/forms/{snag.pk}/",
        {"version": job.version, f"s{snag.pk}-f_{items.pk}": "Grout gap by the bath",
         f"s{snag.pk}-f_{photos.pk}": [photo("big.jpg")]},
    )  # fmt: skip
    assert response.status_code == 400
    assert "Grout gap by the bath" in response.text
    assert "big.jpg" in response.text and "limit" in response.text
    assert not FieldValue.objects.filter(job=job).exists()
    assert not Attachment.objects.exists()
