"""Forms for pipelines, their stages and their stage forms. The services hold the rules that
need the database (a pipeline keeps an open and a won stage); their errors land here too."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from jobline.pipelines.blueprints import BLUEPRINTS
from jobline.pipelines.models import FieldType, Stage, StageField

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DROPDOWNS = (FieldType.DROPDOWN, FieldType.MULTI_DROPDOWN)

# New stages get the next colour of the blueprints' palette, so a fresh list is not all grey.
PALETTE = ("#0284c7", "#2563eb", "#7c3aed", "#db2777", "#d97706", "#0d9488", "#64748b")


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """A service's ValidationError as form errors: next to the field when the form has it."""
    if hasattr(error, "error_dict"):
        for field, field_errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error.messages)


def _required_text(value: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise forms.ValidationError(message)
    return value


class PipelineCreateForm(forms.Form):
    """A blank pipeline: the two stages every pipeline needs are added by the service."""

    name = forms.CharField(max_length=120, error_messages={"required": "Give the pipeline a name."})
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For your team: what kind of work runs through it.",
    )

    def clean_name(self) -> str:
        return _required_text(self.cleaned_data.get("name", ""), "Give the pipeline a name.")


class PipelineSettingsForm(PipelineCreateForm):
    customers_can_reply = forms.BooleanField(
        label="Customers can reply", required=False, help_text="Customers may answer in the portal."
    )
    customers_can_upload = forms.BooleanField(
        label="Customers can upload",
        required=False,
        help_text="Customers may add files in the portal.",
    )

    field_order = ["name", "description", "customers_can_reply", "customers_can_upload"]


class BlueprintForm(forms.Form):
    template = forms.ChoiceField(
        choices=[(bp.key, bp.name) for bp in BLUEPRINTS],
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose one of the templates.",
            "invalid_choice": "Choose one of the templates.",
        },
    )
    name = forms.CharField(
        max_length=120,
        required=False,
        help_text="Leave empty to use the template's name.",
    )

    def clean_name(self) -> str:
        return (self.cleaned_data.get("name") or "").strip()


