"""Serving job files to staff: inline images, downloads, safe names, the workspace's files only
(jobline/jobs/views/files.py)."""

from __future__ import annotations

import io

from django.test import Client
from django.urls import reverse
from PIL import Image

from jobline.jobs.models import Attachment, Job
from tests.conftest import Cast, client_for
from tests.jobs.upload_helpers import (
    HTML_BYTES,
    PDF_BYTES,
    add,
    body,
    image_bytes,
    stored_bytes,
)

# --- views ---------------------------------------------------------------------------------


def download_url(attachment: Attachment) -> str:
    return reverse("job_files:download", args=[attachment.pk])


def thumb_url(attachment: Attachment) -> str:
    return reverse("job_files:thumbnail", args=[attachment.pk])


def test_every_member_can_view_a_photo_inline_with_its_sniffed_type(
    cast: Cast, job: Job, any_member: tuple[str, Client]
) -> None:
    _role, client = any_member
    attachment = add(job, cast.admin, "site visit.png", image_bytes("PNG"), "application/pdf")
    response = client.get(download_url(attachment))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'inline; filename="site visit.png"'
    assert "sandbox" in response["Content-Security-Policy"]
    assert "private" in response["Cache-Control"]
    assert body(response) == stored_bytes(attachment.file)


def test_documents_download_as_attachments(cast: Cast, job: Job, as_staff: Client) -> None:
    attachment = add(job, cast.admin, "quote.pdf", PDF_BYTES)
    response = as_staff.get(download_url(attachment))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="quote.pdf"'
    assert body(response) == PDF_BYTES


def test_html_in_a_text_file_is_served_as_a_plain_text_download(
    cast: Cast, job: Job, as_staff: Client
) -> None:
    attachment = add(job, cast.admin, "page.txt", HTML_BYTES)
    response = as_staff.get(download_url(attachment))
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert body(response) == HTML_BYTES


def test_awkward_names_make_a_safe_content_disposition(
    cast: Cast, job: Job, as_admin: Client
) -> None:
    attachment = add(job, cast.admin, 'Quote "final" \u2013 café.pdf', PDF_BYTES)
    response = as_admin.get(download_url(attachment))
    disposition = response["Content-Disposition"]
    body(response)
    assert disposition == (
        "attachment; filename*=utf-8''Quote%20%22final%22%20%E2%80%93%20caf%C3%A9.pdf"
    )


def test_the_thumbnail_is_served_for_images_and_is_a_404_for_documents(
    cast: Cast, job: Job, as_manager: Client
) -> None:
    photo = add(job, cast.admin, "wall.jpg", image_bytes("JPEG", size=(1000, 500)))
    response = as_manager.get(thumb_url(photo))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'inline; filename="wall (thumbnail).jpg"'
    assert Image.open(io.BytesIO(body(response))).size == (480, 240)
    document = add(job, cast.admin, "quote.pdf", PDF_BYTES)
    assert as_manager.get(thumb_url(document)).status_code == 404


def test_another_workspaces_file_urls_are_404_for_the_outsider(
    cast: Cast, job: Job, as_outsider: Client
) -> None:
    attachment = add(job, cast.admin, "wall.jpg", image_bytes("JPEG"))
    for url in (download_url(attachment), thumb_url(attachment)):
        assert as_outsider.get(url).status_code == 404
        assert as_outsider.post(url).status_code == 404  # not a 405 that confirms the id


def test_the_outsiders_own_files_are_404_for_harbour_staff(
    cast: Cast, other_job: Job, as_admin: Client
) -> None:
    theirs = add(other_job, cast.outsider, "wall.jpg", image_bytes("JPEG"))
    assert as_admin.get(download_url(theirs)).status_code == 404
    assert as_admin.get(thumb_url(theirs)).status_code == 404
    response = client_for(cast.outsider).get(download_url(theirs))
    assert response.status_code == 200  # the control
    body(response)


def test_a_made_up_id_is_a_404(cast: Cast, as_admin: Client) -> None:
    assert as_admin.get(reverse("job_files:download", args=[999999])).status_code == 404


def test_file_urls_take_only_get(cast: Cast, job: Job, as_admin: Client) -> None:
    attachment = add(job, cast.admin, "quote.pdf", PDF_BYTES)
    assert as_admin.post(download_url(attachment)).status_code == 405
    assert as_admin.delete(download_url(attachment)).status_code == 405


def test_file_urls_are_404_while_the_jobs_module_is_off(
    cast: Cast, job: Job, as_admin: Client
) -> None:
    attachment = add(job, cast.admin, "wall.jpg", image_bytes("JPEG"))
    cast.workspace.module_jobs = False
    cast.workspace.save(update_fields=["module_jobs"])
    assert as_admin.get(download_url(attachment)).status_code == 404
    assert as_admin.get(thumb_url(attachment)).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(cast: Cast, job: Job) -> None:
    attachment = add(job, cast.admin, "wall.jpg", image_bytes("JPEG"))
    response = Client().get(download_url(attachment))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_a_file_missing_from_storage_is_a_404_not_a_500(
    cast: Cast, job: Job, as_admin: Client
) -> None:
    attachment = add(job, cast.admin, "quote.pdf", PDF_BYTES)
    attachment.file.storage.delete(attachment.file.name)
    assert as_admin.get(download_url(attachment)).status_code == 404
