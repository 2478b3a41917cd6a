"""Every change to who sees what in a pipeline is in the workspace's audit log: who, when, what
changed, old → new (issue 9: the pipeline services took an actor and recorded nothing)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from jobline.pipelines.models import Pipeline, Stage
from jobline.pipelines.services import (
    field_create,
    field_retire,
    field_update,
    pipeline_update,
    stage_create,
    stage_update,
)
from jobline.workspaces.models import AuditLogEntry
from tests.conftest import Cast
from tests.pipelines.conftest import field_named, stage_named


def entries(cast: Cast, action: str) -> list[tuple[str, str, str, str]]:
    return list(
        AuditLogEntry.objects.filter(workspace=cast.workspace, action=action)
        .order_by("id")
        .values_list("target", "field", "old_value", "new_value")
    )


def test_making_a_stage_internal_from_the_editor_is_audited_with_old_and_new(
    cast: Cast, repair: Pipeline, as_admin: Client
) -> None:
    stage = stage_named(repair, "Fix")
    response = as_admin.post(
        f"/jobs/pipelines/stages/{stage.pk}/",
        {
            "stage-name": "Fix",
            "stage-colour": stage.colour,
            "stage-internal": "on",
            "stage-customer_label": "Being repaired",
        },
    )
    assert response.status_code == 302
    assert entries(cast, "stage.changed") == [
        ("Device repair → Fix", "visible_to_customer", "on", "off")
    ]
    entry = AuditLogEntry.objects.get(action="stage.changed")
    assert entry.actor == cast.admin
    page = as_admin.get("/settings/audit-log/")
    assert page.status_code == 200
    assert "Device repair → Fix" in page.text and "Visible to customer" in page.text


def test_every_stage_setting_that_changes_gets_its_own_entry(cast: Cast, repair: Pipeline) -> None:
    stage = stage_named(repair, "Diagnosis")
    stage_update(
        stage=stage, actor=cast.manager, name="Bench check", customer_label="Checking it",
        colour=stage.colour, visible_to_customer=True,
    )  # fmt: skip
    assert entries(cast, "stage.changed") == [
        ("Device repair → Diagnosis", "name", "Diagnosis", "Bench check"),
        ("Device repair → Diagnosis", "customer_label", "Being checked", "Checking it"),
    ]


def test_new_stages_pipelines_settings_and_fields_are_audited(cast: Cast, repair: Pipeline) -> None:
    stage_create(pipeline=repair, actor=cast.admin, name="Waiting for customer",
                 visible_to_customer=False)  # fmt: skip
    assert entries(cast, "stage.created") == [
        ("Device repair → Waiting for customer", "", "", "internal")
    ]
    pipeline_update(pipeline=repair, actor=cast.admin, customers_can_upload=False)
    assert entries(cast, "pipeline.changed") == [
        ("Device repair", "customers_can_upload", "on", "off")
    ]
    quote = stage_named(repair, "Quote")
    field = field_create(stage=quote, actor=cast.admin, label="Labour", field_type="money")
    assert entries(cast, "field.created") == [
        ("Device repair → Quote → Labour", "", "", "internal")
    ]
    field_update(field=field, actor=cast.admin, label="Labour", field_type="money",
                 visible_to_customer=True)  # fmt: skip
    assert entries(cast, "field.changed") == [
        ("Device repair → Quote → Labour", "visible_to_customer", "off", "on")
    ]
    field_retire(field=field_named(quote, "Repair price"), actor=cast.admin)
    assert entries(cast, "field.retired") == [("Device repair → Quote → Repair price", "", "", "")]


def test_a_change_that_is_refused_records_nothing(cast: Cast, repair: Pipeline) -> None:
    collected: Stage = stage_named(repair, "Collected")
    before = AuditLogEntry.objects.count()
    # Collected holds no jobs, but a pipeline needs a finishing stage that is not lost.
    with pytest.raises(ValidationError):
        stage_update(stage=collected, actor=cast.admin, is_terminal=False)
    assert AuditLogEntry.objects.count() == before
