"""Job files and photos: checked, cleaned, stored under generated names, logged in the feed.

The pipeline, for every upload:

1. size: refused above ``settings.JOBLINE_MAX_UPLOAD_BYTES`` before a byte is read;
2. type: sniffed from the content (``filetype`` plus a few checks of our own). The file's
   name and the browser's content type are never trusted: a PNG called ``scan.pdf`` is a PNG;
3. images are decoded with Pillow, turned upright (EXIF orientation) and re-encoded with no
   EXIF or XMP at all, so a photo never carries its GPS position; HEIC becomes JPEG because
   browsers cannot show HEIC; every image gets a thumbnail (at most 480 px);
4. storage: through the FileField's storage under a random name (``jobs/2025/06/<hex>.jpg``),
   never the person's file name;
5. the Attachment row and its ``file_added`` feed entry are written in one transaction.

Several files at once are all or nothing: every file is inspected before any is stored, and
files already written are deleted again if the database part fails.
"""

from __future__ import annotations

import codecs
import logging
import math
import os
import tempfile
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any
from uuid import uuid4

import filetype
import pillow_heif
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import Storage
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from PIL import Image, ImageOps

from jobline.accounts.models import User
from jobline.jobs.models import (
    ActivityKind,
    ActorKind,
    Attachment,
    DocumentRequest,
    Job,
    Message,
    Visibility,
)
from jobline.jobs.services import _lock, _touch, log
from jobline.workspaces.models import Workspace

logger = logging.getLogger(__name__)

# Registering is idempotent; doing it at import means any process that can store an upload
# (web, worker, shell) can also read HEIC.
pillow_heif.register_heif_opener()

MB = 1024 * 1024
THUMBNAIL_MAX_PX = 480
SNIFF_BYTES = 8192  # filetype looks at no more than this
# Re-encoded images stay in memory up to this size, then spill to a temporary file, so a
# batch of large photos does not have to fit in RAM at once.
SPOOL_MAX_BYTES = 2 * MB
# The name people see is kept short enough that the model's 255 characters always hold it,
# even after a real extension is appended (IMG_1234.HEIC → IMG_1234.HEIC.jpg).
MAX_NAME_CHARS = 200
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ACCEPTED_KINDS_TEXT = "images, PDF, Word, Excel, Numbers or plain text"
# Metadata that describes how to draw the pixels, not where or by whom they were taken.
# Everything else (exif, xmp, comments, text chunks) is dropped before re-encoding.
PIXEL_INFO_KEYS = frozenset(
    {"icc_profile", "transparency", "duration", "loop", "background", "disposal", "blend"}
)
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


# --- inspection --------------------------------------------------------------------------


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
        return _prepare_image(upload, kind, name)
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


# --- images ------------------------------------------------------------------------------


def _prepare_image(upload: File, kind: FileKind, name: str) -> Inspected:
    upload.seek(0)
    buffers: list[IO[bytes]] = []
    try:
        # Only the sniffed format's decoder may open it: a file cannot be smuggled to a
        # different (less hardened) Pillow plugin.
        with Image.open(upload, formats=[kind.pil_format]) as image:
            frames = getattr(image, "n_frames", 1) if kind.animated else 1
            # Pillow's own bomb check is per frame; an animation multiplies the work.
            if image.width * image.height * frames > (Image.MAX_IMAGE_PIXELS or math.inf):
                raise Image.DecompressionBombError("too many pixels across frames")
            image.load()
            if frames > 1:
                stored_kind, stored = kind, _encode_animation(image, kind, buffers)
                image.seek(0)
                still = image.copy()
            else:
                still = ImageOps.exif_transpose(image)
                stored_kind, stored = _encode_still(still, kind, buffers)
            thumbnail, thumbnail_extension = _thumbnail(still, buffers)
    except Image.DecompressionBombError as error:
        _close(buffers)
        raise UploadRejected(
            f"{name} has too many pixels for Jobline to process.",
            reason=UploadRejected.TOO_MANY_PIXELS,
            name=name,
        ) from error
    except Exception as error:
        # Decoders report damaged or hostile input with many exception types (OSError,
        # SyntaxError, ValueError, struct.error, IndexError…); all mean "cannot read it".
        _close(buffers)
        logger.info("Image upload %r refused as unreadable", name, exc_info=True)
        raise UploadRejected(
            f"{name} could not be read as an image. It may be damaged; try saving it again.",
            reason=UploadRejected.UNREADABLE_IMAGE,
            name=name,
        ) from error
    finally:
        upload.seek(0)
    return Inspected(
        name=_download_name(name, stored_kind),
        content_type=stored_kind.content_type,
        size=stored.size,
        is_image=True,
        extension=stored_kind.extensions[0],
        content=stored,
        thumbnail=thumbnail,
        thumbnail_extension=thumbnail_extension,
        _buffers=buffers,
    )


