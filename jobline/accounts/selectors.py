"""Reads for the sign-in, sign-up and invitation pages."""

from __future__ import annotations

from jobline.accounts.models import (
    SignInLink,
    SignInLinkScope,
    SignUpRequest,
    User,
    normalize_email_address,
)


def user_by_email(*, email: str) -> User | None:
    return User.objects.filter(email=normalize_email_address(email)).first()


def signin_link_is_usable(*, token: str, scope: SignInLinkScope) -> bool:
    return SignInLink.objects.usable(token).filter(scope=scope, user__is_active=True).exists()


def pending_sign_up(*, token: str) -> SignUpRequest | None:
    return SignUpRequest.objects.usable(token).first()
