"""Adding files to jobs, and who sees them.

Every file of a change is inspected (file_inspection.py) before any is stored, so one refused
file stores none of them and the person hears about every refused file at once. The accepted
files are then written to storage under generated names (``jobs/2025/06/<hex>.jpg``, never
the person's file name) BEFORE the change's transaction opens: the job's row stays locked
only for the database work, not for a slow write to object storage. If the transaction fails,
the stored files are deleted again, so nothing of a failed change remains on disk.

``files_stored`` is that first half, for every service that takes uploads (this module's, and
messages, stage forms and document requests in services.py and requests.py);
``attachments_create`` is the second half, inside the service's transaction.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from uuid import uuid4

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import Storage
from django.utils import timezone

from jobline.accounts.models import User
from jobline.core.transactions import service
from jobline.jobs import activity
from jobline.jobs.changes import job_lock, job_touch, log
from jobline.jobs.choices import ActorKind, Visibility
from jobline.jobs.file_inspection import Inspected, UploadRejected, inspect_upload
from jobline.jobs.models import Attachment, DocumentRequest, Job, Message

logger = logging.getLogger(__name__)

# The key of a plain list of uploads (files added to a job, attached to a message).
FILES = "files"
NO_FILE_MESSAGE = "Choose at least one file."


@dataclass(frozen=True)
class StoredFile:
    """An accepted upload, written to storage, not yet an Attachment."""

    name: str  # what people see and download
    content_type: str
    size: int
    is_image: bool
    file_name: str  # in storage
    thumbnail_name: str = ""


@dataclass
class StoredFiles:
    """The files of one change by the key they were given under (a field's name, or FILES)."""

    storage: Storage
    by_key: dict[str, list[StoredFile]] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> StoredFiles:
        return cls(storage=_storage())

    def get(self, key: str = FILES) -> list[StoredFile]:
        return self.by_key.get(key, [])

    def delete(self) -> None:
        for stored in (s for files in self.by_key.values() for s in files):
            for name in (stored.file_name, stored.thumbnail_name):
                if not name:
                    continue
                try:
                    self.storage.delete(name)
                except Exception:
                    # The original error matters more than a leftover file; log it.
                    logger.warning("Could not delete %s after a failed change", name, exc_info=True)


def _storage() -> Storage:
    return Attachment._meta.get_field("file").storage


def _generated_name(field_name: str, extension: str) -> str:
    """A new random name under the field's dated folder (jobs/2025/06/…)."""
    model_field = Attachment._meta.get_field(field_name)
    return model_field.generate_filename(None, f"{uuid4().hex}{extension}")


def _inspect_all(
    groups: Mapping[str, Sequence[File]], *, plain: bool
) -> dict[str, list[Inspected]]:
    inspected: dict[str, list[Inspected]] = {}
    rejected: dict[str, list[UploadRejected]] = {}
    try:
        for key, uploads in groups.items():
            for upload in uploads:
                try:
                    inspected.setdefault(key, []).append(inspect_upload(upload))
                except UploadRejected as error:
                    rejected.setdefault(key, []).append(error)
    except BaseException:
        _close(inspected)
        raise
    if rejected:
        _close(inspected)
        if plain:
            errors = rejected[FILES]
            raise errors[0] if len(errors) == 1 else ValidationError(list(errors))
        raise ValidationError({key: list(errors) for key, errors in rejected.items()})
    return inspected


def _close(inspected: dict[str, list[Inspected]]) -> None:
    for items in inspected.values():
        for item in items:
            item.close()


@contextmanager
def files_stored(uploads: Sequence[File] | Mapping[str, Sequence[File]]) -> Iterator[StoredFiles]:
    """Inspect and store every upload, then run the body (the change's transaction). If the
    body fails, the files are deleted again.

    Raises, for a plain list, UploadRejected when one file is refused or a ValidationError
    listing each refused file; for a mapping, a ValidationError keyed like it."""
    plain = not isinstance(uploads, Mapping)
    groups = {FILES: list(uploads)} if plain else dict(uploads)  # type: ignore[arg-type]
    inspected = _inspect_all(groups, plain=plain)
    stored = StoredFiles(storage=_storage())
    try:
        for key, items in inspected.items():
            for item in items:
                stored.by_key.setdefault(key, []).append(_write(stored, item))
    except BaseException:
        stored.delete()
        raise
    finally:
        _close(inspected)
    try:
        yield stored
    except BaseException:
        stored.delete()
        raise


class StorageUnavailable(UploadRejected):
    """The server could not store a file: its disk is full or its upload folder cannot be
    written. Not the file's fault, so not a 400: 507 (full) or 503 (read-only)."""

    DISK_FULL = "disk_full"
    NOT_WRITABLE = "not_writable"

    def __init__(self, *, full: bool, name: str) -> None:
        if full:
            message = (
                f"“{name}” could not be saved: the server has run out of space for files. "
                "Nothing was saved. Try again later, or tell your administrator."
            )
        else:
            message = (
                f"“{name}” could not be saved: the server cannot store files right now. "
                "Nothing was saved. Try again later, or tell your administrator."
            )
        super().__init__(message, reason=self.DISK_FULL if full else self.NOT_WRITABLE, name=name)
        self.http_status = 507 if full else 503


DISK_FULL_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
NOT_WRITABLE_ERRORS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def refusal_status(error: ValidationError) -> int:
    """The HTTP status of a refused change: 400, unless storage (not the input) failed."""
    return getattr(error, "http_status", 400)


def _save(storage: Storage, name: str, content: File, *, shown_as: str) -> str:
    """Write one file; on a full or unwritable disk, remove what was written of it (a
    partial or empty file would keep the disk full) and say so in the person's words."""
    try:
        return storage.save(name, content)
    except OSError as error:
        if error.errno not in DISK_FULL_ERRORS | NOT_WRITABLE_ERRORS:
            raise
        try:
            storage.delete(name)
        except OSError:
            logger.warning("Could not remove the partial file %s", name, exc_info=True)
        logger.error("Storing an upload failed: %s", error)
        raise StorageUnavailable(full=error.errno in DISK_FULL_ERRORS, name=shown_as) from error


def _write(stored: StoredFiles, item: Inspected) -> StoredFile:
    file_name = _save(
        stored.storage, _generated_name("file", item.extension), item.content, shown_as=item.name
    )
    thumbnail_name = ""
    if item.thumbnail is not None:
        try:
            thumbnail_name = _save(
                stored.storage,
                _generated_name("thumbnail", item.thumbnail_extension),
                item.thumbnail,
                shown_as=item.name,
            )
        except BaseException:
            stored.storage.delete(file_name)
            raise
    return StoredFile(
        name=item.name,
        content_type=item.content_type,
        size=item.size,
        is_image=item.is_image,
        file_name=file_name,
        thumbnail_name=thumbnail_name,
    )


def checked_visibility(visibility: Visibility | str, actor_kind: ActorKind | str) -> Visibility:
    try:
        checked = Visibility(visibility)
    except ValueError:
        raise ValidationError({"visibility": "Choose internal or visible."}) from None
    if actor_kind == ActorKind.CUSTOMER and checked != Visibility.CUSTOMER:
        # A customer's own upload cannot be hidden from them at the moment they add it.
        raise ValidationError({"visibility": "A customer's upload is visible to them."})
    return checked


def attachments_create(
    *,
    job: Job,
    stored: Sequence[StoredFile],
    visibility: Visibility,
    actor: User | None,
    actor_kind: ActorKind | str,
    at: dt.datetime,
    message: Message | None = None,
    document_request: DocumentRequest | None = None,
) -> list[Attachment]:
    """The Attachment rows of stored files and their ``file_added`` entries, inside the
    caller's transaction, on the job the caller has locked."""
    attachments = []
    for item in stored:
        attachment = Attachment.objects.create(
            job=job,
            message=message,
            document_request=document_request,
            file=item.file_name,
            thumbnail=item.thumbnail_name,
            original_name=item.name,
            content_type=item.content_type,
            size=item.size,
            is_image=item.is_image,
            visibility=visibility,
            uploaded_by=actor,
            uploader_kind=actor_kind,
            created_at=at,
        )
        log(
            job=job,
            payload=activity.FileAdded.of(attachment),
            actor=actor,
            actor_kind=actor_kind,
            visibility=visibility,
            message=message,
            attachment=attachment,
            at=at,
        )
        attachments.append(attachment)
    return attachments


@service
def attachments_add_stored(
    *,
    job: Job,
    stored: Sequence[StoredFile],
    visibility: Visibility,
    actor: User | None,
    actor_kind: ActorKind | str = ActorKind.STAFF,
    message: Message | None = None,
    document_request: DocumentRequest | None = None,
) -> list[Attachment]:
    if message is not None and message.job_id != job.pk:
        raise ValidationError({"message": "That message belongs to another job."})
    locked = job_lock(job=job, expected_version=None)
    now = timezone.now()
    attachments = attachments_create(
        job=locked, stored=stored, visibility=visibility, actor=actor, actor_kind=actor_kind,
        at=now, message=message, document_request=document_request,
    )  # fmt: skip
    job_touch(locked, at=now)
    return attachments


def attachments_add(
    *,
    job: Job,
    uploads: Sequence[File],
    visibility: Visibility | str,
    actor: User | None,
    actor_kind: ActorKind | str = ActorKind.STAFF,
    message: Message | None = None,
    document_request: DocumentRequest | None = None,
) -> list[Attachment]:
    """Add files to a job, all or nothing (a top-level service: stores the files, then one
    durable transaction). Raises UploadRejected when one file is refused, or a
    ValidationError listing each refused file when several are."""
    checked = checked_visibility(visibility, actor_kind)
    if not uploads:
        raise ValidationError({FILES: NO_FILE_MESSAGE})
    with files_stored(uploads) as stored:
        return attachments_add_stored(
            job=job, stored=stored.get(), visibility=checked, actor=actor,
            actor_kind=actor_kind, message=message, document_request=document_request,
        )  # fmt: skip


def attachment_add(
    *,
    job: Job,
    upload: File,
    visibility: Visibility | str,
    actor: User | None,
    actor_kind: ActorKind | str = ActorKind.STAFF,
    message: Message | None = None,
    document_request: DocumentRequest | None = None,
) -> Attachment:
    """Add one file to a job. Raises UploadRejected (a ValidationError) if it is refused."""
    return attachments_add(
        job=job, uploads=[upload], visibility=visibility, actor=actor, actor_kind=actor_kind,
        message=message, document_request=document_request,
    )[0]  # fmt: skip


@service
def attachment_set_visibility(
    *, attachment: Attachment, visibility: Visibility | str, actor: User
) -> Attachment:
    """Share a file with the customer or take it back; logged with old and new.

    Sharing is a customer-visible entry (the customer's feed shows the file arriving);
    hiding is internal, like a move into an internal stage: it leaves no trace for them.
    """
    new = checked_visibility(visibility, ActorKind.STAFF)
    job = job_lock(job=attachment.job, expected_version=None)
    current = Attachment.objects.select_for_update().get(pk=attachment.pk)
    if current.visibility == new:
        return current
    old = current.visibility
    current.visibility = new
    current.save(update_fields=["visibility"])
    now = timezone.now()
    log(
        job=job,
        payload=activity.FileVisibilityChanged(name=current.original_name, old=old, new=new),
        actor=actor,
        visibility=new,
        attachment=current,
        at=now,
    )
    job_touch(job, at=now)
    return current
