"""Document requests: staff ask, the customer uploads into the request, it shows as done, a
second upload is refused, and staff can reopen it with a reason."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from jobline.jobs.models import Activity, ActivityKind, Attachment, DocumentRequest, Job
from tests.conftest import Cast


def scan(name: str = "passport.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), "white").save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue())


def test_the_whole_round_trip(
    portal: Cast, priya_job: Job, as_staff: Client, as_priya: Client
) -> None:
    response = as_staff.post(
        f"/jobs/{priya_job.number}/requests/",
        {"title": "Photo ID", "description": "Passport or driving licence"},
    )
    assert response.status_code == 302
    request = DocumentRequest.objects.get(job=priya_job)
    page = as_priya.get(f"/user/jobs/{priya_job.pk}/").text
    assert "Asked of you" in page and "Photo ID" in page and "To do" in page

    url = f"/user/jobs/{priya_job.pk}/requests/{request.pk}/"
    assert as_priya.post(url, {"files": [scan()]}).status_code == 302
    request.refresh_from_db()
    assert not request.is_open
    attachment = Attachment.objects.get(document_request=request)
    assert attachment.uploader_kind == "customer" and attachment.visibility == "customer"
    assert "Done" in as_priya.get(f"/user/jobs/{priya_job.pk}/").text

    second = as_priya.post(url, {"files": [scan("again.jpg")]})
    assert second.status_code == 400
    assert "already done" in second.text
    assert Attachment.objects.filter(document_request=request).count() == 1

    as_staff.post(
        f"/jobs/{priya_job.number}/requests/{request.pk}/reopen/", {"reason": "It is blurred"}
    )
    request.refresh_from_db()
    assert request.is_open
    assert "It is blurred" in as_priya.get(f"/user/jobs/{priya_job.pk}/").text
    kinds = list(
        Activity.objects.filter(job=priya_job, kind__startswith="request_")
        .order_by("id")
        .values_list("kind", "visibility")
    )
    assert kinds == [
        (ActivityKind.REQUEST_CREATED, "customer"),
        (ActivityKind.REQUEST_FULFILLED, "customer"),
        (ActivityKind.REQUEST_REOPENED, "customer"),
    ]


def test_bad_input_is_refused_with_messages(
    portal: Cast, priya_job: Job, as_staff: Client, as_priya: Client
) -> None:
    response = as_staff.post(f"/jobs/{priya_job.number}/requests/", {"title": " "})
    assert response.status_code == 400
    assert "title" in response.context["request_form"].errors
    request = DocumentRequest.objects.create(job=priya_job, title="Signed form")
    empty = as_priya.post(f"/user/jobs/{priya_job.pk}/requests/{request.pk}/", {})
    assert empty.status_code == 400 and "Choose the file" in empty.text


def test_another_customer_cannot_upload_into_the_request(
    portal: Cast, priya_job: Job, tom_job: Job, as_tom: Client
) -> None:
    request = DocumentRequest.objects.create(job=priya_job, title="Photo ID")
    for job in (priya_job, tom_job):
        response = as_tom.post(f"/user/jobs/{job.pk}/requests/{request.pk}/", {"files": [scan()]})
        assert response.status_code == 404
    assert not Attachment.objects.exists()
