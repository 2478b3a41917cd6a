"""What an upload really is, before anything is stored.

For every upload:

1. size: refused above ``settings.JOBLINE_MAX_UPLOAD_BYTES`` before a byte is read;
2. type: sniffed from the content (``filetype`` plus a few checks of our own). The file's
   name and the browser's content type are never trusted: a PNG called ``scan.pdf`` is a PNG;
3. images go through images.py (upright, re-encoded without EXIF, HEIC to JPEG, thumbnail);
4. the name people see is cleaned of folders and control characters; the stored name is
   generated later (uploads.py), never the person's.

Every refusal is an UploadRejected with a message written for the person who chose the file.
"""

from __future__ import annotations

import codecs
import math
import os
import unicodedata
import zipfile
from dataclasses import dataclass, field
from typing import IO

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File

from jobline.jobs import images

MB = 1024 * 1024
SNIFF_BYTES = 8192  # filetype looks at no more than this
# The name people see is kept short enough that the model's 255 characters always hold it,
# even after a real extension is appended (IMG_1234.HEIC → IMG_1234.HEIC.jpg).
MAX_NAME_CHARS = 200
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ACCEPTED_KINDS_TEXT = "images, PDF, Word, Excel, Numbers or plain text"
# HEIF major brands of HEVC-coded images: filetype only knows "heic" (and mif1/msf1 + heic).
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})


class UploadRejected(ValidationError):
    """One file refused, with a message written for the person who chose it."""

    TOO_LARGE = "too_large"
    EMPTY = "empty"
    TYPE_NOT_ACCEPTED = "type_not_accepted"
    UNREADABLE_IMAGE = "unreadable_image"
    TOO_MANY_PIXELS = "too_many_pixels"

    def __init__(self, message: str, *, reason: str, name: str) -> None:
        super().__init__(message, code=reason)
        self.reason = reason
        self.name = name


@dataclass(frozen=True)
class FileKind:
    """A type Jobline accepts. ``extensions[0]`` is the one used on disk and, when the
    person's file name has none of these, appended to the name they download."""

    content_type: str
    extensions: tuple[str, ...]
    is_image: bool = False
    pil_format: str = ""  # the only Pillow decoder allowed to open it
    animated: bool = False  # may hold several frames worth keeping


JPEG = FileKind("image/jpeg", (".jpg", ".jpeg", ".jpe", ".jfif"), True, "JPEG")
PNG = FileKind("image/png", (".png",), True, "PNG")
GIF = FileKind("image/gif", (".gif",), True, "GIF", animated=True)
WEBP = FileKind("image/webp", (".webp",), True, "WEBP", animated=True)
HEIC = FileKind("image/heic", (".heic", ".heif"), True, "HEIF")
PDF = FileKind("application/pdf", (".pdf",))
DOCX = FileKind(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)
)
DOC = FileKind("application/msword", (".doc",))
XLSX = FileKind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",))
XLS = FileKind("application/vnd.ms-excel", (".xls",))
NUMBERS = FileKind("application/vnd.apple.numbers", (".numbers",))
# Plain text is the one type recognised partly by name: it has no signature to sniff.
TEXT_KINDS = {
    ".txt": FileKind("text/plain", (".txt",)),
    ".csv": FileKind("text/csv", (".csv",)),
    ".md": FileKind("text/markdown", (".md",)),
    "": FileKind("text/plain", ("", ".txt")),
}

SNIFFED_IMAGES = {kind.content_type: kind for kind in (JPEG, PNG, GIF, WEBP, HEIC)}
# What images.prepare stores each as (HEIC becomes JPEG).
STORED_IMAGES = {kind.pil_format: kind for kind in (JPEG, PNG, GIF, WEBP)}
ZIP_FAMILY = {"application/zip", DOCX.content_type, XLSX.content_type}


