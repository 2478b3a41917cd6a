"""Forms for jobs: create/edit, filters, moving, the composer, and stage forms built from
their field definitions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms

from jobline.core.one_time import OneTimeTokenField
from jobline.customers.forms import CustomerOrNewFields
from jobline.customers.models import Customer
from jobline.jobs.choices import Visibility
from jobline.jobs.selectors import SORT_CHOICES, owners
from jobline.jobs.services import MESSAGE_MAX_CHARS
from jobline.jobs.stage_forms import condition_holds
from jobline.pipelines.models import FieldType, Pipeline, Stage, StageField
from jobline.workspaces.models import Workspace


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def _owner_choices(workspace: Workspace) -> list[tuple[str, str]]:
    # Only what the choices show: not each member's password hash and timestamps (on
    # PostgreSQL every timestamp read is parsed in Python).
    people = owners(workspace=workspace).only("user", "user__full_name", "user__email")
    return [("", "— Nobody —")] + [
        (str(m.user_id), m.user.full_name or m.user.email) for m in people
    ]


class JobCreateForm(CustomerOrNewFields):
    one_time_token = OneTimeTokenField()
    title = forms.CharField(max_length=200)
    pipeline = forms.ModelChoiceField(queryset=Pipeline.objects.none(), empty_label=None)
    stage = forms.ModelChoiceField(
        queryset=Stage.objects.none(),
        required=False,
        label="Starting stage",
        help_text="Leave empty to start at the pipeline's first stage.",
    )
    owner = forms.ChoiceField(required=False)
    due_date = forms.DateField(required=False, widget=DateInput(), label="Due date")

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.fields["pipeline"].queryset = Pipeline.objects.filter(
            workspace=workspace, archived_at__isnull=True
        ).order_by("name")
        self.fields["stage"].queryset = Stage.objects.filter(
            pipeline__workspace=workspace, deleted_at__isnull=True
        ).select_related("pipeline")
        self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline.name} → {s.name}"
        self.fields["owner"].choices = _owner_choices(workspace)
        self.choose_customers_of(workspace)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        pipeline, stage = data.get("pipeline"), data.get("stage")
        if pipeline and stage and stage.pipeline_id != pipeline.pk:
            self.add_error("stage", f"{stage.name} is a stage of another pipeline.")
        return data


class JobEditForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    title = forms.CharField(max_length=200)
    owner = forms.ChoiceField(required=False)
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.none(), required=False, empty_label="— No customer —"
    )
    due_date = forms.DateField(required=False, widget=DateInput(), label="Due date")

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = _owner_choices(workspace)
        self.fields["customer"].queryset = Customer.objects.filter(workspace=workspace).order_by(
            "name"
        )


class PreloadedModelChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField that checks the submitted id against rows the view has already read
    (``preloaded``, the same rows as its queryset) instead of reading the row again."""

    preloaded: list[Any] | None = None

    def to_python(self, value: Any) -> Any:
        if self.preloaded is None or value in self.empty_values or self.to_field_name:
            return super().to_python(value)
        if isinstance(value, self.queryset.model):
            value = value.pk
        try:
            pk = int(value)  # what the queryset's pk lookup would make of it
        except (TypeError, ValueError):
            pk = None
        found = next((row for row in self.preloaded if row.pk == pk), None)
        if found is None:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return found


class JobFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    pipeline = PreloadedModelChoiceField(
        queryset=Pipeline.objects.none(), required=False, empty_label="All pipelines"
    )
    stage = forms.ModelChoiceField(
        queryset=Stage.objects.none(), required=False, empty_label="All stages"
    )
    owner = forms.ChoiceField(required=False)
    # A hidden id, shown as a removable chip: a <select> of every customer cost ~180 ms per
    # list request at 2,000 customers (bench/). The customer's page links here with it set.
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.none(), required=False, widget=forms.HiddenInput
    )
    due = forms.ChoiceField(
        required=False,
        choices=[("", "Any due date"), ("overdue", "Overdue"), ("week", "Due this week"),
                 ("none", "No due date")],
    )  # fmt: skip
    state = forms.ChoiceField(
        required=False,
        choices=[("open", "Open"), ("closed", "Closed"), ("archived", "Archived"), ("all", "All")],
    )
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES)

    def __init__(
        self, *args: Any, workspace: Workspace, pipelines: list[Pipeline] | None = None,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        """``pipelines``: the workspace's active pipelines when the view has read them (the
        list page shows them): the chosen one is checked against them, not read again."""
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].queryset = Pipeline.objects.filter(
            workspace=workspace, archived_at__isnull=True
        ).order_by("name")
        self.fields["pipeline"].preloaded = pipelines  # type: ignore[attr-defined]
        # The options show "pipeline → stage" (~40 rows); the filter uses the chosen stage's id.
        self.fields["stage"].queryset = (
            Stage.objects.filter(pipeline__workspace=workspace, deleted_at__isnull=True)
            .select_related("pipeline")
            .only("name", "pipeline__name")
        )
        self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline.name} → {s.name}"
        self.fields["owner"].choices = [("mine", "Mine"), ("all", "Everyone")] + [
            (value, label) for value, label in _owner_choices(workspace) if value
        ]
        self.fields["customer"].queryset = Customer.objects.filter(workspace=workspace).order_by(
            "name"
        )


class MoveForm(forms.Form):
    stage = forms.IntegerField()
    version = forms.IntegerField()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by jobs.uploads (size, real type)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            if not data:
                # An empty list passed Django's own required check: "Add files" with no file
                # must not answer success.
                if self.required:
                    raise forms.ValidationError(self.error_messages["required"], code="required")
                return []
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return super().clean(data, initial)


