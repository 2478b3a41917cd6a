"""Job files and photos: size and real type checked, location stripped, stored under generated
names, logged in the feed, and served only to staff of the job's workspace.

Every fixture file is made here, in memory, so nothing binary is committed.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pillow_heif
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.http import Http404
from django.test import Client
from django.urls import reverse
from PIL import Image

from jobline.jobs import uploads
from jobline.jobs.models import Activity, ActivityKind, ActorKind, Attachment, Job, Visibility
from jobline.jobs.services import job_create, message_add
from jobline.jobs.uploads import (
    UploadRejected,
    attachment_add,
    attachment_for_staff,
    attachment_set_visibility,
    attachments_add,
    clean_name,
    inspect_upload,
)
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.portal import selectors as portal_selectors
from tests.conftest import Cast, client_for, make_user

pillow_heif.register_heif_opener()

MB = 1024 * 1024
GPS_IFD = 0x8825
ORIENTATION = 0x0112
GPS_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="51,30.0N" exif:GPSLongitude="0,7.5W"/></rdf:RDF></x:xmpmeta>'
)
REJECTED_TYPE = (
    "is not a file type Jobline accepts: images, PDF, Word, Excel, Numbers or plain text."
)


# --- fixture files, made on the fly --------------------------------------------------------


def image_bytes(
    fmt: str = "PNG",
    size: tuple[int, int] = (40, 20),
    mode: str = "RGB",
    color: Any = "teal",
    **params: Any,
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format=fmt, **params)
    return buffer.getvalue()


def gps_exif(orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 30.0)}
    exif[0x010F] = "Phone Maker"
    if orientation is not None:
        exif[ORIENTATION] = orientation
    return exif.tobytes()


def zip_bytes(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


DOCX_BYTES = zip_bytes(["[Content_Types].xml", "_rels/.rels", "word/document.xml"])
XLSX_BYTES = zip_bytes(["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml"])
NUMBERS_BYTES = zip_bytes(["Index/Document.iwa", "Metadata/Properties.plist"])
OLD_NUMBERS_BYTES = zip_bytes(["Index.zip", "buildVersionHistory.plist"])
OLE2_BYTES = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024)
PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
ELF_BYTES = b"\x7fELF\x02\x01\x01" + bytes(200)
EXE_BYTES = b"MZ\x90\x00" + bytes(200)
HTML_BYTES = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def upload(name: str, content: bytes, browser_says: str = "application/octet-stream") -> Any:
    """What Django hands a view. The browser's content type is deliberately often wrong."""
    return SimpleUploadedFile(name, content, content_type=browser_says)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    """Nothing a test stores lands in var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def job(cast: Cast) -> Job:
    pipeline = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="repair", actor=cast.admin
    )
    return job_create(
        workspace=cast.workspace,
        pipeline=pipeline,
        title="Boiler service",
        actor=cast.admin,
        customer=cast.customer,
    )


@pytest.fixture
def other_job(cast: Cast) -> Job:
    pipeline = pipeline_create_from_blueprint(
        workspace=cast.other_workspace, blueprint_key="repair", actor=cast.outsider
    )
    return job_create(
        workspace=cast.other_workspace, pipeline=pipeline, title="Leak", actor=cast.outsider
    )


def add(
    job: Job,
    actor: Any,
    name: str,
    content: bytes,
    browser_says: str = "application/octet-stream",
    **kwargs: Any,
) -> Attachment:
    kwargs.setdefault("visibility", Visibility.INTERNAL)
    file = upload(name, content, browser_says)
    return attachment_add(job=job, upload=file, actor=actor, **kwargs)


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def reopen(field: Any) -> Image.Image:
    with field.storage.open(field.name, "rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
        return image


def stored_bytes(field: Any) -> bytes:
    with field.storage.open(field.name, "rb") as handle:
        return handle.read()


def body(response: Any) -> bytes:
    # Reading the stream to the end closes the response the way the test client expects; an
    # extra response.close() would fire request_finished and close PostgreSQL's connection
    # in the middle of the test's transaction.
    return b"".join(response.streaming_content)


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


# --- photos: location, orientation, HEIC, thumbnails ----------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("JPEG", "photo.jpg"), ("PNG", "photo.png"), ("WEBP", "photo.webp"), ("HEIF", "IMG.HEIC")],
)
def test_photos_lose_their_gps_location(cast: Cast, job: Job, fmt: str, name: str) -> None:
    original = image_bytes(fmt, exif=gps_exif())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the control
    attachment = add(job, cast.admin, name, original)
    stored = reopen(attachment.file)
    exif = stored.getexif()
    assert GPS_IFD not in exif
    assert not exif.get_ifd(GPS_IFD)
    assert "exif" not in stored.info
    assert b"Exif\x00\x00" not in stored_bytes(attachment.file)
    assert b"Exif\x00\x00" not in stored_bytes(attachment.thumbnail)


def test_a_jpeg_loses_gps_in_xmp_too(cast: Cast, job: Job) -> None:
    original = image_bytes("JPEG", exif=gps_exif(), xmp=GPS_XMP)
    assert b"GPSLatitude" in original  # the control
    attachment = add(job, cast.admin, "photo.jpg", original)
    assert b"GPSLatitude" not in stored_bytes(attachment.file)
    assert "xmp" not in reopen(attachment.file).info


def test_a_photo_taken_sideways_is_stored_upright(cast: Cast, job: Job) -> None:
    # Orientation 6: the camera was turned; viewers rotate 90° clockwise to show it.
    original = image_bytes("JPEG", size=(40, 20), exif=gps_exif(orientation=6))
    attachment = add(job, cast.admin, "sideways.jpg", original)
    stored = reopen(attachment.file)
    assert stored.size == (20, 40)
    assert ORIENTATION not in stored.getexif()


def test_heic_is_accepted_and_stored_as_jpeg_with_jpg_appended(cast: Cast, job: Job) -> None:
    attachment = add(job, cast.admin, "IMG_0001.HEIC", image_bytes("HEIF", size=(64, 32)))
    assert attachment.content_type == "image/jpeg"
    assert attachment.original_name == "IMG_0001.HEIC.jpg"
    assert attachment.file.name.endswith(".jpg")
    stored = reopen(attachment.file)
    assert (stored.format, stored.size) == ("JPEG", (64, 32))
    assert attachment.thumbnail


def test_a_big_photo_gets_a_480px_jpeg_thumbnail(cast: Cast, job: Job) -> None:
    attachment = add(job, cast.admin, "wall.jpg", image_bytes("JPEG", size=(1200, 800)))
    thumb = reopen(attachment.thumbnail)
    assert (thumb.format, thumb.size) == ("JPEG", (480, 320))
    assert reopen(attachment.file).size == (1200, 800)


def test_a_transparent_image_keeps_transparency_in_a_png_thumbnail(cast: Cast, job: Job) -> None:
    logo = image_bytes("PNG", size=(960, 960), mode="RGBA", color=(255, 0, 0, 0))
    attachment = add(job, cast.admin, "logo.png", logo)
    thumb = reopen(attachment.thumbnail)
    assert (thumb.format, thumb.mode, thumb.size) == ("PNG", "RGBA", (480, 480))
    assert attachment.thumbnail.name.endswith(".png")


def test_a_small_image_is_not_enlarged_for_its_thumbnail(cast: Cast, job: Job) -> None:
    attachment = add(job, cast.admin, "tiny.gif", image_bytes("GIF", size=(100, 50), mode="P"))
    assert reopen(attachment.thumbnail).size == (100, 50)


def test_an_animated_gif_keeps_its_frames(cast: Cast, job: Job) -> None:
    frames = [Image.new("RGB", (30, 30), color) for color in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0
    )
    assert Image.open(io.BytesIO(buffer.getvalue())).n_frames == 3  # the control
    attachment = add(job, cast.admin, "spinner.gif", buffer.getvalue())
    stored = reopen(attachment.file)
    assert (stored.format, stored.n_frames) == ("GIF", 3)


def test_a_decompression_bomb_is_refused(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # The production limit (~89 megapixels) stays; a lower one makes a small bomb.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(upload("huge.png", image_bytes("PNG", size=(40, 20))))
    assert refused.value.reason == UploadRejected.TOO_MANY_PIXELS
    assert refused.value.message == "huge.png has too many pixels for Jobline to process."


def test_an_animation_too_big_across_its_frames_is_refused(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = [Image.new("L", (20, 20), shade) for shade in range(0, 240, 40)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(buffer.getvalue())).n_frames == 6  # the control
    # Each frame (400 px) is under the limit; all six (2,400 px) are not.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(upload("flood.gif", buffer.getvalue()))
    assert refused.value.reason == UploadRejected.TOO_MANY_PIXELS


# --- storage -------------------------------------------------------------------------------


def test_files_are_stored_under_generated_names_never_the_persons(
    cast: Cast, job: Job, media: Path
) -> None:
    attachment = add(job, cast.admin, "Smith kitchen - private.jpg", image_bytes("JPEG"))
    assert attachment.original_name == "Smith kitchen - private.jpg"
    for field in (attachment.file, attachment.thumbnail):
        filename = field.name.rpartition("/")[2]
        assert re.fullmatch(r"[0-9a-f]{32}\.jpg", filename)  # a uuid4 hex
        assert "Smith" not in field.name and "private" not in field.name
    assert attachment.file.name.startswith(attachment.created_at.strftime("jobs/%Y/%m/"))
    assert attachment.thumbnail.name.startswith("jobs/thumbs/")
    assert sorted(p.name for p in stored_files(media)) == sorted(
        Path(f.name).name for f in (attachment.file, attachment.thumbnail)
    )


def test_big_uploads_that_django_spooled_to_disk_are_stored_too(
    cast: Cast, job: Job, media: Path
) -> None:
    """Uploads over FILE_UPLOAD_MAX_MEMORY_SIZE arrive as temporary files, which the storage
    moves rather than copies."""
    for name, content in (("quote.pdf", PDF_BYTES), ("wall.jpg", image_bytes("JPEG"))):
        spooled = TemporaryUploadedFile(name, "application/octet-stream", len(content), None)
        spooled.write(content)
        spooled.seek(0)
        attachment = attachment_add(
            job=job, upload=spooled, visibility=Visibility.INTERNAL, actor=cast.staff
        )
        spooled.close()  # as Django does when the request ends (the file was moved away)
        assert attachment.size == len(stored_bytes(attachment.file))
    assert Attachment.objects.count() == 2
    assert stored_bytes(Attachment.objects.get(original_name="quote.pdf").file) == PDF_BYTES


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


# --- services: all or nothing, the feed ------------------------------------------------------


def test_several_files_at_once_are_all_or_nothing(cast: Cast, job: Job, media: Path) -> None:
    version = Job.objects.get(pk=job.pk).version
    with pytest.raises(UploadRejected) as refused:
        attachments_add(
            job=job,
            uploads=[
                upload("before.jpg", image_bytes("JPEG")),
                upload("virus.jpg", ELF_BYTES),
                upload("after.pdf", PDF_BYTES),
            ],
            visibility=Visibility.CUSTOMER,
            actor=cast.staff,
        )
    assert refused.value.name == "virus.jpg"
    assert not Attachment.objects.exists()
    assert not Activity.objects.filter(kind=ActivityKind.FILE_ADDED).exists()
    assert not stored_files(media)
    assert Job.objects.get(pk=job.pk).version == version


def test_every_refused_file_of_a_batch_is_reported(cast: Cast, job: Job) -> None:
    with pytest.raises(ValidationError) as refused:
        attachments_add(
            job=job,
            uploads=[upload("a.exe", EXE_BYTES), upload("ok.pdf", PDF_BYTES), upload("b.jpg", b"")],
            visibility=Visibility.INTERNAL,
            actor=cast.staff,
        )
    assert [error.name for error in refused.value.error_list] == ["a.exe", "b.jpg"]
    assert refused.value.messages == [f"a.exe {REJECTED_TYPE}", "b.jpg is empty."]


def test_files_already_written_are_deleted_when_the_database_part_fails(
    cast: Cast, job: Job, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_log = uploads.log
    calls = []

    def log_then_fail(**kwargs: Any) -> Activity:
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real_log(**kwargs)

    monkeypatch.setattr(uploads, "log", log_then_fail)
    with pytest.raises(RuntimeError):
        attachments_add(
            job=job,
            uploads=[upload("one.jpg", image_bytes("JPEG")), upload("two.pdf", PDF_BYTES)],
            visibility=Visibility.INTERNAL,
            actor=cast.staff,
        )
    assert len(calls) == 2  # the first file's row and entry were written, then rolled back
    assert not Attachment.objects.exists()
    assert not Activity.objects.filter(kind=ActivityKind.FILE_ADDED).exists()
    assert not stored_files(media)


@pytest.mark.parametrize("visibility", [Visibility.INTERNAL, Visibility.CUSTOMER])
def test_adding_files_logs_one_file_added_entry_each_with_the_files_visibility(
    cast: Cast, job: Job, visibility: Visibility
) -> None:
    version = Job.objects.get(pk=job.pk).version
    added = attachments_add(
        job=job,
        uploads=[upload("site.png", image_bytes("PNG")), upload("quote.pdf", PDF_BYTES)],
        visibility=visibility,
        actor=cast.staff,
    )
    entries = list(Activity.objects.filter(kind=ActivityKind.FILE_ADDED).order_by("id"))
    assert [e.attachment_id for e in entries] == [a.pk for a in added]
    assert {(e.visibility, e.actor_id, e.actor_kind) for e in entries} == {
        (visibility, cast.staff.pk, ActorKind.STAFF)
    }
    assert entries[1].data == {
        "name": "quote.pdf",
        "size": len(PDF_BYTES),
        "content_type": "application/pdf",
        "is_image": False,
    }
    assert entries[0].data["is_image"] is True
    assert {a.visibility for a in added} == {visibility}
    # One change, one version: the batch bumps the job once.
    assert Job.objects.get(pk=job.pk).version == version + 1
    assert job.version == version + 1


def test_a_customers_upload_is_logged_as_theirs_and_always_visible(cast: Cast, job: Job) -> None:
    portal_user = make_user("priya@example.com", "Priya Natarajan")
    attachment = add(
        job,
        portal_user,
        "leak.jpg",
        image_bytes("JPEG"),
        visibility=Visibility.CUSTOMER,
        actor_kind=ActorKind.CUSTOMER,
    )
    entry = Activity.objects.get(attachment=attachment)
    assert (attachment.uploader_kind, entry.actor_kind) == (ActorKind.CUSTOMER, ActorKind.CUSTOMER)
    with pytest.raises(ValidationError):
        add(
            job,
            portal_user,
            "hidden.jpg",
            image_bytes("JPEG"),
            visibility=Visibility.INTERNAL,
            actor_kind=ActorKind.CUSTOMER,
        )


def test_files_can_belong_to_a_reply_of_the_same_job_only(
    cast: Cast, job: Job, other_job: Job
) -> None:
    reply = message_add(
        job=job, body="Photos of the new valve.", visibility=Visibility.CUSTOMER, actor=cast.staff
    )
    attachment = add(job, cast.staff, "valve.jpg", image_bytes("JPEG"), message=reply)
    assert Activity.objects.get(attachment=attachment).message_id == reply.pk
    with pytest.raises(ValidationError):
        add(other_job, cast.outsider, "valve.jpg", image_bytes("JPEG"), message=reply)


def test_an_unknown_visibility_is_refused(cast: Cast, job: Job) -> None:
    with pytest.raises(ValidationError):
        add(job, cast.admin, "a.pdf", PDF_BYTES, visibility="public")


def test_sharing_a_file_is_a_customer_visible_entry_with_old_and_new(cast: Cast, job: Job) -> None:
    attachment = add(job, cast.admin, "quote.pdf", PDF_BYTES)
    version = Job.objects.get(pk=job.pk).version
    attachment_set_visibility(
        attachment=attachment, visibility=Visibility.CUSTOMER, actor=cast.manager
    )
    entry = Activity.objects.get(kind=ActivityKind.FILE_VISIBILITY_CHANGED)
    assert entry.visibility == Visibility.CUSTOMER
    assert entry.attachment_id == attachment.pk
    assert entry.actor_id == cast.manager.pk
    assert entry.data == {"name": "quote.pdf", "old": "internal", "new": "customer"}
    assert Attachment.objects.get(pk=attachment.pk).visibility == Visibility.CUSTOMER
    assert Job.objects.get(pk=job.pk).version == version + 1


def test_hiding_a_file_is_an_internal_entry_that_leaves_the_customer_no_trace(
    cast: Cast, job: Job
) -> None:
    attachment = add(job, cast.admin, "quote.pdf", PDF_BYTES, visibility=Visibility.CUSTOMER)
    attachment_set_visibility(
        attachment=attachment, visibility=Visibility.INTERNAL, actor=cast.admin
    )
    entry = Activity.objects.get(kind=ActivityKind.FILE_VISIBILITY_CHANGED)
    assert entry.visibility == Visibility.INTERNAL
    assert entry.data == {"name": "quote.pdf", "old": "customer", "new": "internal"}


def test_setting_the_visibility_a_file_already_has_logs_nothing(cast: Cast, job: Job) -> None:
    attachment = add(job, cast.admin, "quote.pdf", PDF_BYTES)
    version = Job.objects.get(pk=job.pk).version
    attachment_set_visibility(
        attachment=attachment, visibility=Visibility.INTERNAL, actor=cast.admin
    )
    assert not Activity.objects.filter(kind=ActivityKind.FILE_VISIBILITY_CHANGED).exists()
    assert Job.objects.get(pk=job.pk).version == version


# --- selectors -----------------------------------------------------------------------------


def test_another_workspaces_attachment_is_a_404_for_staff(
    cast: Cast, job: Job, other_job: Job
) -> None:
    mine = add(job, cast.admin, "quote.pdf", PDF_BYTES)
    theirs = add(other_job, cast.outsider, "quote.pdf", PDF_BYTES)
    assert attachment_for_staff(workspace=cast.workspace, attachment_id=mine.pk) == mine
    with pytest.raises(Http404):
        attachment_for_staff(workspace=cast.workspace, attachment_id=theirs.pk)
    with pytest.raises(Http404):
        attachment_for_staff(workspace=cast.other_workspace, attachment_id=mine.pk)


def test_staff_see_every_file_the_customer_only_shared_ones_others_none(
    cast: Cast, job: Job
) -> None:
    internal = add(job, cast.admin, "margin.xlsx", XLSX_BYTES)
    shared = add(job, cast.admin, "quote.pdf", PDF_BYTES, visibility=Visibility.CUSTOMER)
    note = message_add(
        job=job, body="Internal only", visibility=Visibility.INTERNAL, actor=cast.staff
    )
    on_internal_message = add(
        job, cast.admin, "x.pdf", PDF_BYTES, visibility=Visibility.CUSTOMER, message=note
    )
    portal_user = make_user("priya@example.com", "Priya Natarajan")
    cast.customer.portal_user = portal_user
    cast.customer.save(update_fields=["portal_user"])
    job.refresh_from_db()

    cast.workspace.portal_enabled = True
    cast.workspace.save(update_fields=["portal_enabled"])

    # Staff reach every file of their workspace; the outsider's workspace reaches none.
    for each in (internal, shared, on_internal_message):
        assert attachment_for_staff(workspace=cast.workspace, attachment_id=each.pk) == each
        with pytest.raises(Http404):
            attachment_for_staff(workspace=cast.other_workspace, attachment_id=each.pk)
    # The customer: shared files only, never one on an internal message (the portal's
    # selectors are the one place that decides this).
    assert list(portal_selectors.customer_files(job=job)) == [shared]
    assert portal_selectors.customer_file(user=portal_user, attachment_id=shared.pk) == shared
    for hidden in (internal, on_internal_message):
        with pytest.raises(Http404):
            portal_selectors.customer_file(user=portal_user, attachment_id=hidden.pk)
    other_customer_user = make_user("tom@example.com", "Tom Whitfield")
    cast.second_customer.portal_user = other_customer_user
    cast.second_customer.save(update_fields=["portal_user"])
    with pytest.raises(Http404):
        portal_selectors.customer_file(user=other_customer_user, attachment_id=shared.pk)


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
