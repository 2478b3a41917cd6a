"""The pipeline services: templates, stage placement and order, the stage-set rule, deleting
stages that hold jobs, and stage-form fields."""

from __future__ import annotations

from itertools import pairwise

import pytest
from django.core.exceptions import ValidationError

from jobline.jobs.models import Activity, ActivityKind, FieldValue, Job
from jobline.pipelines import services
from jobline.pipelines.blueprints import BLUEPRINTS, BLUEPRINTS_BY_KEY
from jobline.pipelines.models import POSITION_GAP, FieldType, Pipeline, Stage, StageField
from tests.conftest import Cast
from tests.pipelines.conftest import field_named, live_names, make_jobs, stage_named


def positions(pipeline: Pipeline) -> dict[str, int]:
    return dict(pipeline.stages.filter(deleted_at__isnull=True).values_list("name", "position"))


# Templates -------------------------------------------------------------------------------


@pytest.mark.parametrize("blueprint", BLUEPRINTS, ids=lambda bp: bp.key)
def test_every_template_builds_its_stages_and_fields_in_order(cast: Cast, blueprint) -> None:
    pipeline = services.pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key=blueprint.key, actor=cast.admin
    )
    assert pipeline.name == blueprint.name
    assert pipeline.description == blueprint.description
    stages = services.live_stages(pipeline)
    assert [s.name for s in stages] == [s.name for s in blueprint.stages]
    # Gapped positions: a drag between any two never needs a renumber.
    gaps = [b.position - a.position for a, b in pairwise(stages)]
    assert all(gap >= POSITION_GAP for gap in gaps)
    for stage, stage_bp in zip(stages, blueprint.stages, strict=True):
        assert stage.colour == stage_bp.colour
        assert (stage.is_terminal, stage.is_cancelled) == (
            stage_bp.is_terminal,
            stage_bp.is_cancelled,
        )
        assert stage.visible_to_customer == stage_bp.visible_to_customer
        assert stage.customer_label == stage_bp.customer_label
        fields = list(stage.fields.order_by("position"))
        assert [f.label for f in fields] == [f.label for f in stage_bp.fields]
        for field, field_bp in zip(fields, stage_bp.fields, strict=True):
            assert field.field_type == field_bp.field_type
            assert field.required == field_bp.required
            assert field.options == list(field_bp.options)
            assert field.visible_to_customer == field_bp.visible_to_customer
            assert field.editable_by_customer == field_bp.editable_by_customer
    services.validate_stage_set(stages)  # every template is usable as it comes


def test_allergy_details_is_shown_only_when_has_allergies_is_ticked(beauty: Pipeline) -> None:
    first = stage_named(beauty, "Initial appointment")
    details = field_named(first, "Allergy details")
    assert details.condition_field == field_named(first, "Has allergies")
    assert details.condition_field.field_type == FieldType.CHECKBOX
    assert details.condition_value == "true"
    assert details.required and details.editable_by_customer


def test_a_template_can_be_renamed_at_creation_and_unknown_templates_are_refused(
    cast: Cast,
) -> None:
    renamed = services.pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="legal", actor=cast.admin, name="  Matters  "
    )
    assert renamed.name == "Matters"
    with pytest.raises(ValidationError) as error:
        services.pipeline_create_from_blueprint(
            workspace=cast.workspace, blueprint_key="spaceship", actor=cast.admin
        )
    assert "template" in error.value.message_dict
    assert Pipeline.objects.filter(workspace=cast.workspace).count() == 1


def test_a_blank_pipeline_starts_with_an_open_and_a_finishing_stage(blank: Pipeline) -> None:
    stages = services.live_stages(blank)
    assert [(s.name, s.is_terminal) for s in stages] == [("New", False), ("Done", True)]


# Placing and ordering stages -----------------------------------------------------------------


def test_a_new_open_stage_goes_before_the_finishing_stages(cast: Cast, repair: Pipeline) -> None:
    services.stage_create(pipeline=repair, actor=cast.admin, name="Invoice", colour="#123456")
    names = live_names(repair)
    assert names[-4:] == ["Ready for pickup", "Invoice", "Collected", "Returned unrepaired"]


def test_a_new_finishing_stage_goes_last(cast: Cast, repair: Pipeline) -> None:
    services.stage_create(pipeline=repair, actor=cast.admin, name="Scrapped", is_terminal=True)
    assert live_names(repair)[-1] == "Scrapped"