class ComposerForm(forms.Form):
    one_time_token = OneTimeTokenField()
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Message",
        required=False,
        max_length=MESSAGE_MAX_CHARS,
        error_messages={
            "max_length": "A message can be at most %(limit_value)s characters; "
            "this one has %(show_value)s."
        },
    )
    files = MultipleFileField(required=False, label="Attach files")
    visibility = forms.ChoiceField(
        choices=[
            (Visibility.INTERNAL, "Internal note"),
            (Visibility.CUSTOMER, "Reply to customer"),
        ],
        widget=forms.RadioSelect,
        initial=Visibility.INTERNAL,
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("body") or "").strip() and not self.files.getlist("files"):
            self.add_error("body", "Write something or attach a file.")
        return data


class FileUploadForm(forms.Form):
    files = MultipleFileField(
        label="Files", error_messages={"required": "Choose at least one file."}
    )
    visibility = forms.ChoiceField(
        choices=[(Visibility.INTERNAL, "Internal"), (Visibility.CUSTOMER, "Visible to customer")],
        initial=Visibility.INTERNAL,
        label="Who sees them",
    )


class DocumentRequestForm(forms.Form):
    one_time_token = OneTimeTokenField()
    title = forms.CharField(max_length=160, label="Document", help_text="E.g. “Photo ID”.")
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="What you need",
        max_length=2000,
    )
    due_date = forms.DateField(required=False, widget=DateInput(), label="Needed by")


class ReopenRequestForm(forms.Form):
    reason = forms.CharField(max_length=300, label="Why it is needed again")


class CopyForm(forms.Form):
    pipeline = forms.ModelChoiceField(
        queryset=Pipeline.objects.none(),
        label="Copy into",
        empty_label="Choose a pipeline",
        error_messages={
            "required": "Choose the pipeline to copy the job into.",
            "invalid_choice": "Choose another active pipeline of this workspace.",
        },
    )

    def __init__(self, *args: Any, workspace: Workspace, exclude: Pipeline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].queryset = (
            Pipeline.objects.filter(workspace=workspace, archived_at__isnull=True)
            .exclude(pk=exclude.pk)
            .order_by("name")
        )


def field_name(field: StageField) -> str:
    return f"f_{field.pk}"


def _form_field(field: StageField) -> forms.Field:
    common: dict[str, Any] = {"label": field.label, "help_text": field.help_text, "required": False}
    kind = field.field_type
    if kind == FieldType.LONG_TEXT:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, **common)
    if kind == FieldType.NUMBER:
        return forms.DecimalField(max_digits=14, decimal_places=4, **common)
    if kind == FieldType.MONEY:
        return forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal(0), **common)
    if kind == FieldType.DATE:
        return forms.DateField(widget=DateInput(), **common)
    if kind == FieldType.CHECKBOX:
        return forms.BooleanField(**common)
    if kind == FieldType.DROPDOWN:
        return forms.ChoiceField(choices=[("", "—")] + [(o, o) for o in field.options], **common)
    if kind == FieldType.MULTI_DROPDOWN:
        return forms.MultipleChoiceField(
            choices=[(o, o) for o in field.options], widget=forms.CheckboxSelectMultiple, **common
        )
    if kind == FieldType.FILE:
        return MultipleFileField(**common)
    return forms.CharField(max_length=500, **common)


def to_json(field: StageField, value: Any) -> Any:
    """Form values to what FieldValue stores (JSON)."""
    if value in (None, "", []):
        return None if field.field_type != FieldType.CHECKBOX else False
    if isinstance(value, Decimal):
        return str(value.normalize()) if field.field_type == FieldType.NUMBER else f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def from_json(field: StageField, value: Any) -> Any:
    if value is None:
        return None
    if field.field_type == FieldType.DATE and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return value


class StageForm(forms.Form):
    """A stage's job form. ``fields`` decides which StageFields appear (money fields are left
    out for Staff); ``require`` marks the ones the required-fields dialog asks for."""

    def __init__(
        self,
        *args: Any,
        stage_fields: list[StageField],
        values: dict[int, Any],
        require: set[int] | None = None,
        prefix: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, prefix=prefix, **kwargs)
        self.stage_fields = list(stage_fields)
        for stage_field in self.stage_fields:
            form_field = _form_field(stage_field)
            form_field.stage_field = stage_field  # type: ignore[attr-defined]
            if require and stage_field.pk in require:
                form_field.required = True
            self.fields[field_name(stage_field)] = form_field
            self.initial[field_name(stage_field)] = from_json(
                stage_field, values.get(stage_field.pk)
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # A field hidden by its condition is never required.
        current = {f.pk: to_json(f, data.get(field_name(f))) for f in self.stage_fields}
        for stage_field in self.stage_fields:
            name = field_name(stage_field)
            if name in self.errors and not condition_holds(stage_field, current):
                del self.errors[name]
        return data

    def json_values(self) -> dict[int, Any]:
        """Values to store, file fields excepted: their uploads are stored by the view, which
        then records the new files next to the ones saved before."""
        return {
            f.pk: to_json(f, self.cleaned_data.get(field_name(f)))
            for f in self.stage_fields
            if field_name(f) in self.cleaned_data and f.field_type != FieldType.FILE
        }

    def uploads_by_field(self) -> dict[StageField, list[Any]]:
        chosen = {}
        for stage_field in self.stage_fields:
            if stage_field.field_type != FieldType.FILE:
                continue
            files = self.files.getlist(self.add_prefix(field_name(stage_field)))
            if files:
                chosen[stage_field] = files
        return chosen
