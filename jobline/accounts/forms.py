"""Sign-in, sign-up and invited sign-up forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest

from jobline.accounts import services
from jobline.accounts.models import User


def client_ip(request: HttpRequest | None) -> str | None:
    # Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") if request is not None else None


class SignInForm(AuthenticationForm):
    """Django's sign-in with e-mail as the name and throttling of repeated failures."""

    username = forms.EmailField(
        label="E-mail address",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is None or not password:
            return self.cleaned_data
        ip_address = client_ip(self.request)
        throttle = services.signin_throttle(email=email, ip_address=ip_address)
        if throttle is not None:
            raise forms.ValidationError(throttle.message, code="throttled")
        self.user_cache = authenticate(self.request, username=email, password=password)
        if self.user_cache is None:
            services.signin_record_failure(email=email, ip_address=ip_address)
            raise forms.ValidationError(
                "That e-mail address and password do not match. Passwords are case-sensitive.",
                code="invalid_login",
            )
        self.confirm_login_allowed(self.user_cache)
        services.signin_clear_failures(email=email)
        return self.cleaned_data


class PasswordPairMixin(forms.Form):
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters; not only numbers, not a common password.",
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def _candidate_user(self) -> User:
        return User(
            email=self.cleaned_data.get("email", ""),
            full_name=self.cleaned_data.get("full_name", ""),
        )

    def clean_password2(self) -> str:
        first = self.cleaned_data.get("password1")
        second = self.cleaned_data["password2"]
        if first and first != second:
            raise forms.ValidationError("The two passwords differ.")
        return second

    def _post_clean(self) -> None:
        super()._post_clean()
        password = self.cleaned_data.get("password1")
        if password:
            try:
                password_validation.validate_password(password, self._candidate_user())
            except forms.ValidationError as error:
                self.add_error("password1", error)


class InvitedSignUpForm(PasswordPairMixin):
    """An invited person creates their account; the e-mail is the one invited (not editable)."""

    full_name = forms.CharField(label="Your name", max_length=150)

    field_order = ["full_name", "password1", "password2"]

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invited_email = email

    def _candidate_user(self) -> User:
        return User(email=self.invited_email, full_name=self.cleaned_data.get("full_name", ""))
