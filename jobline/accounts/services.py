"""Creating people and counting failed sign-ins."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from jobline.accounts.models import SignInAttempt, User, normalize_email_address


def user_create(*, email: str, full_name: str, password: str | None) -> User:
    user = User(email=normalize_email_address(email), full_name=full_name.strip())
    user.set_password(password)
    user.full_clean()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as error:  # the same address registering twice at the same moment
        raise ValidationError(
            {"email": "An account with this e-mail address already exists."}
        ) from error
    return user


@dataclass(frozen=True)
class Throttle:
    """Why sign-in is refused for now, and for how long."""

    scope: str  # "account" or "address"
    retry_after_seconds: int

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after_seconds / 60))
        who = "this account" if self.scope == "account" else "your network address"
        unit = "minute" if minutes == 1 else "minutes"
        return (
            f"Too many failed sign-in attempts for {who}. "
            f"Please wait {minutes} {unit} and try again, or reset your password."
        )


def signin_throttle(*, email: str, ip_address: str | None) -> Throttle | None:
    """Refuse sign-in while an account or an address has too many recent failures."""
    window = timedelta(seconds=settings.SIGNIN_FAILURE_WINDOW_SECONDS)
    now = timezone.now()
    since = now - window
    checks = [
        (
            "account",
            {"email": normalize_email_address(email)},
            settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT,
        ),
    ]
    if ip_address:
        checks.append(
            ("address", {"ip_address": ip_address}, settings.SIGNIN_MAX_FAILURES_PER_ADDRESS)
        )
    for scope, lookup, limit in checks:
        recent = SignInAttempt.objects.filter(created_at__gt=since, **lookup)
        if recent.count() >= limit:
            # Locked until the oldest failure still counted leaves the window.
            oldest = recent.order_by("-created_at").values_list("created_at", flat=True)[limit - 1]
            retry = max(1, int((oldest + window - now).total_seconds()))
            return Throttle(scope=scope, retry_after_seconds=retry)
    return None


def signin_record_failure(*, email: str, ip_address: str | None) -> None:
    SignInAttempt.objects.create(email=normalize_email_address(email), ip_address=ip_address)


def signin_clear_failures(*, email: str) -> None:
    """A correct password (or a password reset) forgets the account's failures."""
    SignInAttempt.objects.filter(email=normalize_email_address(email)).delete()
