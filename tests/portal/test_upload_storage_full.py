"""A customer's upload onto a full or read-only disk (tests/jobs/test_uploads_storage_full.py
has the staff side and the storages)."""

from __future__ import annotations

from django.test import Client

from jobline.jobs.models import Activity, Job
from tests.jobs import test_uploads_storage_full as storage_full
from tests.jobs.upload_helpers import PDF_BYTES, upload

broken_disk = storage_full.broken_disk  # the fixture: a full disk, then a read-only one


def test_a_customer_upload_on_a_broken_disk_is_told_plainly(
    priya_job: Job, as_priya: Client, broken_disk: tuple[int, str]
) -> None:
    status, words = broken_disk
    before = Activity.objects.filter(job=priya_job).count()
    response = as_priya.post(
        f"/user/jobs/{priya_job.pk}/upload/",
        {"files": [upload("receipt.pdf", PDF_BYTES, "application/pdf")]},
    )
    assert response.status_code == status
    assert words in response.text
    storage_full.nothing_changed(priya_job, before)