def test_adding_many_stages_in_a_row_spreads_them_out_instead_of_failing(
    cast: Cast, blank: Pipeline
) -> None:
    """Each new stage halves the gap before Done; after ~10 the gap is gone."""
    for index in range(1, 16):
        services.stage_create(pipeline=blank, actor=cast.admin, name=f"Step {index}")
    assert live_names(blank) == ["New", *[f"Step {i}" for i in range(1, 16)], "Done"]
    assert len(set(positions(blank).values())) == 17


def test_a_lost_stage_must_finish_the_job(cast: Cast, blank: Pipeline) -> None:
    with pytest.raises(ValidationError) as error:
        services.stage_create(pipeline=blank, actor=cast.admin, name="Lost", is_cancelled=True)
    assert "is_cancelled" in error.value.message_dict
    assert live_names(blank) == ["New", "Done"]


def test_reorder_changes_only_the_moved_stage(cast: Cast, repair: Pipeline) -> None:
    before = positions(repair)
    fix = stage_named(repair, "Fix")
    services.stage_reorder(stage=fix, actor=cast.admin, before=stage_named(repair, "Quote"))
    after = positions(repair)
    assert live_names(repair)[:4] == ["Drop-off", "Diagnosis", "Fix", "Quote"]
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"Fix"}


def test_reorder_with_no_before_puts_the_stage_last(cast: Cast, repair: Pipeline) -> None:
    services.stage_reorder(stage=stage_named(repair, "Drop-off"), actor=cast.admin, before=None)
    assert live_names(repair)[-1] == "Drop-off"


