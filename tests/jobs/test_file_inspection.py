"""What an upload really is: its size and its sniffed type are checked, its name cleaned, before
anything is stored (jobline/jobs/file_inspection.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobline.jobs.file_inspection import UploadRejected, clean_name, inspect_upload
from jobline.jobs.models import Attachment, Job
from tests.conftest import Cast
from tests.jobs.upload_helpers import (
    DOCX_BYTES,
    ELF_BYTES,
    EXE_BYTES,
    HTML_BYTES,
    MB,
    NUMBERS_BYTES,
    OLD_NUMBERS_BYTES,
    OLE2_BYTES,
    PDF_BYTES,
    REJECTED_TYPE,
    XLSX_BYTES,
    add,
    image_bytes,
    reopen,
    stored_bytes,
    stored_files,
    upload,
    zip_bytes,
)

# --- size ----------------------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused_naming_its_size_and_the_limit(db: None) -> None:
    big = upload("photo.jpg", b"x")
    big.size = int(31.2 * MB)  # the check reads the size before a byte of content
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(big)
    assert refused.value.message == "photo.jpg is 31.2 MB; the limit is 25 MB."
    assert refused.value.reason == UploadRejected.TOO_LARGE


def test_the_limit_comes_from_settings_and_a_file_at_the_limit_is_accepted(
    settings: Any, cast: Cast, job: Job, media: Path
) -> None:
    settings.JOBLINE_MAX_UPLOAD_BYTES = 1000
    assert add(job, cast.admin, "exact.txt", b"a" * 1000).size == 1000
    with pytest.raises(UploadRejected) as refused:
        add(job, cast.admin, "notes.txt", b"a" * 1001)
    assert refused.value.message == "notes.txt is 1001 bytes; the limit is 1000 bytes."
    assert Attachment.objects.count() == 1
    assert len(stored_files(media)) == 1


def test_a_size_just_over_the_limit_never_reads_as_the_limit(settings: Any) -> None:
    settings.JOBLINE_MAX_UPLOAD_BYTES = 25 * MB
    big = upload("plan.pdf", b"x")
    big.size = 25 * MB + 1
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(big)
    assert refused.value.message == "plan.pdf is 25.1 MB; the limit is 25 MB."


def test_an_empty_file_is_refused(db: None) -> None:
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(upload("blank.txt", b""))
    assert refused.value.message == "blank.txt is empty."


# --- real type -----------------------------------------------------------------------------


def test_a_png_named_pdf_is_stored_as_the_png_it_is(cast: Cast, job: Job) -> None:
    attachment = add(job, cast.admin, "scan.pdf", image_bytes("PNG"))
    assert attachment.content_type == "image/png"
    assert attachment.is_image
    # The real extension is appended so the download opens in the right program.
    assert attachment.original_name == "scan.pdf.png"
    assert attachment.file.name.endswith(".png")
    assert reopen(attachment.file).format == "PNG"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("holiday.jpg", ELF_BYTES),
        ("invoice.pdf", EXE_BYTES),
        ("notes.exe", EXE_BYTES),
        ("archive.zip", zip_bytes(["a.txt"])),
        ("report.docx", zip_bytes(["[Content_Types].xml", "other/thing.xml"])),
        ("page.html", HTML_BYTES),
        ("setup.msi", OLE2_BYTES),
        ("photo.jpg", b"\xff\xd8\xff\xe0 this is not really a jpeg"),
    ],
)
def test_files_that_are_not_an_accepted_type_are_refused_whatever_their_name(
    cast: Cast, job: Job, media: Path, name: str, content: bytes
) -> None:
    with pytest.raises(UploadRejected) as refused:
        add(job, cast.admin, name, content)
    assert refused.value.name == name
    assert not Attachment.objects.exists()
    assert not stored_files(media)


def test_the_refusal_names_the_file_and_the_accepted_types(db: None) -> None:
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(upload("notes.exe", EXE_BYTES, browser_says="text/plain"))
    assert refused.value.message == f"notes.exe {REJECTED_TYPE}"
    assert refused.value.reason == UploadRejected.TYPE_NOT_ACCEPTED


def test_a_damaged_image_is_refused_as_unreadable(db: None) -> None:
    damaged = image_bytes("PNG", (64, 64))[:60]
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(upload("broken.png", damaged))
    assert refused.value.reason == UploadRejected.UNREADABLE_IMAGE
    assert refused.value.message.startswith("broken.png could not be read as an image.")


@pytest.mark.parametrize(
    ("name", "content", "content_type", "kept_name"),
    [
        ("quote.pdf", PDF_BYTES, "application/pdf", "quote.pdf"),
        (
            "report.docx",
            DOCX_BYTES,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "report.docx",
        ),
        (
            "costs.xlsx",
            XLSX_BYTES,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "costs.xlsx",
        ),
        ("budget.numbers", NUMBERS_BYTES, "application/vnd.apple.numbers", "budget.numbers"),
        ("old.numbers", OLD_NUMBERS_BYTES, "application/vnd.apple.numbers", "old.numbers"),
        ("letter.doc", OLE2_BYTES, "application/msword", "letter.doc"),
        ("sheet.xls", OLE2_BYTES, "application/vnd.ms-excel", "sheet.xls"),
        ("notes.txt", "Café at 9, bring the ladder.\n".encode(), "text/plain", "notes.txt"),
        ("parts.csv", b"part,qty\nvalve,2\n", "text/csv", "parts.csv"),
        ("README.md", b"# Job notes\n", "text/markdown", "README.md"),
        ("README", b"no extension at all\n", "text/plain", "README"),
        # The content decides; a Word file sent as .zip comes back as .docx.
        (
            "report.zip",
            DOCX_BYTES,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "report.zip.docx",
        ),
    ],
)
def test_documents_are_accepted_by_their_sniffed_type(
    cast: Cast, job: Job, name: str, content: bytes, content_type: str, kept_name: str
) -> None:
    attachment = add(job, cast.admin, name, content)
    assert attachment.content_type == content_type
    assert attachment.original_name == kept_name
    assert not attachment.is_image
    assert not attachment.thumbnail
    # Documents are stored byte for byte.
    assert stored_bytes(attachment.file) == content


def test_html_renamed_txt_is_accepted_as_plain_text_and_never_served_as_html(
    cast: Cast, job: Job
) -> None:
    """Decided: HTML in a .txt is text. It is stored as text/plain and served as a download
    with nosniff (see the view tests), so a browser never renders or runs it."""
    attachment = add(job, cast.admin, "page.txt", HTML_BYTES)
    assert attachment.content_type == "text/plain"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("data.txt", b"abc\x00def"),  # NUL bytes: binary, whatever the name says
        ("latin1.txt", "Crème brûlée".encode("latin-1")),  # not UTF-8
        ("notes.pdf", b"just some words\n"),  # text, but not with a text name
        ("script.sh", b"#!/bin/sh\nrm -rf /\n"),
    ],
)
def test_text_must_be_utf8_without_nul_bytes_and_named_as_text(
    db: None, name: str, content: bytes
) -> None:
    with pytest.raises(UploadRejected):
        inspect_upload(upload(name, content))


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("C:\\Users\\sam\\Desktop\\plan.pdf", "plan.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("evil\r\nSet-Cookie: x=1.txt", "evilSet-Cookie: x=1.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # a right-to-left override disguise
        ("   ", "file"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
    ],
)
def test_names_are_cleaned_of_folders_control_characters_and_excess_length(
    raw: str, clean: str
) -> None:
    assert clean_name(raw) == clean
