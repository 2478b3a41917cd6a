"""Pipelines: ordered stages a job moves through, and the form fields each stage asks for."""

from __future__ import annotations

from functools import lru_cache

from django.db import models
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone

from jobline.workspaces.models import Workspace
from jobline.workspaces.viewers import Viewer, sees_money

# Stages are placed at gapped positions so a drag between two stages never renumbers the rest.
POSITION_GAP = 1024


class PipelineQuerySet(models.QuerySet["Pipeline"]):
    def active_in(self, workspace: Workspace | int) -> PipelineQuerySet:
        """A workspace's pipelines that take new work (not archived), by name."""
        return self.filter(workspace=workspace, archived_at__isnull=True).order_by("name", "id")


class Pipeline(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="pipelines")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    customers_can_reply = models.BooleanField(
        "Customers can reply", default=True, help_text="Customers may answer in the portal."
    )
    customers_can_upload = models.BooleanField(
        "Customers can upload", default=True, help_text="Customers may add files in the portal."
    )
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = PipelineQuerySet.as_manager()

    class Meta:
        indexes = [
            # Serves the pipelines page and every pipeline picker: a workspace's active ones.
            models.Index(fields=["workspace", "archived_at", "name"], name="pipeline_ws_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


def _customer_stage_q() -> Q:
    return Q(visible_to_customer=True)


class StageQuerySet(models.QuerySet["Stage"]):
    def live(self) -> StageQuerySet:
        """Stages not deleted, in board order."""
        return self.filter(deleted_at__isnull=True).order_by("position", "id")

    def visible_to(self, viewer: Viewer | None) -> StageQuerySet:
        """The stages a viewer may read by name. Members: every stage of their workspace.
        Customers (and previews): only stages flagged visible to the customer; an internal
        stage's name and label never reach them."""
        if viewer is None:
            return self.none()
        mine = self.filter(pipeline__workspace_id=viewer.workspace_id)
        return mine.filter(_customer_stage_q()) if viewer.sees_as_customer else mine

    def with_customer_visibility(self) -> StageQuerySet:
        """Each stage with ``customer_sees`` (staff pages' Internal chips): the same rule."""
        return self.annotate(
            customer_sees=ExpressionWrapper(_customer_stage_q(), output_field=BooleanField())
        )


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=80)
    colour = models.CharField(max_length=7, default="#64748b", help_text="Column colour, #rrggbb.")
    position = models.IntegerField()
    is_terminal = models.BooleanField(
        "Finishes the job", default=False, help_text="Entering this stage closes the job."
    )
    is_cancelled = models.BooleanField(
        "Counts as lost", default=False, help_text="With 'finishes the job': cancelled or lost."
    )
    visible_to_customer = models.BooleanField(
        "Visible to customer",
        default=True,
        help_text="Off = internal: the customer keeps seeing the last visible stage.",
    )
    customer_label = models.CharField(
        max_length=80, blank=True, help_text="What the customer reads instead of the stage name."
    )
    # A job entering it asks its customer to approve (the approvals app), and cannot move on
    # past it until they do (or an Admin or Manager overrides, with a reason).
    requires_approval = models.BooleanField(default=False)
    # Deleted stages stay as rows: old feed entries and saved form values still point at them.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = StageQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_cancelled=False) | Q(is_terminal=True),
                name="stage_cancelled_is_terminal",
            ),
        ]
        indexes = [
            # Serves the board's columns and every stage list: a pipeline's stages in order.
            models.Index(fields=["pipeline", "position"], name="stage_order_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_won(self) -> bool:
        return self.is_terminal and not self.is_cancelled

    @property
    def is_lost(self) -> bool:
        return self.is_terminal and self.is_cancelled

    @property
    def label_for_customer(self) -> str:
        return self.customer_label or self.name

    @property
    def text_colour(self) -> str:
        """Black or white, whichever reads better on the stage colour (WCAG contrast)."""
        return contrast_text_colour(self.colour)


def _relative_luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@lru_cache(maxsize=1024)
def contrast_text_colour(hex_colour: str) -> str:
    """Remembered per colour: a list page asks it for every row (~25 µs each)."""
    try:
        luminance = _relative_luminance(hex_colour)
    except (ValueError, IndexError):
        return "#111827"
    on_black = (luminance + 0.05) / 0.05
    on_white = 1.05 / (luminance + 0.05)
    return "#111827" if on_black >= on_white else "#ffffff"


class FieldType(models.TextChoices):
    TEXT = "text", "Text"
    LONG_TEXT = "long_text", "Long text"
    NUMBER = "number", "Number"
    MONEY = "money", "Money"
    DATE = "date", "Date"
    CHECKBOX = "checkbox", "Checkbox"
    DROPDOWN = "dropdown", "Dropdown"
    MULTI_DROPDOWN = "multi_dropdown", "Dropdown (several)"
    FILE = "file", "File upload"


def _customer_field_q(prefix: str = "") -> Q:
    return Q(
        **{
            f"{prefix}visible_to_customer": True,
            f"{prefix}retired_at__isnull": True,
            f"{prefix}stage__visible_to_customer": True,
            f"{prefix}stage__deleted_at__isnull": True,
        }
    )


def readable_on_job_q(
    viewer: Viewer, *, customer_stage_position: int | None, prefix: str = ""
) -> Q | None:
    """The rule of StageField.objects.on_job as a condition on fields (``prefix`` reaches
    them from another model: "field__" from a saved value). None: no field at all."""
    condition = Q()
    if not sees_money(viewer):
        condition &= ~Q(**{f"{prefix}field_type": FieldType.MONEY})
    if viewer.sees_as_customer:
        if customer_stage_position is None:
            return None
        condition &= _customer_field_q(prefix) & Q(
            **{f"{prefix}stage__position__lte": customer_stage_position}
        )
    return condition


class StageFieldQuerySet(models.QuerySet["StageField"]):
    def visible_to(self, viewer: Viewer | None) -> StageFieldQuerySet:
        """The form fields whose labels and values a viewer may read. Members: all of their
        workspace's. Customers (and previews): live fields flagged visible to the customer on
        live stages that are visible to the customer — an internal stage makes everything
        on it internal, its fields included. (Which of those a given job shows also depends
        on how far the customer has seen the job go: FieldValue.objects.visible_to.)"""
        if viewer is None:
            return self.none()
        mine = self.filter(stage__pipeline__workspace_id=viewer.workspace_id)
        return mine.filter(_customer_field_q()) if viewer.sees_as_customer else mine

    def on_job(
        self,
        viewer: Viewer | None,
        *,
        workspace_id: int,
        pipeline_id: int,
        customer_stage_position: int | None,
    ) -> StageFieldQuerySet:
        """The fields of a job's pipeline whose labels and values the viewer may read on
        that job: money fields only for viewers who see money, and for customers only
        customer-visible fields (visible_to) of stages no later than the customer-visible
        stage the job last entered (``customer_stage_position``; None: it entered none, so no
        fields). What a customer sees follows that stage, never the real one: a move into an
        internal stage leaves no trace. The job's own workspace is checked in hand."""
        if viewer is None or workspace_id != viewer.workspace_id:
            return self.none()
        condition = readable_on_job_q(viewer, customer_stage_position=customer_stage_position)
        if condition is None:
            return self.none()
        return self.filter(condition, stage__pipeline_id=pipeline_id)

    def with_customer_visibility(self) -> StageFieldQuerySet:
        """Each field with ``customer_sees``: the same rule, for the pipeline editor's chips."""
        return self.annotate(
            customer_sees=ExpressionWrapper(_customer_field_q(), output_field=BooleanField())
        )


class StageField(models.Model):
    """One field of a stage's job form. Retired (never deleted) so saved values stay readable."""

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="fields")
    label = models.CharField(max_length=120)
    help_text = models.CharField(max_length=255, blank=True)
    field_type = models.CharField(max_length=20, choices=FieldType.choices, default=FieldType.TEXT)
    options = models.JSONField(default=list, blank=True, help_text="Choices for dropdowns.")
    required = models.BooleanField(default=False)
    visible_to_customer = models.BooleanField(default=False)
    editable_by_customer = models.BooleanField(default=False)
    # Show only when another field of the same form has a given value.
    condition_field = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="dependants"
    )
    condition_value = models.CharField(max_length=120, blank=True)
    position = models.IntegerField(default=0)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = StageFieldQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            # Serves a stage's form: its live fields in order.
            models.Index(fields=["stage", "retired_at", "position"], name="stagefield_form_idx"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def reaches_customer(self) -> bool:
        """_customer_field_q for one field in hand (deciding a new entry's or file's
        visibility while saving a form): flagged visible, not retired, on a live stage that
        is visible to the customer."""
        return (
            self.visible_to_customer
            and self.retired_at is None
            and self.stage.visible_to_customer
            and self.stage.deleted_at is None
        )

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def is_money(self) -> bool:
        return self.field_type == FieldType.MONEY
