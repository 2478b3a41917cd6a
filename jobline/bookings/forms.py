"""The booking form, the "Move to…" dialog and the status forms. Dates and times are typed on
the business's wall clock and become instants through core/wall_time.py (so a visit booked
for 10:00 is at 10:00 on both sides of a daylight-saving change)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Q

from jobline.bookings.models import MOST_IN_SERIES, NOTES_MAX, TITLE_MAX, Repeat
from jobline.core import wall_time
from jobline.core.one_time import OneTimeTokenField
from jobline.customers.models import Customer
from jobline.workspaces.models import Membership, Workspace


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", **kwargs)


class StaffChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Membership) -> str:
        return obj.user.full_name or obj.user.email


def staff_queryset(workspace: Workspace) -> Any:
    return (
        Membership.objects.active()
        .filter(workspace=workspace)
        .select_related("user")
        .only("pk", "workspace_id", "role", "user__full_name", "user__email")
        .order_by("user__full_name", "pk")
    )


class _WhenMixin(forms.Form):
    """A date, a start and an end on the wall clock; ``starts_at``/``ends_at`` in
    cleaned_data are the instants."""

    time_zone: str

    date = forms.DateField(widget=DateInput())
    start_time = forms.TimeField(label="Start", widget=TimeInput())
    end_time = forms.TimeField(label="End", widget=TimeInput())
    end_date = forms.DateField(
        required=False, widget=DateInput(), label="Ends on",
        help_text="Only for a visit that runs past midnight.",
    )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        day, start, end = data.get("date"), data.get("start_time"), data.get("end_time")
        if day is None or start is None or end is None:
            return data
        end_day = data.get("end_date") or day
        starts_at = wall_time.instant_on(day, start, self.time_zone)
        ends_at = wall_time.instant_on(end_day, end, self.time_zone)
        if ends_at <= starts_at:
            self.add_error("end_time", "The end must be after the start.")
        data["starts_at"], data["ends_at"] = starts_at, ends_at
        return data


class BookingForm(_WhenMixin):
    one_time_token = OneTimeTokenField()
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    job = forms.IntegerField(required=False, widget=forms.HiddenInput)
    title = forms.CharField(max_length=TITLE_MAX, label="Title or service")
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.none(),
        required=False,
        empty_label="— None (an internal block) —",
    )
    staff = StaffChoiceField(
        queryset=Membership.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    location = forms.CharField(max_length=255, required=False, label="Place")
    customer_notes = forms.CharField(
        max_length=NOTES_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3}),
        label="Notes for the customer", help_text="Shown in the portal and the e-mails.",
    )  # fmt: skip
    internal_notes = forms.CharField(
        max_length=NOTES_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3}),
        label="Internal notes",
    )  # fmt: skip
    book_anyway = forms.BooleanField(
        required=False, label="Book anyway, although it overlaps (this is logged)"
    )
    # A new visit only: the edit page changes one visit.
    repeat = forms.ChoiceField(
        choices=[("", "Does not repeat"), *Repeat.choices], required=False, label="Repeats",
        widget=forms.Select(attrs={"data-needed-with": "repeat"}),
    )  # fmt: skip
    repeat_count = forms.IntegerField(
        required=False, min_value=2, max_value=MOST_IN_SERIES, label="Visits in all",
        help_text=f"Counting this one; up to {MOST_IN_SERIES}.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "data-needed-with": "repeat"}),
    )  # fmt: skip

    def __init__(
        self, *args: Any, workspace: Workspace, current_customer_id: int | None = None,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.time_zone = workspace.time_zone
        # The customers one can book; a visit being edited keeps its own even if archived.
        self.fields["customer"].queryset = Customer.objects.filter(
            Q(archived_at__isnull=True) | Q(pk=current_customer_id), workspace=workspace
        ).order_by("name")
        self.fields["staff"].queryset = staff_queryset(workspace)

    def clean_title(self) -> str:
        title = self.cleaned_data["title"].strip()
        if not title:
            raise forms.ValidationError("Give the visit a title (or the service).")
        return title

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (
            data.get("repeat")
            and data.get("repeat_count") is None
            and ("repeat_count" not in self.errors)
        ):
            self.add_error("repeat_count", "Say how many visits in all, this one included.")
        return data


class MoveForm(forms.Form):
    """A new start (same length); the calendar's drop submits it too."""

    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    date = forms.DateField(widget=DateInput())
    start_time = forms.TimeField(label="Start", widget=TimeInput())
    book_anyway = forms.BooleanField(
        required=False, label="Book anyway, although it overlaps (this is logged)"
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, time_zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("date") and data.get("start_time"):
            data["starts_at"] = wall_time.instant_on(
                data["date"], data["start_time"], self.time_zone
            )
        return data


class StatusForm(forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(max_length=255, required=False, label="Reason")
    # Cancelling a visit of a series: the later visits of the series too.
    and_later = forms.BooleanField(required=False)


class AttachForm(forms.Form):
    job_number = forms.IntegerField(min_value=1, max_value=2**31 - 1, label="Job number")


def initial_when(start: dt.datetime, minutes: int, time_zone: str) -> dict[str, Any]:
    local_start = wall_time.local(start, time_zone)
    local_end = wall_time.local(start + dt.timedelta(minutes=minutes), time_zone)
    return {
        "date": local_start.date(),
        "start_time": local_start.time().replace(second=0, microsecond=0),
        "end_time": local_end.time().replace(second=0, microsecond=0),
        "end_date": local_end.date() if local_end.date() != local_start.date() else None,
    }
