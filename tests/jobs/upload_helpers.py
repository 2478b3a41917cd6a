"""Fixture files for the upload tests, made in memory so nothing binary is committed, and the
helpers they share. Their fixtures (media, job, other_job) are in tests/jobs/conftest.py."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pillow_heif
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from jobline.jobs.models import Attachment, Job, Visibility
from jobline.jobs.uploads import attachment_add

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
