"""Customer sign-in links: one-time links sent by e-mail, rate-limited, never telling whether
an address has access."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from jobline.accounts.models import User, normalize_email_address
from jobline.portal.models import SignInLink
from jobline.workspaces.models import hash_token, new_token


class LinkThrottled(Exception):
    message = (
        "Too many sign-in links were asked for. Please wait 15 minutes, then ask again "
        "(the links already sent still work)."
    )


class LinkUnusable(Exception):
    message = "This sign-in link has expired or was already used. Ask for a new one below."


def _portal_user(email: str) -> User | None:
    """The account behind an address, if it is a customer of some business."""
    return (
        User.objects.filter(email=normalize_email_address(email), is_active=True)
        .filter(customer_profiles__isnull=False)
        .distinct()
        .first()
    )


def _send_link(*, email: str, url: str, business: str = "") -> None:
    context = {"url": url, "minutes": settings.PORTAL_LINK_VALID_MINUTES, "business": business}
    send_mail(
        subject=f"Your sign-in link{f' for {business}' if business else ''}",
        message=render_to_string("portal/email/sign_in_link.txt", context),
        html_message=render_to_string("portal/email/sign_in_link.html", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )


@transaction.atomic
def signin_link_request(
    *, email: str, ip_address: str | None, build_url: Callable[[str], str], business: str = ""
) -> None:
    """Send a one-time link if the address belongs to a customer; say nothing either way.

    Rate-limited per e-mail address and per network address; every request counts.
    """
    email = normalize_email_address(email)
    since = timezone.now() - timedelta(seconds=settings.PORTAL_LINK_WINDOW_SECONDS)
    recent = SignInLink.objects.filter(created_at__gt=since)
    if recent.filter(email=email).count() >= settings.PORTAL_LINKS_PER_EMAIL or (
        ip_address
        and recent.filter(ip_address=ip_address).count() >= settings.PORTAL_LINKS_PER_ADDRESS
    ):
        raise LinkThrottled()
    user = _portal_user(email)
    now = timezone.now()
    token = new_token() if user is not None else None
    SignInLink.objects.create(
        email=email,
        user=user,
        token_hash=hash_token(token) if token else None,
        ip_address=ip_address,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.PORTAL_LINK_VALID_MINUTES),
    )
    if token is not None:
        url = build_url(token)
        transaction.on_commit(lambda: _send_link(email=email, url=url, business=business))


@transaction.atomic
def signin_link_use(*, token: str) -> User:
    """Single use: the row is locked, so a double click signs in once."""
    link = (
        # of=self: PostgreSQL cannot lock the nullable side of the join to the user.
        SignInLink.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if (
        link is None
        or link.user is None
        or link.used_at is not None
        or link.expires_at <= timezone.now()
        or not link.user.is_active
    ):
        raise LinkUnusable()
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    return link.user


def signin_link_is_usable(*, token: str) -> bool:
    return SignInLink.objects.filter(
        token_hash=hash_token(token),
        user__isnull=False,
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).exists()


def signin_link_send(*, user: User, build_url: Callable[[str], str], business: str) -> None:
    """A first link for a person just invited to a business's portal (no rate limit: staff
    send it on purpose)."""
    now = timezone.now()
    token = new_token()
    SignInLink.objects.create(
        email=user.email,
        user=user,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + timedelta(minutes=settings.PORTAL_LINK_VALID_MINUTES),
    )
    url = build_url(token)
    transaction.on_commit(lambda: _send_link(email=user.email, url=url, business=business))
