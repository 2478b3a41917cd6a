"""The payment schedule editor (the value and a formset of instalments), and the forms of
requesting, voiding, paying and refunding."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from jobline.billing.models import LABEL_MAX, AmountKind, Instalment, PaymentMethod, Trigger
from jobline.billing.services import REASON_MAX, InstalmentInput
from jobline.bookings.forms import DateInput
from jobline.pipelines.models import Stage

AMOUNT = {"max_digits": 14, "decimal_places": 2}


def _share(percent: Decimal | None) -> str | None:
    """A share as typed: 30, 33.3333 (not 30.0000)."""
    return f"{percent.normalize():f}" if percent is not None else None


class ValueForm(forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    value = forms.DecimalField(
        required=False, label="The job's value",
        validators=[MinValueValidator(Decimal(0), "A job's value can't be negative.")],
        help_text="What the job is worth: the schedule's instalments add up to it.", **AMOUNT,
    )  # fmt: skip


# (Validator messages are %-formatted with the limit: a percent sign is written %%.)
class InstalmentForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    label = forms.CharField(max_length=LABEL_MAX, required=False, label="Instalment")
    amount_kind = forms.ChoiceField(choices=AmountKind.choices, label="Amount given as")
    percent = forms.DecimalField(
        required=False, max_digits=7, decimal_places=4, label="%",
        validators=[MinValueValidator(Decimal(0), "A share can't be negative."),
                    MaxValueValidator(Decimal(100), "A share is at most 100 %%.")],
    )  # fmt: skip
    amount = forms.DecimalField(
        required=False, label="Amount",
        validators=[MinValueValidator(Decimal(0), "An amount can't be negative.")], **AMOUNT,
    )  # fmt: skip
    trigger = forms.ChoiceField(choices=Trigger.choices, label="Requested")
    trigger_stage = forms.ModelChoiceField(
        queryset=Stage.objects.none(), required=False, label="Stage", empty_label="— Stage —"
    )
    trigger_on = forms.DateField(required=False, widget=DateInput(), label="Date")

    def __init__(self, *args: Any, stages: Any = None, dated: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if stages is not None:
            self.fields["trigger_stage"].queryset = stages
        if not dated:  # a default schedule: no dates (each job's differ)
            self.fields["trigger"].choices = [
                (value, label) for value, label in Trigger.choices if value != Trigger.DATE
            ]
            del self.fields["trigger_on"]

    def to_row(self) -> InstalmentInput | None:
        """The instalment, or None for a blank new row."""
        data = self.cleaned_data
        if not data or (not data.get("id") and not (data.get("label") or "").strip()):
            return None
        return InstalmentInput(
            id=data.get("id"), label=data.get("label") or "", amount_kind=data["amount_kind"],
            percent=data.get("percent"), amount=data.get("amount"), trigger=data["trigger"],
            trigger_stage=data.get("trigger_stage"), trigger_on=data.get("trigger_on", None),
        )  # fmt: skip


BaseInstalmentFormSet = forms.formset_factory(InstalmentForm, extra=0, max_num=50, absolute_max=50)


class InstalmentFormSet(BaseInstalmentFormSet):  # type: ignore[misc,valid-type]
    def __init__(self, *args: Any, stages: Any, dated: bool = True, **kwargs: Any) -> None:
        self.stages = stages
        self.dated = dated
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "stages": self.stages, "dated": self.dated}

    def rows(self) -> list[InstalmentInput]:
        return [row for form in self.forms if (row := form.to_row()) is not None]

    def rows_with_forms(self) -> list[InstalmentForm]:
        """The forms that give a row, in the order of rows(): a service's refusal of row i
        goes next to the i-th of them."""
        return [form for form in self.forms if form.to_row() is not None]


def instalment_formset(
    data: Any = None, *, stages: Any, instalments: list[Instalment] | None = None,
    blank_rows: int | None = None,
) -> InstalmentFormSet:  # fmt: skip
    """The schedule's instalments (or what was posted), and blank rows to add more: three for
    a new schedule (deposit, milestone, balance), one otherwise (the page's "Add an
    instalment" button copies the empty form)."""
    initial = [
        {"id": i.pk, "label": i.label, "amount_kind": i.amount_kind, "percent": _share(i.percent),
         "amount": i.amount if i.amount_kind == AmountKind.FIXED else None,
         "trigger": i.trigger, "trigger_stage": i.trigger_stage_id, "trigger_on": i.trigger_on}
        for i in instalments or []
    ]  # fmt: skip
    formset = InstalmentFormSet(data, prefix="instalment", stages=stages, initial=initial)
    if data is None:
        formset.extra = blank_rows if blank_rows is not None else (1 if initial else 3)
    return formset


def default_formset(
    data: Any = None, *, stages: Any, defaults: list[Any] | None = None
) -> InstalmentFormSet:
    """A pipeline's default schedule in the same editor, without dates."""
    initial = [
        {"label": d.label, "amount_kind": d.amount_kind, "percent": _share(d.percent),
         "amount": d.amount, "trigger": d.trigger, "trigger_stage": d.trigger_stage_id}
        for d in defaults or []
    ]  # fmt: skip
    formset = InstalmentFormSet(data, prefix="instalment", stages=stages, dated=False,
                                initial=initial)  # fmt: skip
    if data is None:
        formset.extra = 1 if initial else 3
    return formset


class VoidForm(forms.Form):
    reason = forms.CharField(max_length=REASON_MAX, label="Why it is void")


class PaymentForm(forms.Form):
    amount = forms.DecimalField(label="Amount", **AMOUNT)
    paid_on = forms.DateField(widget=DateInput(), label="Paid on")
    method = forms.ChoiceField(choices=PaymentMethod.choices, label="Method")
    reference = forms.CharField(max_length=100, required=False, label="Reference")


class RefundForm(forms.Form):
    amount = forms.DecimalField(label="Refund", **AMOUNT)
    reason = forms.CharField(max_length=REASON_MAX, label="Why")


# Each instalment's (and payment's) form has ids of its own: the page has one of each per row.
def payment_form(instalment_pk: int, data: Any = None, **kwargs: Any) -> PaymentForm:
    return PaymentForm(data, auto_id=f"id_pay{instalment_pk}_%s", **kwargs)


def void_form(instalment_pk: int, data: Any = None) -> VoidForm:
    return VoidForm(data, auto_id=f"id_void{instalment_pk}_%s")


def refund_form(payment_pk: int, data: Any = None, **kwargs: Any) -> RefundForm:
    return RefundForm(data, auto_id=f"id_refund{payment_pk}_%s", **kwargs)
