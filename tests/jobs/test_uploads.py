"""The upload services: files stored under generated names before the transaction, all or
nothing, deleted again when the change fails, logged in the feed; who sees which file
(jobline/jobs/uploads.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.http import Http404

from jobline.jobs import activity, customer_view, uploads
from jobline.jobs.file_inspection import UploadRejected
from jobline.jobs.models import Activity, ActivityKind, ActorKind, Attachment, Job, Visibility
from jobline.jobs.selectors import attachment_of_workspace
from jobline.jobs.services import message_add
from jobline.jobs.uploads import (
    attachment_add,
    attachment_set_visibility,
    attachments_add,
)
from jobline.portal import selectors as portal_selectors
from jobline.workspaces.models import Membership
from jobline.workspaces.viewers import customer_viewer, member_viewer
from tests.conftest import Cast, make_user
from tests.jobs.upload_helpers import (
    ELF_BYTES,
    EXE_BYTES,
    PDF_BYTES,
    REJECTED_TYPE,
    XLSX_BYTES,
    add,
    image_bytes,
    stored_bytes,
    stored_files,
    upload,
)

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
    assert entries[1].payload == activity.FileAdded(
        name="quote.pdf", size=len(PDF_BYTES), content_type="application/pdf", is_image=False
    )
    assert entries[0].payload.is_image is True
    assert {a.visibility for a in added} == {visibility}
    # One change, one version: the batch bumps the job once.
    assert Job.objects.get(pk=job.pk).version == version + 1


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
    harbour = member_viewer(cast.membership(cast.staff))
    elsewhere = member_viewer(Membership.objects.get(user=cast.outsider))
    assert attachment_of_workspace(viewer=harbour, attachment_id=mine.pk) == mine
    with pytest.raises(Http404):
        attachment_of_workspace(viewer=harbour, attachment_id=theirs.pk)
    with pytest.raises(Http404):
        attachment_of_workspace(viewer=elsewhere, attachment_id=mine.pk)
    with pytest.raises(Http404):
        attachment_of_workspace(viewer=None, attachment_id=mine.pk)  # no viewer, nothing


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
    harbour = member_viewer(cast.membership(cast.staff))
    elsewhere = member_viewer(Membership.objects.get(user=cast.outsider))
    for each in (internal, shared, on_internal_message):
        assert attachment_of_workspace(viewer=harbour, attachment_id=each.pk) == each
        with pytest.raises(Http404):
            attachment_of_workspace(viewer=elsewhere, attachment_id=each.pk)
    # The customer: shared files only, never one on an internal message (Attachment's
    # visible_to is the one place that decides this).
    assert customer_view.CustomerJob(job, customer_viewer(cast.customer)).files == [shared]
    assert portal_selectors.customer_file(user=portal_user, attachment_id=shared.pk) == shared
    for hidden in (internal, on_internal_message):
        with pytest.raises(Http404):
            portal_selectors.customer_file(user=portal_user, attachment_id=hidden.pk)
    other_customer_user = make_user("tom@example.com", "Tom Whitfield")
    cast.second_customer.portal_user = other_customer_user
    cast.second_customer.save(update_fields=["portal_user"])
    with pytest.raises(Http404):
        portal_selectors.customer_file(user=other_customer_user, attachment_id=shared.pk)
