"""Customer forms. The e-mail uniqueness rule lives in the service; its error lands here."""

from __future__ import annotations

from typing import Any

from django import forms

from jobline.customers.models import Customer
from jobline.workspaces.models import Workspace


class CustomerOrNewFields(forms.Form):
    """A form's customer: one of the workspace's (not archived), or a new one typed inline
    (customers.services.customer_or_new makes it)."""

    customer = forms.ModelChoiceField(
        queryset=Customer.objects.none(), required=False, empty_label="— Choose a customer —"
    )
    new_customer_name = forms.CharField(
        max_length=150, required=False, label="…or a new customer's name"
    )
    new_customer_email = forms.EmailField(required=False, label="New customer's e-mail")

    def choose_customers_of(self, workspace: Workspace) -> None:
        self.fields["customer"].queryset = Customer.objects.filter(
            workspace=workspace, archived_at__isnull=True
        ).order_by("name")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("customer") and data.get("new_customer_name"):
            self.add_error("new_customer_name", "Choose a customer or name a new one, not both.")
        if data.get("new_customer_email") and not data.get("new_customer_name"):
            self.add_error("new_customer_name", "Give the new customer a name.")
        return data


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ["name", "email", "phone", "address", "notes"]
        widgets = {
            "address": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 4}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }
        help_texts = {
            "email": "Used for updates and the customer's portal sign-in.",
            "notes": "",  # the internal panel around the field says it
        }

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the customer a name.")
        return name

    def _post_clean(self) -> None:
        # Model validation runs in the service (with the workspace known), not here.
        pass


class CustomerNotificationsForm(forms.Form):
    notify_on_replies = forms.BooleanField(
        label="Notify on replies",
        required=False,
        help_text="E-mail this customer when staff send them a reply.",
    )


class CustomerFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    status = forms.ChoiceField(
        required=False,
        choices=[("active", "Active"), ("archived", "Archived"), ("all", "All")],
    )
