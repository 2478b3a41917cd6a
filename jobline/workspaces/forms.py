"""Forms for workspace settings, members and invitations."""

from __future__ import annotations

from typing import Any

from django import forms

from jobline.accounts.forms import PasswordPairMixin, email_field
from jobline.accounts.models import normalize_email_address
from jobline.workspaces.choices import currency_choices, locale_choices, time_zone_choices
from jobline.workspaces.middleware import MAX_ID
from jobline.workspaces.models import Role, Workspace


class GeneralSettingsForm(forms.Form):
    name = forms.CharField(label="Business name", max_length=120)
    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=time_zone_choices,
        help_text="Due dates and the activity feed are shown in this time zone.",
    )
    currency = forms.ChoiceField(label="Currency", choices=currency_choices)
    locale = forms.ChoiceField(
        label="Locale", choices=locale_choices, help_text="How dates and amounts are written."
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the business a name.")
        return name


class WorkspaceCreateForm(GeneralSettingsForm):
    pass


class ModulesForm(forms.Form):
    module_jobs = forms.BooleanField(
        label="Jobs",
        required=False,
        help_text="Pipelines, the board and the job pages. Switching off hides them; "
        "nothing is deleted.",
    )
    module_bookings = forms.BooleanField(
        label="Bookings",
        required=False,
        help_text="Visits on a calendar, on their own or tied to jobs, with calendar feeds.",
    )
    booking_reminder_hours = forms.IntegerField(
        label="Visit reminder (hours before)",
        required=False,
        min_value=0,
        max_value=24 * 14,
        initial=24,
        help_text="Customers are e-mailed this many hours before a visit on their job. "
        "0 sends no reminders.",
    )

    prices_include_tax = forms.BooleanField(
        label="Quote prices include tax",
        required=False,
        help_text="Off: prices are typed before tax and tax is added. On: typed prices "
        "already include it.",
    )
    tax_rounding = forms.ChoiceField(
        label="Tax rounding",
        required=False,
        choices=[("per_rate", "Once per tax rate (GST rule)"), ("per_line", "On every line")],
        help_text="Once per rate: the unrounded tax of each rate's lines is added up and "
        "rounded once, half-up.",
    )
    quote_valid_days = forms.IntegerField(
        label="Quotes valid for (days)", required=False, min_value=1, max_value=365
    )
    quotes_auto_convert = forms.BooleanField(
        label="Accepted quotes become jobs by themselves",
        required=False,
        help_text="In the first stage of the quote's pipeline, without a visit.",
    )

    # Each module, then its own settings.
    field_order = [
        "module_jobs", "module_bookings", "booking_reminder_hours", "module_quotes",
        "prices_include_tax", "tax_rounding", "quote_valid_days", "quotes_auto_convert",
    ]  # fmt: skip

    # Fields left out of a submitted form keep their setting (older forms, scripts).
    def _kept(self, name: str, default: object) -> object:
        value = self.cleaned_data.get(name)
        return value if value not in (None, "") else self.initial.get(name, default)

    def clean_booking_reminder_hours(self) -> object:
        return self._kept("booking_reminder_hours", 24)

    def clean_tax_rounding(self) -> object:
        return self._kept("tax_rounding", "per_rate")

    def clean_quote_valid_days(self) -> object:
        return self._kept("quote_valid_days", 30)

    module_quotes = forms.BooleanField(
        label="Quotes",
        required=False,
        help_text="Quotes with a public page to accept, that convert into a job and its first "
        "visit in one click.",
    )


class PaymentSettingsForm(forms.Form):
    tax_number = forms.CharField(
        label="Tax number", required=False, max_length=40,
        help_text="Your VAT, GST or ABN number: it makes your invoices tax invoices.",
    )  # fmt: skip
    payment_instructions = forms.CharField(
        label="How to pay", required=False, max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Bank details and what to quote as the reference. Customers see this with "
        "every payment request.",
    )  # fmt: skip
    invoice_terms_days = forms.IntegerField(
        label="Invoices due after (days)", min_value=0, max_value=365, initial=14
    )
    invoice_reminder_days = forms.CharField(
        label="Remind after (days overdue)", required=False, max_length=40,
        help_text="Unpaid invoices remind the customer this many days after they fall due: "
        "3, 10. Empty sends no reminders.",
    )  # fmt: skip
    buyer_identity_threshold = forms.DecimalField(
        label="Name the buyer on invoices from", min_value=0, max_digits=14, decimal_places=2,
        help_text="Tax invoices of this amount or more show the customer's name and address.",
    )  # fmt: skip


class PortalSettingsForm(forms.Form):
    portal_enabled = forms.BooleanField(
        label="Customer portal",
        required=False,
        help_text="Customers sign in to follow their work, reply and upload.",
    )
    portal_jobs = forms.BooleanField(
        label="Jobs in the portal",
        required=False,
        help_text="Customers see their jobs (only what you make visible to them).",
    )


def initial_from(workspace: Workspace, form_class: type[forms.Form]) -> dict[str, Any]:
    return {name: getattr(workspace, name) for name in form_class.base_fields}


class InviteMemberForm(forms.Form):
    email = email_field()
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.STAFF)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class SwitchWorkspaceForm(forms.Form):
    # Bounded to a 64-bit id: a longer number names no workspace and must not reach the
    # database (SQLite raises OverflowError on it).
    workspace_id = forms.IntegerField(min_value=1, max_value=MAX_ID)


class SignUpForm(PasswordPairMixin):
    """Sign-up answers the same for every address ("check your e-mail"), so nothing here
    says whether the address already has an account."""

    full_name = forms.CharField(label="Your name", max_length=150)
    email = email_field()
    workspace_name = forms.CharField(label="Business name", max_length=120)
    time_zone = forms.ChoiceField(
        label="Time zone", choices=time_zone_choices, initial="Europe/London"
    )
    currency = forms.ChoiceField(label="Currency", choices=currency_choices, initial="GBP")

    field_order = [
        "full_name",
        "email",
        "password1",
        "password2",
        "workspace_name",
        "time_zone",
        "currency",
    ]

    def clean_email(self) -> str:
        return normalize_email_address(self.cleaned_data["email"])

    def clean_workspace_name(self) -> str:
        name = self.cleaned_data["workspace_name"].strip()
        if not name:
            raise forms.ValidationError("Give the business a name.")
        return name