class StageForm(forms.Form):
    name = forms.CharField(max_length=80, error_messages={"required": "Give the stage a name."})
    colour = forms.CharField(
        max_length=7,
        error_messages={"required": "Choose a colour (#rrggbb)."},
        initial=PALETTE[0],
        widget=forms.TextInput(attrs={"type": "color"}),
        help_text="Used for the column top and the stage's chip.",
    )
    is_terminal = forms.BooleanField(
        label="Finishes the job",
        required=False,
        help_text="Entering this stage closes the job (for example Completed).",
    )
    is_cancelled = forms.BooleanField(
        label="Counts as lost",
        required=False,
        help_text="With “Finishes the job”: the job was cancelled, lost or withdrawn.",
    )
    internal = forms.BooleanField(
        label="Internal",
        required=False,
        help_text="Customers never see this stage; they keep seeing the last visible one.",
    )
    customer_label = forms.CharField(
        label="Name the customer sees",
        max_length=80,
        required=False,
        help_text="Leave empty to show the stage's own name.",
    )
    requires_approval = forms.BooleanField(
        label="Customer approves",
        required=False,
        help_text="Entering it asks the customer to approve; the job moves on past it only "
        "once they do (or an Admin or Manager overrides, with a reason).",
    )

    @classmethod
    def initial_for(cls, stage: Stage) -> dict[str, Any]:
        return {
            "name": stage.name,
            "colour": stage.colour,
            "is_terminal": stage.is_terminal,
            "is_cancelled": stage.is_cancelled,
            "internal": not stage.visible_to_customer,
            "customer_label": stage.customer_label,
            "requires_approval": stage.requires_approval,
        }

    def clean_name(self) -> str:
        return _required_text(self.cleaned_data.get("name", ""), "Give the stage a name.")

    def clean_colour(self) -> str:
        colour = (self.cleaned_data.get("colour") or "").strip()
        if not HEX_COLOUR.match(colour):
            raise forms.ValidationError("Choose a colour (#rrggbb).")
        return colour.lower()

    def clean_customer_label(self) -> str:
        return (self.cleaned_data.get("customer_label") or "").strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("is_cancelled") and not cleaned.get("is_terminal"):
            self.add_error("is_cancelled", "Only a stage that finishes the job can be lost.")
        return cleaned

    def service_values(self) -> dict[str, Any]:
        """The cleaned data under the Stage model's names."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "colour": data["colour"],
            "is_terminal": data["is_terminal"],
            "is_cancelled": data["is_cancelled"],
            "visible_to_customer": not data["internal"],
            "customer_label": data["customer_label"],
            "requires_approval": data["requires_approval"],
        }


class ConditionFieldChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: StageField) -> str:
        return obj.label


class FieldForm(forms.Form):
    """One field of a stage's job form. The condition can only use another live field of the
    same stage, and never one that (through its own condition) depends on this field."""

    label = forms.CharField(max_length=120, error_messages={"required": "Give the field a label."})
    help_text = forms.CharField(
        label="Help text", max_length=255, required=False, help_text="Shown under the field."
    )
    field_type = forms.ChoiceField(label="Type", choices=FieldType.choices)
    options = forms.CharField(
        label="Choices",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For dropdowns: one choice per line.",
    )
    required = forms.BooleanField(
        required=False, help_text="A job cannot move on from this stage until it is filled in."
    )
    visible_to_customer = forms.BooleanField(
        label="Visible to customer", required=False, help_text="Off = internal."
    )
    editable_by_customer = forms.BooleanField(
        label="Customer can fill it in",
        required=False,
        help_text="The customer answers it in the portal.",
    )
    condition_field = ConditionFieldChoice(
        label="Show only when",
        queryset=StageField.objects.none(),
        required=False,
        empty_label="Always show",
        error_messages={"invalid_choice": "The condition must use another field of this form."},
    )
    condition_value = forms.CharField(
        label="has the value",
        max_length=120,
        required=False,
        help_text="For a checkbox: true or false. For a dropdown: one of its choices.",
    )

    def __init__(self, *args: Any, stage: Stage, field: StageField | None = None, **kwargs: Any):
        if field is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "label": field.label,
                "help_text": field.help_text,
                "field_type": field.field_type,
                "options": "\n".join(str(o) for o in field.options or []),
                "required": field.required,
                "visible_to_customer": field.visible_to_customer,
                "editable_by_customer": field.editable_by_customer,
                "condition_field": field.condition_field_id,
                "condition_value": field.condition_value,
            }
        super().__init__(*args, **kwargs)
        self.stage = stage
        self.field = field
        candidates = list(
            stage.fields.filter(retired_at__isnull=True)
            .select_related("condition_field")
            .order_by("position", "id")
        )
        excluded = self._dependants(candidates) if field is not None else set()
        self.fields["condition_field"].queryset = stage.fields.filter(
            retired_at__isnull=True, pk__in=[f.pk for f in candidates if f.pk not in excluded]
        ).order_by("position", "id")

    def _dependants(self, candidates: list[StageField]) -> set[int]:
        """This field and every field shown only through it: none may be its condition."""
        assert self.field is not None
        parent = {f.pk: f.condition_field_id for f in candidates}
        excluded = {self.field.pk}
        for pk in parent:
            seen: set[int] = set()
            current: int | None = pk
            while current is not None and current not in seen:
                if current == self.field.pk:
                    excluded.add(pk)
                    break
                seen.add(current)
                current = parent.get(current)
        return excluded

    def clean_label(self) -> str:
        return _required_text(self.cleaned_data.get("label", ""), "Give the field a label.")

    def clean_help_text(self) -> str:
        return (self.cleaned_data.get("help_text") or "").strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        field_type = cleaned.get("field_type")
        lines = [line.strip() for line in (cleaned.get("options") or "").splitlines()]
        options = list(dict.fromkeys(line for line in lines if line))
        if field_type in DROPDOWNS:
            if not options:
                self.add_error("options", "A dropdown needs at least one choice, one per line.")
            cleaned["options"] = options
        else:
            cleaned["options"] = []
        if cleaned.get("editable_by_customer") and not cleaned.get("visible_to_customer"):
            self.add_error(
                "editable_by_customer", "A field the customer fills in must be visible to them."
            )
        condition = cleaned.get("condition_field")
        value = (cleaned.get("condition_value") or "").strip()
        if condition is None:
            value = ""
        elif not value:
            self.add_error("condition_value", f"Say which value of “{condition.label}” shows it.")
        elif condition.field_type == FieldType.CHECKBOX:
            if value.lower() not in ("true", "false"):
                self.add_error(
                    "condition_value",
                    f"“{condition.label}” is a checkbox: use true (ticked) or false.",
                )
            value = value.lower()
        elif condition.field_type == FieldType.DROPDOWN:
            match = next((o for o in condition.options if o.lower() == value.lower()), None)
            if match is None:
                self.add_error(
                    "condition_value",
                    f"Use one of the choices of “{condition.label}”: "
                    + ", ".join(condition.options)
                    + ".",
                )
            else:
                value = match
        cleaned["condition_value"] = value
        return cleaned

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "label": data["label"],
            "help_text": data["help_text"],
            "field_type": data["field_type"],
            "options": data["options"],
            "required": data["required"],
            "visible_to_customer": data["visible_to_customer"],
            "editable_by_customer": data["editable_by_customer"],
            "condition_field": data["condition_field"],
            "condition_value": data["condition_value"],
        }


class StageDeleteForm(forms.Form):
    move_jobs_to = forms.ModelChoiceField(
        label="Move its jobs to",
        queryset=Stage.objects.none(),
        required=False,
        empty_label="Choose a stage…",
        error_messages={"invalid_choice": "Choose another stage of this pipeline."},
    )

    def __init__(self, *args: Any, stage: Stage, job_count: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["move_jobs_to"].queryset = (
            Stage.objects.filter(pipeline_id=stage.pipeline_id, deleted_at__isnull=True)
            .exclude(pk=stage.pk)
            .order_by("position", "id")
        )
        self.job_count = job_count
        noun = "job is" if job_count == 1 else "jobs are"
        # Only a stage that holds jobs needs somewhere to send them.
        self.fields["move_jobs_to"].required = job_count > 0
        self.fields["move_jobs_to"].error_messages["required"] = (
            f"{job_count} {noun} in this stage. Choose where they go."
        )


class ReorderForm(forms.Form):
    """``before``: the stage to place the moved one in front of; empty = last."""

    before = forms.IntegerField(required=False, min_value=1)


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])

    def step(self) -> int:
        return -1 if self.cleaned_data["direction"] == "up" else 1


class PipelineFilterForm(forms.Form):
    show = forms.ChoiceField(
        required=False, choices=[("active", "Active"), ("all", "All, with archived")]
    )