@dataclass
class Inspected:
    """An accepted upload, ready to store: what to write and what to record about it."""

    name: str  # what people see and download
    content_type: str
    size: int  # bytes stored (a re-encoded image differs from the upload)
    is_image: bool
    extension: str  # of the stored file
    content: File
    thumbnail: File | None = None
    thumbnail_extension: str = ""
    _buffers: list[IO[bytes]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Frees re-encoded images; the upload itself belongs to the request."""
        for buffer in self._buffers:
            buffer.close()


def inspect_upload(upload: File) -> Inspected:
    """Check one upload and prepare what will be stored. Raises UploadRejected."""
    name = clean_name(upload.name)
    size = upload.size or 0
    if size == 0:
        raise UploadRejected(f"{name} is empty.", reason=UploadRejected.EMPTY, name=name)
    limit = settings.JOBLINE_MAX_UPLOAD_BYTES
    if size > limit:
        raise UploadRejected(
            f"{name} is {_size_over(size)}; the limit is {_size_text(limit)}.",
            reason=UploadRejected.TOO_LARGE,
            name=name,
        )
    kind = sniff(upload, name)
    if kind is None:
        raise UploadRejected(
            f"{name} is not a file type Jobline accepts: {ACCEPTED_KINDS_TEXT}.",
            reason=UploadRejected.TYPE_NOT_ACCEPTED,
            name=name,
        )
    if kind.is_image:
        return _inspect_image(upload, kind, name)
    _, extension = os.path.splitext(name)
    stored_extension = extension.lower() if extension.lower() in kind.extensions else ""
    return Inspected(
        name=_download_name(name, kind),
        content_type=kind.content_type,
        size=size,
        is_image=False,
        extension=stored_extension or kind.extensions[0] or ".txt",
        content=upload,
    )


def sniff(upload: File, name: str) -> FileKind | None:
    """The accepted kind the content really is, or None. The name only ever narrows the
    choice (legacy Office files, plain text); it never makes a file acceptable on its own."""
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    if _is_heif(head):
        return HEIC
    extension = os.path.splitext(name)[1].lower()
    if head.startswith(OLE2_MAGIC):
        # Old Office files share one container format (OLE2) whose content tells Word from
        # Excel only unreliably; the name decides between the two, and nothing else passes.
        return {".doc": DOC, ".xls": XLS}.get(extension)
    guess = filetype.guess(head)
    if guess is None:
        text_kind = TEXT_KINDS.get(extension)
        return text_kind if text_kind is not None and _is_utf8_text(upload) else None
    if guess.mime in SNIFFED_IMAGES:
        return SNIFFED_IMAGES[guess.mime]
    if guess.mime == PDF.content_type:
        return PDF
    if guess.mime in ZIP_FAMILY:
        # filetype judges Office files by the first few zip entries only; the zip's own
        # directory is the reliable answer, and it is how Numbers files are recognised.
        return _zip_kind(upload)
    return None


def _is_heif(head: bytes) -> bool:
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    major = head[8:12]
    if major in HEIF_BRANDS:
        return True
    box_size = int.from_bytes(head[0:4], "big")
    compatible = {head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
    return major in (b"mif1", b"msf1") and bool(compatible & HEIF_BRANDS)


def _zip_kind(upload: File) -> FileKind | None:
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    finally:
        upload.seek(0)
    if "[Content_Types].xml" in names:
        if "word/document.xml" in names:
            return DOCX
        if "xl/workbook.xml" in names:
            return XLSX
    # Numbers '13 and later: a zip of .iwa archives; older packages carry an Index.zip.
    if "Index/Document.iwa" in names or "Index.zip" in names:
        return NUMBERS
    return None


def _is_utf8_text(upload: File) -> bool:
    """UTF-8 without NUL bytes, decoded chunk by chunk so a big file is never held whole."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk in upload.chunks():
            if b"\x00" in chunk:
                return False
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        upload.seek(0)
    return True


def clean_name(raw: str | None) -> str:
    """The name as people should see it: no folders, no control or direction-override
    characters (which can disguise ``invoice‮fdp.exe`` as ``invoiceexe.pdf``), not too long."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if len(name) > MAX_NAME_CHARS:
        stem, extension = os.path.splitext(name)
        extension = extension[:20]
        name = stem[: MAX_NAME_CHARS - len(extension)].rstrip() + extension
    return name or "file"


def _download_name(name: str, kind: FileKind) -> str:
    """Appends the real extension when the name's does not match what the file is, so the
    downloaded file opens in the right program (``scan.pdf`` that is a PNG → ``scan.pdf.png``)."""
    extension = os.path.splitext(name)[1].lower()
    if extension in kind.extensions:
        return name
    return name + kind.extensions[0]


def _size_text(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.1f}".removesuffix(".0") + " MB"
    if size >= 1024:
        return f"{size / 1024:.1f}".removesuffix(".0") + " KB"
    return f"{size} bytes"


def _size_over(size: int) -> str:
    """A too-large size, rounded up, so a file just over 25 MB reads "25.1 MB", never "25 MB"."""
    for unit, label in ((MB, "MB"), (1024, "KB")):
        if size >= unit:
            return f"{math.ceil(size * 10 / unit) / 10:.1f} {label}"
    return f"{size} bytes"


def _inspect_image(upload: File, kind: FileKind, name: str) -> Inspected:
    try:
        prepared = images.prepare(upload, pil_format=kind.pil_format, animated=kind.animated)
    except images.TooManyPixels as error:
        raise UploadRejected(
            f"{name} has too many pixels for Jobline to process.",
            reason=UploadRejected.TOO_MANY_PIXELS,
            name=name,
        ) from error
    except images.UnreadableImage as error:
        raise UploadRejected(
            f"{name} could not be read as an image. It may be damaged; try saving it again.",
            reason=UploadRejected.UNREADABLE_IMAGE,
            name=name,
        ) from error
    stored_kind = STORED_IMAGES[prepared.pil_format]
    return Inspected(
        name=_download_name(name, stored_kind),
        content_type=stored_kind.content_type,
        size=prepared.size,
        is_image=True,
        extension=stored_kind.extensions[0],
        content=prepared.content,
        thumbnail=prepared.thumbnail,
        thumbnail_extension=prepared.thumbnail_extension,
        _buffers=prepared.buffers,
    )