def _encode_still(
    upright: Image.Image, kind: FileKind, buffers: list[IO[bytes]]
) -> tuple[FileKind, File]:
    """The photo as stored: already upright, re-encoded with no EXIF, XMP or comments, so
    no location (or camera serial, or owner name) survives."""
    upright.info = _pixel_info(upright.info)
    icc = {"icc_profile": upright.info["icc_profile"]} if "icc_profile" in upright.info else {}
    if kind is HEIC:
        return JPEG, _encode(_flatten(upright), "JPEG", buffers, quality=90, **icc)
    if kind is JPEG:
        image = upright if upright.mode in ("RGB", "L", "CMYK") else upright.convert("RGB")
        return JPEG, _encode(image, "JPEG", buffers, quality=90, **icc)
    if kind is WEBP:
        return WEBP, _encode(upright, "WEBP", buffers, quality=90, **icc)
    return kind, _encode(upright, kind.pil_format, buffers)


def _encode_animation(image: Image.Image, kind: FileKind, buffers: list[IO[bytes]]) -> File:
    """Animations keep their frames. GIF has no EXIF, and Pillow writes none (nor XMP) to
    an animated WebP unless asked; an empty comment stops the GIF writer copying one over."""
    image.info = _pixel_info(image.info)
    return _encode(image, kind.pil_format, buffers, save_all=True, comment=b"")


