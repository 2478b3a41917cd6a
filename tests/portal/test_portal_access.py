"""Who reaches which portal page: the job's customer only; everyone else gets a 404 or the
sign-in page; with the portal, its Jobs toggle or the Jobs module off, a 404."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from jobline.jobs.models import Job
from jobline.jobs.uploads import attachment_add
from tests.conftest import Cast, client_for

JOB_PAGES = ["/user/jobs/{job}/"]
JOB_POSTS = ["/user/jobs/{job}/reply/", "/user/jobs/{job}/upload/", "/user/jobs/{job}/details/"]


def shared_file(job: Job, cast: Cast) -> int:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, format="PNG")
    upload = SimpleUploadedFile("shared.png", buffer.getvalue())
    return attachment_add(job=job, upload=upload, visibility="customer", actor=cast.admin).pk


def test_the_customer_reaches_their_job_and_file(
    portal: Cast, priya_job: Job, as_priya: Client
) -> None:
    listing = as_priya.get("/user/jobs/")
    assert "Priya&#39;s phone" in listing.text
    assert "Tom" not in listing.text
    assert as_priya.get(f"/user/jobs/{priya_job.pk}/").status_code == 200
    file_id = shared_file(priya_job, portal)
    assert as_priya.get(f"/user/files/{file_id}/").status_code == 200


@pytest.mark.parametrize("who", ["second_customer", "outsider", "staff"])
def test_others_get_404(who: str, portal: Cast, priya_job: Job) -> None:
    user = portal.second_customer.portal_user if who == "second_customer" else getattr(portal, who)
    client = client_for(user)
    file_id = shared_file(priya_job, portal)
    for url in [*JOB_PAGES, f"/user/files/{file_id}/"]:
        assert client.get(url.format(job=priya_job.pk)).status_code == 404, url
    for url in JOB_POSTS:
        assert client.post(url.format(job=priya_job.pk), {"body": "x"}).status_code == 404, url
    assert "Priya" not in client.get("/user/jobs/").text


def test_anonymous_visitors_are_sent_to_sign_in(portal: Cast, priya_job: Job) -> None:
    for url in ["/user/jobs/", f"/user/jobs/{priya_job.pk}/", "/user/account/"]:
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/user/sign-in/?next=")


@pytest.mark.parametrize("switch", ["portal_enabled", "portal_jobs", "module_jobs"])
def test_with_the_portal_or_jobs_off_the_job_is_a_404(
    switch: str, portal: Cast, priya_job: Job, as_priya: Client
) -> None:
    setattr(portal.workspace, switch, False)
    portal.workspace.save()
    assert as_priya.get(f"/user/jobs/{priya_job.pk}/").status_code == 404
    listing = as_priya.get("/user/jobs/")
    assert listing.status_code == 200
    assert "Priya&#39;s phone" not in listing.text and "Priya's phone" not in listing.text


def test_a_customer_never_reaches_a_staff_page(
    portal: Cast, priya_job: Job, as_priya: Client
) -> None:
    # (Creating a business of their own stays open to them: /workspaces/new/, see
    # tests/workspaces for that rule.)
    for url in ["/dashboard/", "/jobs/", f"/jobs/{priya_job.number}/", "/customers/"]:
        response = as_priya.get(url)
        assert response.status_code == 302 and response["Location"] == "/user/jobs/", url
    assert as_priya.get("/settings/").status_code in (302, 403, 404)