def test_reorder_renumbers_everything_once_when_the_gap_is_used_up(
    cast: Cast, blank: Pipeline
) -> None:
    for name in ("A", "B"):
        services.stage_create(pipeline=blank, actor=cast.admin, name=name)
    for position, name in enumerate(["New", "A", "B", "Done"], start=1):
        Stage.objects.filter(pipeline=blank, name=name).update(position=position)
    # B between New (1) and A (2): no room left, so everything is spread out, then B placed.
    services.stage_reorder(
        stage=stage_named(blank, "B"), actor=cast.admin, before=stage_named(blank, "A")
    )
    assert live_names(blank) == ["New", "B", "A", "Done"]
    ordered = sorted(positions(blank).values())
    assert all(b - a >= POSITION_GAP // 2 for a, b in pairwise(ordered))


def test_move_step_moves_one_place_and_stops_at_the_ends(cast: Cast, repair: Pipeline) -> None:
    services.stage_move_step(stage=stage_named(repair, "Quote"), actor=cast.admin, direction=-1)
    assert live_names(repair)[:3] == ["Drop-off", "Quote", "Diagnosis"]
    services.stage_move_step(stage=stage_named(repair, "Quote"), actor=cast.admin, direction=1)
    assert live_names(repair)[:3] == ["Drop-off", "Diagnosis", "Quote"]
    original = live_names(repair)
    services.stage_move_step(stage=stage_named(repair, "Drop-off"), actor=cast.admin, direction=-1)
    services.stage_move_step(
        stage=stage_named(repair, "Returned unrepaired"), actor=cast.admin, direction=1
    )
    assert live_names(repair) == original


# The stage-set rule ------------------------------------------------------------------------


def test_stage_update_refuses_to_leave_no_won_stage(cast: Cast, blank: Pipeline) -> None:
    done = stage_named(blank, "Done")
    with pytest.raises(ValidationError, match="not 'lost'"):
        services.stage_update(stage=done, actor=cast.admin, is_cancelled=True)
    done.refresh_from_db()
    assert done.is_won


def test_stage_update_refuses_to_leave_no_open_stage(cast: Cast, blank: Pipeline) -> None:
    new = stage_named(blank, "New")
    with pytest.raises(ValidationError, match="does not finish the job"):
        services.stage_update(stage=new, actor=cast.admin, is_terminal=True)
    new.refresh_from_db()
    assert not new.is_terminal


def test_stage_update_saves_name_colour_and_flags(cast: Cast, repair: Pipeline) -> None:
    fix = stage_named(repair, "Fix")
    services.stage_update(
        stage=fix, actor=cast.admin, name="Repair", colour="#000000", visible_to_customer=False
    )
    fix.refresh_from_db()
    assert (fix.name, fix.colour, fix.visible_to_customer) == ("Repair", "#000000", False)


# Deleting stages ------------------------------------------------------------------------------


def test_stage_delete_refuses_while_jobs_are_in_it_and_no_target_is_given(
    cast: Cast, repair: Pipeline
) -> None:
    diagnosis = stage_named(repair, "Diagnosis")
    jobs = make_jobs(cast, repair, diagnosis, 2)
    with pytest.raises(ValidationError) as error:
        services.stage_delete(stage=diagnosis, actor=cast.admin)
    assert "2 job(s)" in error.value.message_dict["move_jobs_to"][0]
    diagnosis.refresh_from_db()
    assert diagnosis.deleted_at is None
    assert {j.stage_id for j in Job.objects.filter(pk__in=[j.pk for j in jobs])} == {diagnosis.pk}


def test_stage_delete_moves_every_job_and_logs_each_move(cast: Cast, repair: Pipeline) -> None:
    diagnosis, quote = stage_named(repair, "Diagnosis"), stage_named(repair, "Quote")
    jobs = make_jobs(cast, repair, diagnosis, 3)
    moved = services.stage_delete(stage=diagnosis, actor=cast.admin, move_jobs_to=quote)
    assert moved == 3
    diagnosis.refresh_from_db()
    assert diagnosis.deleted_at is not None  # kept as a row: the feed still points at it
    assert "Diagnosis" not in live_names(repair)
    for job in jobs:
        job.refresh_from_db()
        assert job.stage == quote
        entry = Activity.objects.get(job=job, kind=ActivityKind.STATUS_CHANGED)
        assert entry.actor == cast.admin
        assert entry.data["from"]["name"] == "Diagnosis"
        assert entry.data["to"]["name"] == "Quote"


def test_stage_delete_refuses_a_target_outside_the_pipeline(
    cast: Cast, repair: Pipeline, blank: Pipeline
) -> None:
    diagnosis = stage_named(repair, "Diagnosis")
    (job,) = make_jobs(cast, repair, diagnosis, 1)
    for target in (stage_named(blank, "New"), diagnosis):
        with pytest.raises(ValidationError) as error:
            services.stage_delete(stage=diagnosis, actor=cast.admin, move_jobs_to=target)
        assert "move_jobs_to" in error.value.message_dict
    job.refresh_from_db()
    assert job.stage == diagnosis
    assert not Activity.objects.filter(job=job, kind=ActivityKind.STATUS_CHANGED).exists()


def test_stage_delete_refuses_to_remove_the_only_won_stage(cast: Cast, repair: Pipeline) -> None:
    with pytest.raises(ValidationError, match="not 'lost'"):
        services.stage_delete(stage=stage_named(repair, "Collected"), actor=cast.admin)
    assert "Collected" in live_names(repair)


# Stage-form fields --------------------------------------------------------------------------


def test_retiring_a_field_keeps_its_saved_values_and_clears_conditions_on_it(
    cast: Cast, beauty: Pipeline
) -> None:
    first = stage_named(beauty, "Initial appointment")
    has_allergies = field_named(first, "Has allergies")
    details = field_named(first, "Allergy details")
    (job,) = make_jobs(cast, beauty, first, 1)
    FieldValue.objects.create(job=job, field=has_allergies, value=True, updated_by=cast.admin)
    services.field_retire(field=has_allergies, actor=cast.admin)
    has_allergies.refresh_from_db()
    details.refresh_from_db()
    assert has_allergies.is_retired
    assert FieldValue.objects.get(job=job, field=has_allergies).value is True
    assert (details.condition_field, details.condition_value) == (None, "")
    live = first.fields.filter(retired_at__isnull=True).values_list("label", flat=True)
    assert "Has allergies" not in live


def test_a_dropdown_needs_choices(cast: Cast, blank: Pipeline) -> None:
    with pytest.raises(ValidationError) as error:
        services.field_create(
            stage=stage_named(blank, "New"),
            actor=cast.admin,
            label="Colour",
            field_type=FieldType.DROPDOWN,
            options=["", "  "],
        )
    assert "options" in error.value.message_dict
    assert not StageField.objects.filter(label="Colour").exists()


def test_a_condition_must_use_a_field_of_the_same_stage(cast: Cast, beauty: Pipeline) -> None:
    other_stage_field = field_named(stage_named(beauty, "6-week review"), "Top-up needed")
    with pytest.raises(ValidationError) as error:
        services.field_create(
            stage=stage_named(beauty, "Initial appointment"),
            actor=cast.admin,
            label="Top-up date",
            condition_field=other_stage_field,
            condition_value="true",
        )
    assert "condition_field" in error.value.message_dict


def test_field_move_step_swaps_neighbours(cast: Cast, repair: Pipeline) -> None:
    diagnosis = stage_named(repair, "Diagnosis")
    services.field_move_step(
        field=field_named(diagnosis, "IMEI / serial"), actor=cast.admin, direction=-1
    )
    order = list(diagnosis.fields.order_by("position").values_list("label", flat=True))
    assert order == ["Device model", "IMEI / serial", "Fault found"]


def test_blueprint_keys_are_unique() -> None:
    assert len(BLUEPRINTS_BY_KEY) == len(BLUEPRINTS) == 5
