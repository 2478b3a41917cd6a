"""Job services: numbers, moves and the required-fields gate, closing, versions, the feed."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from jobline.jobs import activity, selectors, services
from jobline.jobs.changes import StaleJob
from jobline.jobs.models import Activity, ActivityKind, FieldValue, Job, Visibility
from jobline.pipelines.models import Pipeline
from jobline.pipelines.services import field_retire
from tests.approvals.helpers import approve_as_customer
from tests.conftest import Cast
from tests.jobs.conftest import fill_required, stage


def kinds(job: Job) -> list[str]:
    return list(Activity.objects.filter(job=job).order_by("id").values_list("kind", flat=True))


def test_job_numbers_start_at_1001_and_count_per_workspace(cast: Cast, repair: Pipeline) -> None:
    first = services.job_create(
        workspace=cast.workspace, pipeline=repair, title="One", actor=cast.admin
    )
    second = services.job_create(
        workspace=cast.workspace, pipeline=repair, title="Two", actor=cast.admin
    )
    assert (first.reference, second.reference) == ("J-1001", "J-1002")
    assert first.stage == stage(repair, "Drop-off")  # default: the first stage
    assert kinds(first) == [ActivityKind.CREATED]


def test_a_failed_creation_does_not_use_up_a_number(cast: Cast, repair: Pipeline) -> None:
    with pytest.raises(ValidationError):
        services.job_create(workspace=cast.workspace, pipeline=repair, title="  ", actor=cast.admin)
    job = services.job_create(
        workspace=cast.workspace, pipeline=repair, title="Real", actor=cast.admin
    )
    assert job.number == 1001


def test_foreign_stage_owner_and_customer_are_refused(
    cast: Cast, repair: Pipeline, standard: Pipeline
) -> None:
    with pytest.raises(ValidationError) as error:
        services.job_create(
            workspace=cast.workspace,
            pipeline=repair,
            stage=stage(standard, "New"),
            title="x",
            actor=cast.admin,
        )
    assert "stage" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.job_create(
            workspace=cast.workspace, pipeline=repair, title="x", actor=cast.admin,
            owner=cast.outsider,
        )  # fmt: skip
    assert "owner" in error.value.message_dict
    assert not Job.objects.exists()


def test_moving_on_needs_the_required_fields_of_the_stage_being_left(
    cast: Cast, job: Job, repair: Pipeline
) -> None:
    with pytest.raises(services.RequiredFieldsMissing) as gate:
        services.job_move(
            job=job, stage=stage(repair, "Diagnosis"), actor=cast.admin, expected_version=1
        )
    assert [f.label for f in gate.value.fields] == ["Device"]
    job.refresh_from_db()
    assert job.stage == stage(repair, "Drop-off")
    assert job.version == 1
    assert kinds(job) == [ActivityKind.CREATED]  # a refused move writes nothing


def test_moving_back_is_always_allowed(cast: Cast, job: Job, repair: Pipeline) -> None:
    fill_required(job, stage(repair, "Drop-off"), cast.admin)
    job.refresh_from_db()
    job = services.job_move(
        job=job, stage=stage(repair, "Diagnosis"), actor=cast.admin, expected_version=job.version
    )
    # Diagnosis has three required fields, all empty: going back needs none of them.
    job = services.job_move(
        job=job, stage=stage(repair, "Drop-off"), actor=cast.admin, expected_version=job.version
    )
    assert job.stage == stage(repair, "Drop-off")


def test_a_hidden_conditional_field_is_never_required(cast: Cast) -> None:
    from jobline.pipelines.services import pipeline_create_from_blueprint

    beauty = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="beauty", actor=cast.admin
    )
    job = services.job_create(
        workspace=cast.workspace, pipeline=beauty, title="Brows", actor=cast.admin
    )
    first = stage(beauty, "Initial appointment")
    fields = {f.label: f for f in first.fields.all()}
    assert fields["Allergy details"].condition_field == fields["Has allergies"]
    services.form_save(
        job=job, stage=first, values={fields["Treatment"].pk: "Microblading"}, actor=cast.admin,
        expected_version=None,
    )  # fmt: skip
    assert selectors.missing_required_fields(job=job) == []
    services.form_save(
        job=job, stage=first, values={fields["Has allergies"].pk: True}, actor=cast.admin,
        expected_version=None,
    )  # fmt: skip
    assert selectors.missing_required_fields(job=job) == [fields["Allergy details"]]


def test_entering_a_finishing_stage_closes_and_leaving_reopens(
    cast: Cast, job: Job, repair: Pipeline
) -> None:
    job = services.job_move(
        job=job,
        stage=stage(repair, "Returned unrepaired"),
        actor=cast.admin,
        expected_version=None,
        enforce_required=False,
    )
    assert job.closed_at is not None
    closing = Activity.objects.filter(job=job).latest("id")
    assert closing.payload.closed is True
    job = services.job_move(
        job=job, stage=stage(repair, "Fix"), actor=cast.admin, expected_version=job.version
    )
    assert job.closed_at is None
    assert Activity.objects.filter(job=job).latest("id").payload.reopened is True


def test_a_move_from_a_stale_page_is_refused_and_writes_nothing(
    cast: Cast, job: Job, repair: Pipeline
) -> None:
    services.job_update(job=job, actor=cast.admin, expected_version=1, title="Renamed")
    before = Activity.objects.count()
    with pytest.raises(StaleJob):
        services.job_move(
            job=Job.objects.get(pk=job.pk),
            stage=stage(repair, "Returned unrepaired"),
            actor=cast.staff,
            expected_version=1,
        )
    assert Activity.objects.count() == before
    assert Job.objects.get(pk=job.pk).stage == stage(repair, "Drop-off")


def test_internal_stages_leave_no_trace_for_the_customer(
    cast: Cast, job: Job, repair: Pipeline
) -> None:
    for name in ("Drop-off", "Diagnosis", "Quote", "Approval"):
        fill_required(job, stage(repair, name), cast.admin)
    job.refresh_from_db()
    for name in ("Diagnosis", "Quote", "Approval", "Awaiting parts", "Fix"):
        job = services.job_move(
            job=job, stage=stage(repair, name), actor=cast.admin, expected_version=job.version
        )
        if name == "Approval":  # it asks for the customer's approval: they give it
            approve_as_customer(job)
            job.refresh_from_db()
        if name == "Awaiting parts":
            assert job.customer_stage == stage(repair, "Approval")
    moves = Activity.objects.filter(job=job, kind=ActivityKind.STATUS_CHANGED).order_by("id")
    seen_by_customer = [m.payload.new.name for m in moves if m.visibility == "customer"]
    assert seen_by_customer == ["Diagnosis", "Quote", "Approval", "Fix"]
    assert job.customer_stage == stage(repair, "Fix")


def test_detail_changes_log_one_entry_each_with_old_and_new(cast: Cast, job: Job) -> None:
    import datetime as dt

    job, entries = services.job_update(
        job=job,
        actor=cast.manager,
        expected_version=1,
        title="iPhone 13 screen and battery",
        owner=cast.manager,
        due_date=dt.date(2026, 12, 24),
    )
    by_kind = {e.kind: e for e in entries}
    assert set(by_kind) == {
        ActivityKind.TITLE_CHANGED, ActivityKind.OWNER_CHANGED, ActivityKind.DUE_DATE_CHANGED,
    }  # fmt: skip
    assert by_kind[ActivityKind.OWNER_CHANGED].data == {
        "old": {"id": cast.staff.pk, "name": "Sam Staff"},
        "new": {"id": cast.manager.pk, "name": "Max Manager"},
    }
    assert by_kind[ActivityKind.OWNER_CHANGED].visibility == Visibility.INTERNAL
    assert by_kind[ActivityKind.DUE_DATE_CHANGED].data == {"old": None, "new": "2026-12-24"}
    assert job.version == 2


def test_form_save_logs_changed_fields_only_and_keeps_who(
    cast: Cast, job: Job, repair: Pipeline
) -> None:
    dropoff = stage(repair, "Drop-off")
    device, fault = dropoff.fields.order_by("position")
    services.form_save(
        job=job, stage=dropoff, values={device.pk: "iPhone 13", fault.pk: ""},
        actor=cast.staff, expected_version=1,
    )  # fmt: skip
    entry = Activity.objects.filter(kind=ActivityKind.FORM_SAVED).get()
    assert entry.payload.changes == (
        activity.FieldChange(
            field_id=device.pk, label="Device", kind="text", old="", new="iPhone 13"
        ),
    )
    assert FieldValue.objects.get(job=job, field=device).updated_by == cast.staff
    # Saving the same values again writes nothing.
    assert services.form_save(
        job=job, stage=dropoff, values={device.pk: "iPhone 13"}, actor=cast.staff,
        expected_version=None,
    ) is None  # fmt: skip


def test_retired_fields_keep_their_values(cast: Cast, job: Job, repair: Pipeline) -> None:
    dropoff = stage(repair, "Drop-off")
    device = dropoff.fields.get(label="Device")
    services.form_save(
        job=job, stage=dropoff, values={device.pk: "Pixel 8"}, actor=cast.admin,
        expected_version=None,
    )  # fmt: skip
    field_retire(field=device, actor=cast.admin)
    assert FieldValue.objects.get(job=job, field=device).value == "Pixel 8"
    assert selectors.missing_required_fields(job=job) == []  # retired: no longer asked for


def test_notes_and_replies_and_making_a_reply_internal(cast: Cast, job: Job) -> None:
    note = services.message_add(
        job=job, body="Screen ordered", visibility=Visibility.INTERNAL, actor=cast.staff
    )
    reply = services.message_add(
        job=job, body="Your phone is ready Tuesday", visibility=Visibility.CUSTOMER,
        actor=cast.staff,
    )  # fmt: skip
    assert note.visibility == "internal" and reply.visibility == "customer"
    services.message_make_internal(message=reply, actor=cast.admin)
    reply.refresh_from_db()
    assert reply.visibility == Visibility.INTERNAL
    assert kinds(job)[-3:] == [
        ActivityKind.NOTE, ActivityKind.REPLY, ActivityKind.REPLY_VISIBILITY_CHANGED,
    ]  # fmt: skip
    with pytest.raises(ValidationError):
        services.message_add(job=job, body="   ", visibility="internal", actor=cast.staff)


def test_copy_into_another_pipeline_links_both_and_archives_the_old(
    cast: Cast, job: Job, standard: Pipeline
) -> None:
    copy = services.job_copy(job=job, pipeline=standard, actor=cast.admin)
    job.refresh_from_db()
    assert copy.copied_from == job
    assert copy.pipeline == standard and copy.stage == stage(standard, "New")
    assert job.is_archived
    assert Activity.objects.get(job=job, kind=ActivityKind.COPIED).data["job"] == copy.reference
    assert Activity.objects.get(job=copy, kind=ActivityKind.COPIED).data["job"] == job.reference
    with pytest.raises(ValidationError):
        services.job_copy(job=copy, pipeline=standard, actor=cast.admin)


def test_archive_and_restore_are_logged(cast: Cast, job: Job) -> None:
    services.job_archive(job=job, actor=cast.admin)
    services.job_restore(job=job, actor=cast.admin)
    assert kinds(job)[-2:] == [ActivityKind.ARCHIVED, ActivityKind.RESTORED]
    assert job.archived_at is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_postgres_refuses_update_and_delete_on_the_feed(cast: Cast, job: Job) -> None:
    from django.db import DatabaseError, transaction

    entry = Activity.objects.get(job=job)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Activity.objects.filter(pk=entry.pk).update(data={"tampered": True})
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Activity.objects.filter(pk=entry.pk).delete()
    assert Activity.objects.get(pk=entry.pk).data == entry.data


def test_a_new_note_is_searchable_without_rereading_the_others(cast: Cast, job: Job) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(20):
        services.message_add(job=job, body=f"note {i}", visibility="internal", actor=cast.admin)
    with CaptureQueriesContext(connection) as queries:
        services.message_add(
            job=job, body="gasket ordered", visibility="internal", actor=cast.admin
        )
    assert not any('FROM "jobs_message"' in q["sql"] and "SELECT" in q["sql"] for q in queries)
    job.refresh_from_db()
    assert job.search_text.endswith("\ngasket ordered")
    assert "note 7" in job.search_text and job.title in job.search_text
