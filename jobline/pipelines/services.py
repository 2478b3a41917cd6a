"""Every change to pipelines, their stages and their stage forms. Each change that concerns
who sees what (and every other change to a pipeline's shape) is written to the workspace's
audit log, with old → new, in the same transaction."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from jobline.accounts.models import User
from jobline.core.transactions import service
from jobline.pipelines import hooks
from jobline.pipelines.blueprints import BLUEPRINTS_BY_KEY, PipelineBlueprint
from jobline.pipelines.models import POSITION_GAP, FieldType, Pipeline, Stage, StageField
from jobline.workspaces.models import Workspace
from jobline.workspaces.services import audit_changes, audit_record

STAGE_EDITABLE = (
    "name",
    "colour",
    "is_terminal",
    "is_cancelled",
    "visible_to_customer",
    "customer_label",
    "requires_approval",
)
FIELD_EDITABLE = (
    "label",
    "help_text",
    "field_type",
    "options",
    "required",
    "visible_to_customer",
    "editable_by_customer",
    "condition_field",
    "condition_value",
)


def live_stages(pipeline: Pipeline) -> list[Stage]:
    return list(Stage.objects.filter(pipeline=pipeline).live())


def _stage_target(stage: Stage) -> str:
    return f"{stage.pipeline.name} → {stage.name}"


def _field_target(field: StageField) -> str:
    return f"{_stage_target(field.stage)} → {field.label}"


def _shown(visible: bool) -> str:
    return "visible" if visible else "internal"


def _audit(workspace_id: int, actor: User | None, action: str, target: str, **values: Any) -> None:
    audit_record(
        workspace=Workspace(pk=workspace_id), actor=actor, action=action, target=target, **values
    )


def validate_stage_set(stages: list[Stage]) -> None:
    """A pipeline needs somewhere to work (open stage) and somewhere to finish (won stage)."""
    if not any(not s.is_terminal for s in stages):
        raise ValidationError("A pipeline needs at least one stage that does not finish the job.")
    if not any(s.is_terminal and not s.is_cancelled for s in stages):
        raise ValidationError(
            "A pipeline needs at least one finishing stage that is not 'lost' "
            "(for example Completed)."
        )


def _clean_stage(stage: Stage) -> None:
    if stage.is_cancelled and not stage.is_terminal:
        raise ValidationError({"is_cancelled": "Only a stage that finishes the job can be lost."})
    if stage.requires_approval and not stage.visible_to_customer:
        raise ValidationError({"requires_approval": (
            "The customer approves what they can see: an internal stage can't ask for approval."
        )})  # fmt: skip
    if stage.requires_approval and stage.is_terminal:
        raise ValidationError(
            {"requires_approval": "A stage that finishes the job can't wait for an approval."}
        )
    stage.full_clean(exclude=["pipeline", "position"])


@service
def pipeline_create(
    *, workspace: Workspace, name: str, actor: User, description: str = ""
) -> Pipeline:
    """A blank pipeline starts with the two stages every pipeline needs."""
    pipeline = Pipeline(workspace=workspace, name=name.strip(), description=description)
    pipeline.full_clean()
    pipeline.save()
    _audit(workspace.pk, actor, "pipeline.created", pipeline.name, new="blank")
    Stage.objects.bulk_create(
        [
            Stage(pipeline=pipeline, name="New", colour="#0284c7", position=POSITION_GAP),
            Stage(
                pipeline=pipeline,
                name="Done",
                colour="#16a34a",
                position=2 * POSITION_GAP,
                is_terminal=True,
            ),
        ]
    )
    return pipeline


@service
def pipeline_create_from_blueprint(
    *, workspace: Workspace, blueprint_key: str, actor: User, name: str = ""
) -> Pipeline:
    blueprint: PipelineBlueprint | None = BLUEPRINTS_BY_KEY.get(blueprint_key)
    if blueprint is None:
        raise ValidationError({"template": "Choose one of the templates."})
    pipeline = Pipeline(
        workspace=workspace,
        name=(name.strip() or blueprint.name),
        description=blueprint.description,
    )
    pipeline.full_clean()
    pipeline.save()
    _audit(workspace.pk, actor, "pipeline.created", pipeline.name, new=blueprint.name)
    for index, stage_bp in enumerate(blueprint.stages, start=1):
        stage = Stage.objects.create(
            pipeline=pipeline,
            name=stage_bp.name,
            colour=stage_bp.colour,
            position=index * POSITION_GAP,
            is_terminal=stage_bp.is_terminal,
            is_cancelled=stage_bp.is_cancelled,
            visible_to_customer=stage_bp.visible_to_customer,
            customer_label=stage_bp.customer_label,
            requires_approval=stage_bp.requires_approval,
        )
        by_label: dict[str, StageField] = {}
        for position, field_bp in enumerate(stage_bp.fields, start=1):
            condition_field = None
            if field_bp.condition is not None:
                condition_field = by_label[field_bp.condition[0]]
            field = StageField.objects.create(
                stage=stage,
                label=field_bp.label,
                help_text=field_bp.help_text,
                field_type=field_bp.field_type,
                options=list(field_bp.options),
                required=field_bp.required,
                visible_to_customer=field_bp.visible_to_customer,
                editable_by_customer=field_bp.editable_by_customer,
                condition_field=condition_field,
                condition_value=field_bp.condition[1] if field_bp.condition else "",
                position=position,
            )
            by_label[field.label] = field
    hooks.pipeline_created(pipeline, blueprint, actor)
    return pipeline


@service
def pipeline_update(*, pipeline: Pipeline, actor: User, **fields: Any) -> Pipeline:
    allowed = {"name", "description", "customers_can_reply", "customers_can_upload"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"Not pipeline fields: {', '.join(sorted(unknown))}")
    current = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    before = {name: getattr(current, name) for name in fields}
    for name, value in fields.items():
        setattr(current, name, value)
    current.full_clean()
    current.save(update_fields=list(fields))
    audit_changes(
        workspace=Workspace(pk=current.workspace_id), actor=actor, action="pipeline.changed",
        target=before.get("name", current.name), before=before, after=fields,
    )  # fmt: skip
    for name in fields:
        setattr(pipeline, name, getattr(current, name))
    return pipeline


@service
def pipeline_archive(*, pipeline: Pipeline, actor: User) -> None:
    if pipeline.archived_at is None:
        pipeline.archived_at = timezone.now()
        pipeline.save(update_fields=["archived_at"])
        _audit(pipeline.workspace_id, actor, "pipeline.archived", pipeline.name)


@service
def pipeline_restore(*, pipeline: Pipeline, actor: User) -> None:
    if pipeline.archived_at is not None:
        pipeline.archived_at = None
        pipeline.save(update_fields=["archived_at"])
        _audit(pipeline.workspace_id, actor, "pipeline.restored", pipeline.name)


@service
def stage_create(*, pipeline: Pipeline, actor: User, **fields: Any) -> Stage:
    """New stages go before the finishing stages (where work happens), or last if none."""
    Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    stage = Stage(pipeline=pipeline, **{k: v for k, v in fields.items() if k in STAGE_EDITABLE})
    _clean_stage(stage)
    for _attempt in range(2):
        stages = live_stages(pipeline)
        first_terminal = next((s for s in stages if s.is_terminal), None)
        if first_terminal is not None and not stage.is_terminal:
            index = stages.index(first_terminal)
            before = (
                stages[index - 1].position
                if index > 0
                else first_terminal.position - 2 * POSITION_GAP
            )
            try:
                stage.position = _between(before, first_terminal.position, pipeline)
            except _Renumbered:
                continue  # the gap was used up and the stages spread out: place it again
        else:
            stage.position = (stages[-1].position if stages else 0) + POSITION_GAP
        break
    stage.save()
    _audit(
        pipeline.workspace_id, actor, "stage.created", _stage_target(stage),
        new=_shown(stage.visible_to_customer),
    )  # fmt: skip
    return stage


@service
def stage_update(*, stage: Stage, actor: User, **fields: Any) -> Stage:
    """Renaming is safe: jobs point at the stage, not at its name."""
    pipeline = Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
    saved = Stage.objects.get(pk=stage.pk)
    was_terminal = saved.is_terminal
    before = {name: getattr(saved, name) for name in fields}
    target = f"{pipeline.name} → {saved.name}"
    for name, value in fields.items():
        if name not in STAGE_EDITABLE:
            raise ValueError(f"Not a stage field: {name}")
        setattr(stage, name, value)
    if stage.is_terminal != was_terminal and stage.jobs.exists():
        # Jobs in the stage would be closed (or open) without a move on record.
        raise ValidationError(
            {"is_terminal": "Move the jobs out of this stage before changing whether it "
             "finishes the job."}
        )  # fmt: skip
    _clean_stage(stage)
    others = [s for s in live_stages(stage.pipeline) if s.pk != stage.pk]
    validate_stage_set([*others, stage])
    stage.save()
    after = {name: getattr(stage, name) for name in fields}
    audit_changes(
        workspace=Workspace(pk=pipeline.workspace_id), actor=actor, action="stage.changed",
        target=target, before=before, after=after,
    )  # fmt: skip
    if before.get("visible_to_customer", stage.visible_to_customer) != stage.visible_to_customer:
        # What customers read as the status of jobs that went through it changes too.
        hooks.stage_visibility_changed(stage)
    return stage


def _renumber(pipeline: Pipeline) -> None:
    for index, stage in enumerate(live_stages(pipeline), start=1):
        Stage.objects.filter(pk=stage.pk).update(position=index * POSITION_GAP)


def _between(lower: int, upper: int, pipeline: Pipeline) -> int:
    if upper - lower >= 2:
        return (lower + upper) // 2
    _renumber(pipeline)  # the gap is used up: spread everything out once, rarely
    raise _Renumbered


class _Renumbered(Exception):
    pass


@service
def stage_reorder(*, stage: Stage, actor: User, before: Stage | None) -> None:
    """Place a stage just before another one (or last with ``before=None``).

    Only the moved stage changes position; the gaps make that possible almost always.
    """
    Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
    old_place = _place(stage)
    for _attempt in range(2):
        stages = [s for s in live_stages(stage.pipeline) if s.pk != stage.pk]
        try:
            if before is None:
                position = (stages[-1].position if stages else 0) + POSITION_GAP
            else:
                before = next(s for s in stages if s.pk == before.pk)
                index = stages.index(before)
                lower = (
                    stages[index - 1].position if index > 0 else before.position - 2 * POSITION_GAP
                )
                position = _between(lower, before.position, stage.pipeline)
        except _Renumbered:
            continue
        Stage.objects.filter(pk=stage.pk).update(position=position)
        stage.position = position
        new_place = _place(stage)
        if new_place != old_place:
            _audit(
                stage.pipeline.workspace_id, actor, "stage.moved", _stage_target(stage),
                old=old_place, new=new_place,
            )  # fmt: skip
        return


def _place(stage: Stage) -> int:
    """The stage's place in its pipeline's order, counted from 1."""
    return next(i for i, s in enumerate(live_stages(stage.pipeline), start=1) if s.pk == stage.pk)


@service
def stage_move_step(*, stage: Stage, actor: User, direction: int) -> None:
    """Keyboard alternative to drag and drop: one place up (-1) or down (+1)."""
    stages = live_stages(stage.pipeline)
    index = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
    target = index + direction
    if target < 0 or target >= len(stages):
        return
    if direction < 0:
        stage_reorder.step(stage=stage, actor=actor, before=stages[target])
    else:
        after_next = stages[target + 1] if target + 1 < len(stages) else None
        stage_reorder.step(stage=stage, actor=actor, before=after_next)


@service
def stage_delete(*, stage: Stage, actor: User, move_jobs_to: Stage | None = None) -> int:
    """Delete a stage. Jobs in it must go somewhere first: with ``move_jobs_to`` they are all
    moved there by the jobs app (each move logged on its job). Returns how many jobs moved."""
    Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
    remaining = [s for s in live_stages(stage.pipeline) if s.pk != stage.pk]
    validate_stage_set(remaining)
    # The jobs are counted through the reverse relation: this app does not know the Job model.
    holding = stage.jobs.count()
    if holding and move_jobs_to is None:
        raise ValidationError(
            {"move_jobs_to": f"{holding} job(s) are in this stage. Choose where they go."}
        )
    if move_jobs_to is not None and (
        move_jobs_to.pipeline_id != stage.pipeline_id
        or move_jobs_to.pk == stage.pk
        or move_jobs_to.deleted_at is not None
    ):
        raise ValidationError({"move_jobs_to": "Choose another stage of this pipeline."})
    moved = hooks.empty_stage(stage, move_jobs_to, actor) if move_jobs_to is not None else 0
    if stage.jobs.exists():
        raise ValidationError({"move_jobs_to": "Some jobs could not be moved. Try again."})
    stage.deleted_at = timezone.now()
    stage.save(update_fields=["deleted_at"])
    _audit(
        stage.pipeline.workspace_id, actor, "stage.deleted", _stage_target(stage),
        new=f"{moved} job(s) moved to {move_jobs_to.name}" if moved and move_jobs_to else "",
    )  # fmt: skip
    return moved


def _clean_field(field: StageField) -> None:
    if field.field_type in (FieldType.DROPDOWN, FieldType.MULTI_DROPDOWN):
        options = [str(o).strip() for o in (field.options or []) if str(o).strip()]
        if not options:
            raise ValidationError({"options": "A dropdown needs at least one choice."})
        field.options = options
    else:
        field.options = []
    if field.editable_by_customer and not field.visible_to_customer:
        raise ValidationError(
            {"editable_by_customer": "A field the customer edits must be visible to them."}
        )
    if field.condition_field is not None:
        if field.condition_field.stage_id != field.stage_id or field.condition_field == field:
            raise ValidationError(
                {"condition_field": "The condition must use another field of this form."}
            )
    else:
        field.condition_value = ""
    field.full_clean(exclude=["stage", "condition_field"])


def _field_settings(field: StageField) -> dict[str, Any]:
    """A field's settings as the audit log writes them (the condition by its field's label)."""
    settings = {name: getattr(field, name) for name in FIELD_EDITABLE if name != "condition_field"}
    settings["condition_field"] = field.condition_field.label if field.condition_field else ""
    return settings


@service
def field_create(*, stage: Stage, actor: User, **values: Any) -> StageField:
    last = stage.fields.order_by("-position").values_list("position", flat=True).first() or 0
    field = StageField(stage=stage, position=last + 1)
    for name, value in values.items():
        if name not in FIELD_EDITABLE:
            raise ValueError(f"Not a form field setting: {name}")
        setattr(field, name, value)
    _clean_field(field)
    field.save()
    _audit(
        stage.pipeline.workspace_id, actor, "field.created", _field_target(field),
        new=_shown(field.visible_to_customer),
    )  # fmt: skip
    return field


@service
def field_update(*, field: StageField, actor: User, **values: Any) -> StageField:
    saved = StageField.objects.select_related("condition_field").get(pk=field.pk)
    before = _field_settings(saved)
    target = _field_target(saved)
    for name, value in values.items():
        if name not in FIELD_EDITABLE:
            raise ValueError(f"Not a form field setting: {name}")
        setattr(field, name, value)
    _clean_field(field)
    field.save()
    after = _field_settings(field)
    audit_changes(
        workspace=Workspace(pk=field.stage.pipeline.workspace_id), actor=actor,
        action="field.changed", target=target, before=before,
        after={name: after[name] for name in values},
    )  # fmt: skip
    return field


@service
def field_retire(*, field: StageField, actor: User) -> None:
    """Removing a field retires it: its saved values stay readable on jobs and in the feed."""
    if field.retired_at is None:
        field.retired_at = timezone.now()
        field.save(update_fields=["retired_at"])
        StageField.objects.filter(condition_field=field).update(
            condition_field=None, condition_value=""
        )
        _audit(field.stage.pipeline.workspace_id, actor, "field.retired", _field_target(field))


@service
def field_move_step(*, field: StageField, actor: User, direction: int) -> None:
    fields = list(field.stage.fields.filter(retired_at__isnull=True).order_by("position", "id"))
    index = next(i for i, f in enumerate(fields) if f.pk == field.pk)
    target = index + direction
    if 0 <= target < len(fields):
        fields[index], fields[target] = fields[target], fields[index]
        for position, each in enumerate(fields, start=1):
            StageField.objects.filter(pk=each.pk).update(position=position)
        _audit(
            field.stage.pipeline.workspace_id, actor, "field.moved", _field_target(field),
            old=index + 1, new=target + 1,
        )  # fmt: skip
