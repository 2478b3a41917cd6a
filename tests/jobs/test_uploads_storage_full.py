"""A full or read-only upload folder: a clear message next to the upload (507 or 503, never a
500), no partial or empty file left on disk, the job and its feed untouched."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.test import Client

from jobline.jobs.models import Activity, Attachment, Job, Message
from tests.jobs.upload_helpers import PDF_BYTES, image_bytes, upload


class FullDisk(FileSystemStorage):
    """Writes the first chunk of a file, then the disk is full (ENOSPC), as on a real disk:
    the partial file is on disk when the error comes."""

    def _save(self, name: str, content: Any) -> str:
        path = Path(self.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as partial:
            partial.write(next(iter(content.chunks())))
        raise OSError(errno.ENOSPC, "No space left on device")


class ReadOnlyDisk(FileSystemStorage):
    def _save(self, name: str, content: Any) -> str:
        raise OSError(errno.EROFS, "Read-only file system")


@pytest.fixture(params=[(FullDisk, 507, "run out of space"), (ReadOnlyDisk, 503, "cannot store")])
def broken_disk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    storage_class, status, words = request.param
    field = Attachment._meta.get_field("file")
    monkeypatch.setattr(field, "storage", storage_class(location=settings.MEDIA_ROOT))
    return status, words


def files_on_disk() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def nothing_changed(job_: Job, entries_before: int) -> None:
    assert files_on_disk() == []
    assert not Attachment.objects.filter(job=job_).exists()
    assert Activity.objects.filter(job=job_).count() == entries_before


def test_staff_files_on_a_broken_disk_get_a_message_next_to_the_upload(
    job: Job, as_admin: Client, broken_disk: tuple[int, str]
) -> None:
    status, words = broken_disk
    before = Activity.objects.filter(job=job).count()
    big = upload("quote.pdf", PDF_BYTES + b"%" * (1024 * 1024), "application/pdf")
    response = as_admin.post(
        f"/jobs/{job.number}/files/", {"files": [big], "visibility": "internal"}
    )
    assert response.status_code == status
    assert words in response.text and "Nothing was saved" in response.text
    assert "quote.pdf" in response.text
    nothing_changed(job, before)


class FillsUp(FullDisk):
    """Room for one file: the photo is stored, its thumbnail fills the disk."""

    saved = 0

    def _save(self, name: str, content: Any) -> str:
        if self.saved == 0:
            self.saved += 1
            return FileSystemStorage._save(self, name, content)
        return super()._save(name, content)


def test_a_photo_whose_thumbnail_fills_the_disk_leaves_nothing_behind(
    job: Job, as_admin: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    field = Attachment._meta.get_field("file")
    monkeypatch.setattr(field, "storage", FillsUp(location=settings.MEDIA_ROOT))
    status = 507
    before = Activity.objects.filter(job=job).count()
    photo = upload("kitchen.jpg", image_bytes("JPEG", size=(1600, 1200)), "image/jpeg")
    response = as_admin.post(
        f"/jobs/{job.number}/messages/",
        {
            "body": "Before photos",
            "visibility": "internal",
            "version": job.version,
            "files": [photo],
        },
    )
    assert response.status_code == status
    assert "Before photos" in response.text  # what was typed stays
    nothing_changed(job, before)
    assert not Message.objects.filter(job=job).exists()
