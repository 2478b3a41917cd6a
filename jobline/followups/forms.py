"""The stage's follow-ups editor: a row per follow-up, in days or weeks."""

from __future__ import annotations

from typing import Any

from django import forms

from jobline.followups.models import LABEL_MAX, FollowUpRule
from jobline.followups.services import RuleInput

UNITS = [("weeks", "weeks"), ("days", "days")]


class RuleForm(forms.Form):
    label = forms.CharField(max_length=LABEL_MAX, required=False, label="Follow-up")
    offset = forms.IntegerField(min_value=0, required=False, label="Due after")
    window_from = forms.IntegerField(min_value=0, required=False, label="Book from")
    window_to = forms.IntegerField(min_value=0, required=False, label="to")
    unit = forms.ChoiceField(choices=UNITS, label="in")
    email_customer = forms.BooleanField(required=False, label="E-mail the customer")

    def to_row(self) -> RuleInput | None:
        data = self.cleaned_data
        if not data or not (data.get("label") or "").strip():
            return None
        days = 7 if data["unit"] == "weeks" else 1
        offset = data.get("offset") or 0
        return RuleInput(
            label=data["label"], offset_days=offset * days,
            window_from_days=(data.get("window_from") if data.get("window_from") is not None
                              else offset) * days,
            window_to_days=(data.get("window_to") if data.get("window_to") is not None
                            else offset) * days,
            email_customer=data.get("email_customer", False),
        )  # fmt: skip


RuleFormSet = forms.formset_factory(RuleForm, extra=0, max_num=20, absolute_max=20)


def rule_formset(data: Any = None, *, rules: list[FollowUpRule] | None = None) -> Any:
    """The stage's follow-ups (weeks when they divide evenly, else days), and a blank row."""
    initial = []
    for rule in rules or []:
        start = rule.offset_days - rule.window_before_days
        end = rule.offset_days + rule.window_after_days
        weeks = all(value % 7 == 0 for value in (rule.offset_days, start, end))
        days = 7 if weeks else 1
        initial.append({
            "label": rule.label, "offset": rule.offset_days // days,
            "window_from": start // days, "window_to": end // days,
            "unit": "weeks" if weeks else "days", "email_customer": rule.email_customer,
        })  # fmt: skip
    formset = RuleFormSet(data, prefix="rule", initial=initial)
    if data is None:
        formset.extra = 1
    return formset
