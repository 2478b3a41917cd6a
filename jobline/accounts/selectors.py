"""Reads for the sign-in, sign-up and invitation pages."""

from __future__ import annotations

from django.utils import timezone

from jobline.accounts.models import (
    SignInLink,
    SignInLinkScope,
    SignUpRequest,
    User,
    normalize_email_address,
)
from jobline.accounts.tokens import hash_token


def user_by_email(*, email: str) -> User | None:
    return User.objects.filter(email=normalize_email_address(email)).first()


def signin_link_is_usable(*, token: str, scope: SignInLinkScope) -> bool:
    return SignInLink.objects.filter(
        token_hash=hash_token(token),
        scope=scope,
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
        user__is_active=True,
    ).exists()


def pending_sign_up(*, token: str) -> SignUpRequest | None:
    return SignUpRequest.objects.filter(
        token_hash=hash_token(token), used_at__isnull=True, expires_at__gt=timezone.now()
    ).first()