def _thumbnail(still: Image.Image, buffers: list[IO[bytes]]) -> tuple[File, str]:
    # In place: the full-size still has been stored already and is not needed any more.
    still.thumbnail((THUMBNAIL_MAX_PX, THUMBNAIL_MAX_PX))
    if still.has_transparency_data:
        # Keeps transparent logos and screenshots transparent; JPEG would blacken them.
        thumb, fmt, extension, params = still.convert("RGBA"), "PNG", ".png", {}
    else:
        thumb, fmt, extension, params = still.convert("RGB"), "JPEG", ".jpg", {"quality": 85}
    thumb.info = {}
    return _encode(thumb, fmt, buffers, **params), extension


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparent areas become white rather than black."""
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _pixel_info(info: dict[Any, Any]) -> dict[Any, Any]:
    return {key: value for key, value in info.items() if key in PIXEL_INFO_KEYS}


def _encode(image: Image.Image, fmt: str, buffers: list[IO[bytes]], **params: Any) -> File:
    buffer = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES)  # noqa: SIM115
    buffers.append(buffer)
    image.save(buffer, format=fmt, **params)
    size = buffer.tell()
    buffer.seek(0)
    encoded = File(buffer)
    encoded.size = size
    return encoded


def _close(buffers: list[IO[bytes]]) -> None:
    for buffer in buffers:
        buffer.close()


# --- services ----------------------------------------------------------------------------


def attachment_add(
    *,
    job: Job,
    upload: File,
    visibility: Visibility | str,
    actor: User | None,
    actor_kind: ActorKind = ActorKind.STAFF,
    message: Message | None = None,
    document_request: DocumentRequest | None = None,
) -> Attachment:
    """Add one file to a job. Raises UploadRejected (a ValidationError) if it is refused."""
    return attachments_add(
        job=job,
        uploads=[upload],
        visibility=visibility,
        actor=actor,
        actor_kind=actor_kind,
        message=message,
        document_request=document_request,
    )[0]


def attachments_add(
    *,
    job: Job,
    uploads: Sequence[File],
    visibility: Visibility | str,
    actor: User | None,
    actor_kind: ActorKind = ActorKind.STAFF,
    message: Message | None = None,
    document_request: DocumentRequest | None = None,
) -> list[Attachment]:
    """Add several files at once, all or nothing: one refused file stores none of them.

    Raises UploadRejected when one file is refused, or a ValidationError listing each
    refused file (every item an UploadRejected) when several are.
    """
    visibility = _checked_visibility(visibility, actor_kind)
    if message is not None and message.job_id != job.pk:
        raise ValidationError({"message": "That message belongs to another job."})
    if not uploads:
        return []
    prepared: list[Inspected] = []
    try:
        rejected: list[UploadRejected] = []
        # Every file is inspected before any is stored, so a refusal writes nothing at all
        # and the person hears about every refused file at once, not one per attempt.
        for upload in uploads:
            try:
                prepared.append(inspect_upload(upload))
            except UploadRejected as error:
                rejected.append(error)
        if len(rejected) == 1:
            raise rejected[0]
        if rejected:
            raise ValidationError(rejected)
        return _store(
            job=job,
            prepared=prepared,
            visibility=visibility,
            actor=actor,
            actor_kind=actor_kind,
            message=message,
            document_request=document_request,
        )
    finally:
        for item in prepared:
            item.close()


def _store(
    *,
    job: Job,
    prepared: list[Inspected],
    visibility: Visibility,
    actor: User | None,
    actor_kind: ActorKind,
    message: Message | None,
    document_request: DocumentRequest | None = None,
) -> list[Attachment]:
    written: list[tuple[Storage, str]] = []
    try:
        attachments = []
        # Files are written before the transaction opens: the job's row stays locked only
        # for the database work, not for a slow upload to object storage.
        for item in prepared:
            attachment = Attachment(
                job=job,
                message=message,
                document_request=document_request,
                original_name=item.name,
                content_type=item.content_type,
                size=item.size,
                is_image=item.is_image,
                visibility=visibility,
                uploaded_by=actor,
                uploader_kind=actor_kind,
            )
            attachment.file.save(f"{uuid4().hex}{item.extension}", item.content, save=False)
            written.append((attachment.file.storage, attachment.file.name))
            if item.thumbnail is not None:
                attachment.thumbnail.save(
                    f"{uuid4().hex}{item.thumbnail_extension}", item.thumbnail, save=False
                )
                written.append((attachment.thumbnail.storage, attachment.thumbnail.name))
            attachments.append(attachment)
        with transaction.atomic():
            locked = _lock(job, None)
            now = timezone.now()
            for attachment in attachments:
                attachment.job = locked
                attachment.created_at = now
                attachment.save()
                log(
                    job=locked,
                    kind=ActivityKind.FILE_ADDED,
                    actor=actor,
                    actor_kind=actor_kind,
                    visibility=visibility,
                    message=message,
                    attachment=attachment,
                    data={
                        "name": attachment.original_name,
                        "size": attachment.size,
                        "content_type": attachment.content_type,
                        "is_image": attachment.is_image,
                    },
                    at=now,
                )
            _touch(locked, at=now)
    except BaseException:
        # Nothing of a failed change may remain, on disk either. (If a caller's own outer
        # transaction rolls back later, Django gives no hook: those files stay orphaned.)
        _delete_quietly(written)
        raise
    job.__dict__.update(locked.__dict__)
    return attachments


def _delete_quietly(written: list[tuple[Storage, str]]) -> None:
    for storage, name in written:
        try:
            storage.delete(name)
        except Exception:
            # The original error matters more than a leftover file; log it for cleanup.
            logger.warning("Could not delete %s after a failed upload", name, exc_info=True)


def _checked_visibility(visibility: Visibility | str, actor_kind: ActorKind | str) -> Visibility:
    try:
        checked = Visibility(visibility)
    except ValueError:
        raise ValidationError({"visibility": "Choose internal or visible."}) from None
    if actor_kind == ActorKind.CUSTOMER and checked != Visibility.CUSTOMER:
        # A customer's own upload cannot be hidden from them at the moment they add it.
        raise ValidationError({"visibility": "A customer's upload is visible to them."})
    return checked


@transaction.atomic
def attachment_set_visibility(
    *, attachment: Attachment, visibility: Visibility | str, actor: User
) -> Attachment:
    """Share a file with the customer or take it back; logged with old and new.

    Sharing is a customer-visible entry (the customer's feed shows the file arriving);
    hiding is internal, like a move into an internal stage: it leaves no trace for them.
    """
    new = _checked_visibility(visibility, ActorKind.STAFF)
    job = _lock(attachment.job, None)
    current = Attachment.objects.select_for_update().get(pk=attachment.pk)
    if current.visibility == new:
        return current
    old = current.visibility
    current.visibility = new
    current.save(update_fields=["visibility"])
    now = timezone.now()
    log(
        job=job,
        kind=ActivityKind.FILE_VISIBILITY_CHANGED,
        actor=actor,
        visibility=new,
        attachment=current,
        data={"name": current.original_name, "old": str(old), "new": str(new)},
        at=now,
    )
    _touch(job, at=now)
    attachment.visibility = new
    return current


# --- selectors ---------------------------------------------------------------------------


def attachment_for_staff(*, workspace: Workspace, attachment_id: int) -> Attachment:
    """A file of this workspace's jobs; another workspace's id is a 404, as is a made-up one."""
    return get_object_or_404(
        Attachment.objects.select_related("job"), job__workspace=workspace, pk=attachment_id
    )


__all__ = [
    "FileKind",
    "Inspected",
    "UploadRejected",
    "attachment_add",
    "attachment_for_staff",
    "attachment_set_visibility",
    "attachments_add",
    "clean_name",
    "inspect_upload",
    "sniff",
]
