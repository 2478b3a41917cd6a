"""The quote form with its lines (a formset), the conversion dialog, the customer's accept and
decline forms, and the tax rate form."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from jobline.bookings.forms import DateInput, StaffChoiceField, TimeInput, staff_queryset
from jobline.core import wall_time
from jobline.core.one_time import OneTimeTokenField
from jobline.customers.forms import CustomerOrNewFields
from jobline.pipelines.models import Pipeline, Stage
from jobline.quotes.models import NOTES_MAX, TITLE_MAX, DepositKind, TaxRate
from jobline.quotes.services import FirstVisit, LineInput
from jobline.workspaces.models import Workspace


class QuoteForm(CustomerOrNewFields):
    one_time_token = OneTimeTokenField()
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    title = forms.CharField(max_length=TITLE_MAX)
    pipeline = forms.ModelChoiceField(
        queryset=Pipeline.objects.none(), required=False, label="Meant for (pipeline)",
        empty_label="— Decide when converting —",
    )  # fmt: skip
    expires_on = forms.DateField(
        required=False, widget=DateInput(), label="Valid until",
        help_text="Empty: the workspace's usual validity.",
    )  # fmt: skip
    customer_notes = forms.CharField(
        max_length=NOTES_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3}),
        label="Notes for the customer",
    )  # fmt: skip
    internal_notes = forms.CharField(
        max_length=NOTES_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3}),
        label="Internal notes",
    )  # fmt: skip
    deposit_kind = forms.ChoiceField(choices=DepositKind.choices, label="Deposit on acceptance")
    deposit_value = forms.DecimalField(
        required=False, min_value=0, max_digits=14, decimal_places=2, label="Deposit (% or amount)"
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choose_customers_of(workspace)
        # One of the two is needed (the service says so): neither is "(optional)".
        self.fields["customer"].widget.attrs["data-needed-with"] = "new_customer_name"
        self.fields["pipeline"].queryset = Pipeline.objects.filter(
            workspace=workspace, archived_at__isnull=True
        ).order_by("name")


# (Validator messages are %-formatted with the limit: a percent sign is written %%.)
class LineForm(forms.Form):
    description = forms.CharField(max_length=500, required=False)
    quantity = forms.DecimalField(
        max_digits=12, decimal_places=3, initial=Decimal(1),
        error_messages={"min_value": "The quantity cannot be negative."},
        validators=[MinValueValidator(Decimal(0), "The quantity cannot be negative.")],
    )  # fmt: skip
    unit_price = forms.DecimalField(
        max_digits=14, decimal_places=2, label="Unit price",
        validators=[MinValueValidator(Decimal(0), "The price cannot be negative.")],
    )  # fmt: skip
    discount_percent = forms.DecimalField(
        max_digits=5, decimal_places=2, required=False, label="Discount %",
        validators=[MinValueValidator(Decimal(0), "A discount cannot be negative."),
                    MaxValueValidator(Decimal(100), "A discount is at most 100 %%.")],
    )  # fmt: skip
    tax_rate = forms.ModelChoiceField(
        queryset=TaxRate.objects.none(), required=False, empty_label="No tax"
    )
    optional = forms.BooleanField(required=False, label="Optional")

    def __init__(self, *args: Any, tax_rates: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if tax_rates is not None:
            self.fields["tax_rate"].queryset = tax_rates

    def to_line(self) -> LineInput | None:
        """The line, or None for a row left empty."""
        data = self.cleaned_data
        if not data or not (data.get("description") or "").strip():
            return None
        return LineInput(
            description=data["description"], quantity=data["quantity"],
            unit_price=data["unit_price"], discount_percent=data.get("discount_percent") or 0,
            tax_rate=data.get("tax_rate"), optional=data.get("optional", False),
        )  # fmt: skip


BaseLineFormSet = forms.formset_factory(LineForm, extra=0, max_num=200, absolute_max=200)


class LineFormSet(BaseLineFormSet):  # type: ignore[misc,valid-type]
    def __init__(self, *args: Any, tax_rates: Any, **kwargs: Any) -> None:
        self.tax_rates = tax_rates
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "tax_rates": self.tax_rates}

    def lines(self) -> list[LineInput]:
        return [line for form in self.forms if (line := form.to_line()) is not None]


def line_formset(
    data: Any = None, *, tax_rates: Any, initial: list[dict[str, Any]] | None = None,
    blank_rows: int = 3,
) -> LineFormSet:  # fmt: skip
    """The lines: the saved ones (or what was posted), and blank rows to add more (the page's
    "Add a line" button copies the empty form)."""
    formset = LineFormSet(data, prefix="line", tax_rates=tax_rates, initial=initial)
    if data is None:
        formset.extra = blank_rows
    return formset


class ConvertForm(forms.Form):
    one_time_token = OneTimeTokenField()
    pipeline = forms.ModelChoiceField(queryset=Pipeline.objects.none(), empty_label=None)
    stage = forms.ModelChoiceField(
        queryset=Stage.objects.none(), required=False, label="Starting stage",
        empty_label="— The pipeline's first stage —",
    )  # fmt: skip
    owner = forms.ChoiceField(required=False)
    without_acceptance = forms.BooleanField(
        required=False, label="Convert although the customer has not accepted yet"
    )
    book_visit = forms.BooleanField(required=False, label="Book the first visit")
    visit_date = forms.DateField(required=False, widget=DateInput(), label="Visit date")
    visit_time = forms.TimeField(required=False, widget=TimeInput(), label="Start")
    visit_minutes = forms.IntegerField(
        required=False, min_value=5, max_value=24 * 60, initial=60, label="Length (minutes)"
    )
    visit_staff = StaffChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, label="Staff"
    )
    book_anyway = forms.BooleanField(
        required=False, label="Book anyway, although it overlaps (this is logged)"
    )

    def __init__(self, *args: Any, workspace: Workspace, owners: list[tuple[str, str]],
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.time_zone = workspace.time_zone
        self.fields["pipeline"].queryset = Pipeline.objects.filter(
            workspace=workspace, archived_at__isnull=True
        ).order_by("name")
        self.fields["stage"].queryset = Stage.objects.filter(
            pipeline__workspace=workspace, deleted_at__isnull=True
        ).select_related("pipeline")
        self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline.name} → {s.name}"
        self.fields["owner"].choices = owners
        self.fields["visit_staff"].queryset = staff_queryset(workspace)
        # Needed once "Book the first visit" is ticked: not "(optional)" next to them.
        for name in ("visit_date", "visit_time", "visit_minutes"):
            self.fields[name].widget.attrs["data-needed-with"] = "book_visit"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        pipeline, stage = data.get("pipeline"), data.get("stage")
        if pipeline and stage and stage.pipeline_id != pipeline.pk:
            self.add_error("stage", f"{stage.name} is a stage of another pipeline.")
        if data.get("book_visit"):
            for name, message in (("visit_date", "Choose the visit's date."),
                                  ("visit_time", "Choose its start time."),
                                  ("visit_minutes", "Say how long it takes."),
                                  ("visit_staff", "Choose who goes.")):  # fmt: skip
                if not data.get(name):
                    self.add_error(name, message)
        return data

    def visit(self) -> FirstVisit | None:
        data = self.cleaned_data
        if not data.get("book_visit"):
            return None
        starts_at = wall_time.instant_on(data["visit_date"], data["visit_time"], self.time_zone)
        return FirstVisit(
            starts_at=starts_at,
            minutes=data["visit_minutes"],
            staff=list(data["visit_staff"]),
            book_anyway=data["book_anyway"],
        )


class AcceptForm(forms.Form):
    # Checked by the service, which says what to do ("Type your name to accept.").
    name = forms.CharField(max_length=150, label="Your full name", required=False)
    revision = forms.IntegerField(widget=forms.HiddenInput)


class DeclineForm(forms.Form):
    reason = forms.CharField(
        max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}),
        label="Anything we should know? (optional)",
    )  # fmt: skip
    revision = forms.IntegerField(widget=forms.HiddenInput)


class TaxRateForm(forms.Form):
    name = forms.CharField(max_length=60, label="Name", help_text="VAT, GST, zero-rated…")
    percent = forms.DecimalField(
        max_digits=7, decimal_places=4, label="Rate (%)",
        validators=[MinValueValidator(Decimal(0), "A tax rate cannot be negative."),
                    MaxValueValidator(Decimal(100), "A tax rate is at most 100 %%.")],
    )  # fmt: skip


def default_expiry(workspace: Workspace) -> dt.date:
    today = wall_time.local(dt.datetime.now(dt.UTC), workspace.time_zone).date()
    return today + dt.timedelta(days=workspace.quote_valid_days)
