"""A stage's job form through the pages: add, edit, conditions, order and retire."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from jobline.jobs.models import FieldValue
from jobline.pipelines.models import FieldType, Pipeline, Stage, StageField
from tests.conftest import Cast
from tests.pipelines.conftest import field_named, make_jobs, stage_named


def field_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "field-label": "Warranty",
        "field-help_text": "",
        "field-field_type": FieldType.TEXT,
        "field-options": "",
        "field-condition_field": "",
        "field-condition_value": "",
    }
    data.update({f"field-{k}": v for k, v in overrides.items()})
    return data


def add(client: Client, stage: Stage, **overrides: Any):
    url = reverse("pipelines:field_create", kwargs={"stage_id": stage.pk})
    return client.post(url, field_data(**overrides))


def labels(stage: Stage) -> list[str]:
    return list(
        stage.fields.filter(retired_at__isnull=True)
        .order_by("position", "id")
        .values_list("label", flat=True)
    )


def test_admin_adds_a_dropdown_field(repair: Pipeline, as_admin: Client) -> None:
    quote = stage_named(repair, "Quote")
    response = add(
        as_admin,
        quote,
        label="Warranty",
        field_type=FieldType.DROPDOWN,
        options="None\n\n 3 months \n12 months\nNone",
        required="on",
        visible_to_customer="on",
        editable_by_customer="on",
    )
    field = field_named(quote, "Warranty")
    assert response.status_code == 302
    assert response["Location"].endswith(f"#field-{field.pk}")
    assert field.options == ["None", "3 months", "12 months"]
    assert (field.required, field.visible_to_customer, field.editable_by_customer) == (
        True,
        True,
        True,
    )
    assert labels(quote) == ["Repair price", "Warranty"]


def test_a_conditional_field_matches_the_dropdown_choice(
    beauty: Pipeline, as_admin: Client
) -> None:
    first = stage_named(beauty, "Initial appointment")
    treatment = field_named(first, "Treatment")
    response = add(
        as_admin,
        first,
        label="Pigment",
        condition_field=treatment.pk,
        condition_value="microblading",
    )
    assert response.status_code == 302
    pigment = field_named(first, "Pigment")
    assert (pigment.condition_field, pigment.condition_value) == (treatment, "Microblading")
    html = as_admin.get(reverse("pipelines:stage_edit", args=[first.pk])).content.decode()
    assert "Shown when “Treatment” is Microblading" in html
    assert "Shown when “Has allergies” is true" in html


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"label": " "}, "Give the field a label."),
        ({"field_type": FieldType.DROPDOWN, "options": " \n "}, "A dropdown needs at least one"),
        ({"field_type": "hologram"}, "Select a valid choice"),
        ({"editable_by_customer": "on"}, "must be visible to them"),
        ({"condition_field": "HAS_ALLERGIES", "condition_value": ""}, "Say which value"),
        ({"condition_field": "HAS_ALLERGIES", "condition_value": "maybe"}, "use true (ticked)"),
        ({"condition_field": "TREATMENT", "condition_value": "Tattoo"}, "Use one of the choices"),
        ({"condition_field": "OTHER_STAGE", "condition_value": "true"}, "another field of this"),
        ({"condition_field": "OTHER_WORKSPACE", "condition_value": "x"}, "another field of this"),
    ],
)
def test_bad_field_input_is_refused_with_a_message_and_kept(
    overrides: dict[str, str],
    message: str,
    beauty: Pipeline,
    elsewhere: Pipeline,
    as_admin: Client,
) -> None:
    first = stage_named(beauty, "Initial appointment")
    ids = {
        "HAS_ALLERGIES": field_named(first, "Has allergies").pk,
        "TREATMENT": field_named(first, "Treatment").pk,
        "OTHER_STAGE": field_named(stage_named(beauty, "6-week review"), "Top-up needed").pk,
        "OTHER_WORKSPACE": StageField.objects.filter(stage__pipeline=elsewhere).first().pk,
    }
    if overrides.get("condition_field") in ids:
        overrides["condition_field"] = ids[overrides["condition_field"]]
    before = StageField.objects.count()
    response = add(as_admin, first, help_text="Typed help", **overrides)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'value="Typed help"' in html
    assert StageField.objects.count() == before


def test_edit_a_field(repair: Pipeline, as_admin: Client) -> None:
    device = field_named(stage_named(repair, "Drop-off"), "Device")
    url = reverse("pipelines:field_edit", kwargs={"field_id": device.pk})
    page = as_admin.get(url).content.decode()
    assert 'value="Device"' in page
    response = as_admin.post(url, field_data(label="Device and colour", visible_to_customer="on"))
    assert response.status_code == 302
    device.refresh_from_db()
    assert (device.label, device.required) == ("Device and colour", False)


def test_a_field_cannot_depend_on_itself_or_on_its_dependants(
    beauty: Pipeline, as_admin: Client
) -> None:
    first = stage_named(beauty, "Initial appointment")
    has_allergies = field_named(first, "Has allergies")
    url = reverse("pipelines:field_edit", kwargs={"field_id": has_allergies.pk})
    page = as_admin.get(url).content.decode()
    choices = re.findall(r'<option value="(\d+)"', page.split('name="field-condition_field"')[1])
    assert str(has_allergies.pk) not in choices
    assert str(field_named(first, "Allergy details").pk) not in choices
    for target in (has_allergies, field_named(first, "Allergy details")):
        data = field_data(
            label="Has allergies",
            field_type=FieldType.CHECKBOX,
            visible_to_customer="on",
            condition_field=target.pk,
            condition_value="x",
        )
        response = as_admin.post(url, data)
        assert response.status_code == 400
        assert "another field of this form" in response.content.decode()
    has_allergies.refresh_from_db()
    assert has_allergies.condition_field is None


def test_remove_retires_the_field_and_keeps_values(
    cast: Cast, repair: Pipeline, as_admin: Client
) -> None:
    drop_off = stage_named(repair, "Drop-off")
    device = field_named(drop_off, "Device")
    (job,) = make_jobs(cast, repair, drop_off, 1)
    FieldValue.objects.create(job=job, field=device, value="Pixel 7", updated_by=cast.admin)
    response = as_admin.post(reverse("pipelines:field_retire", kwargs={"field_id": device.pk}))
    assert response.status_code == 302
    assert labels(drop_off) == ["Reported fault"]
    assert FieldValue.objects.get(job=job, field=device).value == "Pixel 7"
    # A removed field is gone from the pages: editing it again is a 404.
    edit = reverse("pipelines:field_edit", kwargs={"field_id": device.pk})
    assert as_admin.get(edit).status_code == 404


def test_move_a_field_up_and_down(repair: Pipeline, as_admin: Client) -> None:
    diagnosis = stage_named(repair, "Diagnosis")
    url = reverse(
        "pipelines:field_move", kwargs={"field_id": field_named(diagnosis, "IMEI / serial").pk}
    )
    assert as_admin.post(url, {"direction": "up"}).status_code == 302
    assert labels(diagnosis) == ["Device model", "IMEI / serial", "Fault found"]
    as_admin.post(url, {"direction": "down"})
    assert labels(diagnosis) == ["Device model", "Fault found", "IMEI / serial"]
    assert as_admin.post(url, {"direction": ""}).status_code == 400
