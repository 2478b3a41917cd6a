"""Customer forms. The e-mail uniqueness rule lives in the service; its error lands here."""

from __future__ import annotations

from django import forms

from jobline.customers.models import Customer


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
