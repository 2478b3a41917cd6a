"""Sign-in, sign-in link, sign-up password and invited sign-up forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.core.validators import MaxLengthValidator
from django.http import HttpRequest

from jobline.accounts import services
from jobline.accounts.models import User

# The longest e-mail address SMTP allows, and the column's length.
EMAIL_MAX_LENGTH = 254
# Far beyond any real password, short enough that hashing a posted one stays cheap.
PASSWORD_MAX_LENGTH = 1024


def client_ip(request: HttpRequest | None) -> str | None:
    # Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") if request is not None else None


def email_field(*, autofocus: bool = False) -> forms.EmailField:
    attrs: dict[str, Any] = {"autocomplete": "email"}
    if autofocus:
        attrs["autofocus"] = True
    return forms.EmailField(
        label="E-mail address",
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs=attrs),
    )


def password_field(*, label: str, autocomplete: str, **kwargs: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
        **kwargs,
    )


class SignInForm(AuthenticationForm):
    """Django's sign-in with e-mail as the name, and the failure throttle around the check."""

    username = email_field(autofocus=True)
    password = password_field(label="Password", autocomplete="current-password")

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.throttle: services.Throttle | None = None

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is None or not password:
            return self.cleaned_data
        ip_address = client_ip(self.request)
        try:
            # The failure is counted before the password is checked, and given back below
            # when it was right: parallel guesses cannot all slip under the limit.
            reservation = services.signin_attempt_begin(email=email, ip_address=ip_address)
        except services.SignInThrottled as throttled:
            self.throttle = throttled.throttle
            raise forms.ValidationError(throttled.throttle.message, code="throttled") from None
        self.user_cache = authenticate(self.request, username=email, password=password)
        if self.user_cache is None:
            raise forms.ValidationError(
                "That e-mail address and password do not match. Passwords are case-sensitive.",
                code="invalid_login",
            )
        self.confirm_login_allowed(self.user_cache)
        services.signin_attempt_succeeded(
            reservation=reservation, email=email, ip_address=ip_address
        )
        return self.cleaned_data


class SignInLinkRequestForm(forms.Form):
    """Ask for a one-time sign-in link (staff and portal alike)."""

    email = email_field()


class PasswordPairMixin(forms.Form):
    password1 = password_field(
        label="Password",
        autocomplete="new-password",
        help_text="At least 8 characters; not only numbers, not a common password.",
    )
    password2 = password_field(label="Password again", autocomplete="new-password")

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
    """An invited person creates their account (or, for an address a business made a portal
    customer, chooses its first password); the e-mail is the one invited (not editable)."""

    full_name = forms.CharField(label="Your name", max_length=150)

    field_order = ["full_name", "password1", "password2"]

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invited_email = email

    def _candidate_user(self) -> User:
        return User(email=self.invited_email, full_name=self.cleaned_data.get("full_name", ""))


class ResetPasswordForm(SetPasswordForm):
    """Django's new-password form (password reset), with the same length bound as sign-in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("new_password1", "new_password2"):
            field = self.fields[name]
            field.max_length = PASSWORD_MAX_LENGTH
            field.validators.append(MaxLengthValidator(PASSWORD_MAX_LENGTH))
            field.widget.attrs["maxlength"] = str(PASSWORD_MAX_LENGTH)
