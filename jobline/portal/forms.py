"""Portal forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation

from jobline.core.one_time import OneTimeTokenField
from jobline.jobs.forms import MultipleFileField, StageForm
from jobline.jobs.services import MESSAGE_MAX_CHARS


class ReplyForm(forms.Form):
    one_time_token = OneTimeTokenField()
    body = forms.CharField(
        label="Your message",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=MESSAGE_MAX_CHARS,
    )
    files = MultipleFileField(required=False, label="Attach files")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("body") or "").strip() and not self.files.getlist("files"):
            self.add_error("body", "Write a message or attach a file.")
        return data


class UploadForm(forms.Form):
    files = MultipleFileField(label="Files")


class SetPasswordForm(forms.Form):
    password1 = forms.CharField(
        label="New password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="New password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            try:
                password_validation.validate_password(first, self.user)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


class CustomerFieldsForm(StageForm):
    """The fields opened to the customer, validated like the staff's stage forms."""
