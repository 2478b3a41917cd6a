"""Creating people, counting failed sign-ins, and one-time links sent by e-mail."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from jobline.accounts import throttle
from jobline.accounts.models import (
    SignInLink,
    SignInLinkScope,
    SignUpRequest,
    User,
    normalize_email_address,
)
from jobline.accounts.tokens import hash_token, new_token
from jobline.core.mail import email_message, send_or_refuse
from jobline.core.transactions import service


def user_create(
    *,
    email: str,
    full_name: str,
    password: str | None = None,
    password_hash: str | None = None,
) -> User:
    """A new account. ``password_hash`` is for a password chosen earlier and kept only hashed
    (a sign-up waiting for its e-mail to be confirmed)."""
    user = User(email=normalize_email_address(email), full_name=full_name.strip())
    if password_hash is not None:
        user.password = password_hash
    else:
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


@transaction.atomic
def user_claim(*, user: User, full_name: str, password_hash: str) -> User:
    """An account without a usable password (made when a business invited the address to its
    portal) gets the password its owner chose, once a link has proved the address is theirs.
    An account that already has a password keeps it."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.has_usable_password():
        return user
    user.password = password_hash
    if full_name.strip():
        user.full_name = full_name.strip()
    user.full_clean()
    user.save(update_fields=["password", "full_name"])
    return user


# --- Failed sign-ins ------------------------------------------------------------------------

# Scopes of the sign-in limits. The pair is what one person mistyping, or one guesser, hits;
# the account-wide limit is far higher so nobody can lock a real person out from elsewhere.
PAIR = "signin-pair"
ADDRESS = "signin-address"
ACCOUNT = "signin-account"


def network_of(ip_address: str | None) -> str:
    """The network address attempts are counted for. An IPv6 host gets a whole /64 from its
    provider, so the /64 counts as one address; no address at all is one shared "unknown"."""
    if not ip_address:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip_address)
    except ValueError:
        return ip_address[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@dataclass(frozen=True)
class Throttle:
    """Why password sign-in is refused for now, and for how long."""

    scope: str
    retry_after_seconds: int

    @property
    def wait(self) -> str:
        minutes = max(1, math.ceil(self.retry_after_seconds / 60))
        return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"

    @property
    def message(self) -> str:
        if self.scope == ACCOUNT:
            return (
                "Signing in with a password is paused for this account after many failed "
                f"attempts. Please wait {self.wait}, or e-mail yourself a sign-in link: "
                "it works meanwhile."
            )
        if self.scope == ADDRESS:
            return (
                "Too many failed sign-in attempts from your network address. "
                f"Please wait {self.wait} and try again, or e-mail yourself a sign-in link."
            )
        return (
            "Too many failed sign-in attempts for this account from your network address. "
            f"Please wait {self.wait} and try again, reset your password, "
            "or e-mail yourself a sign-in link."
        )


class SignInThrottled(Exception):
    def __init__(self, throttle_: Throttle) -> None:
        super().__init__(throttle_.message)
        self.throttle = throttle_


def _signin_limits(*, email: str, ip_address: str | None) -> list[throttle.Limit]:
    email = normalize_email_address(email)
    network = network_of(ip_address)
    window = settings.SIGNIN_FAILURE_WINDOW_SECONDS
    # The order is the order of the messages: an account-wide pause is the one to explain.
    return [
        throttle.Limit(
            scope=ACCOUNT,
            key=f"{ACCOUNT}:{email}",
            limit=settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT,
            window_seconds=window,
            email=email,
        ),
        throttle.Limit(
            scope=PAIR,
            key=f"{PAIR}:{network}|{email}",
            limit=settings.SIGNIN_MAX_FAILURES_PER_PAIR,
            window_seconds=window,
            email=email,
        ),
        throttle.Limit(
            scope=ADDRESS,
            key=f"{ADDRESS}:{network}",
            limit=settings.SIGNIN_MAX_FAILURES_PER_ADDRESS,
            window_seconds=window,
        ),
    ]


def signin_attempt_begin(*, email: str, ip_address: str | None) -> throttle.Reservation:
    """Reserve a failure against the account, the network address and the pair, before the
    password is checked: N parallel guesses get at most the limit checked. Raises
    SignInThrottled (and counts nothing) while any of them is at its limit."""
    try:
        return throttle.throttle_reserve(limits=_signin_limits(email=email, ip_address=ip_address))
    except throttle.ThrottleExceeded as exceeded:
        raise SignInThrottled(
            Throttle(scope=exceeded.scope, retry_after_seconds=exceeded.retry_after_seconds)
        ) from exceeded


def signin_attempt_succeeded(
    *, reservation: throttle.Reservation, email: str, ip_address: str | None
) -> None:
    """The password was right: the reserved failure is given back, and the pair's earlier
    mistakes are forgotten (this person, here, knows the password)."""
    throttle.throttle_release(reservation=reservation)
    network = network_of(ip_address)
    throttle.throttle_clear(keys=[f"{PAIR}:{network}|{normalize_email_address(email)}"])


def signin_failures_clear(*, email: str) -> None:
    """A password reset proves the address: the account's pauses, from every address, lift."""
    throttle.throttle_clear(email=normalize_email_address(email), scopes=[PAIR, ACCOUNT])


# --- Links sent by e-mail -------------------------------------------------------------------

LINK_EMAIL = "link-email"
LINK_ADDRESS = "link-address"


class LinkThrottled(Exception):
    """Too many e-mailed links (sign-in links, sign-up confirmations) were asked for."""

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        minutes = max(1, math.ceil(retry_after_seconds / 60))
        wait = f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
        self.message = (
            f"Too many e-mailed links were asked for. Please wait {wait}, then ask again "
            "(the links already sent still work)."
        )
        super().__init__(self.message)


class LinkUnusable(Exception):
    message = "This link has expired or was already used. Ask for a new one below."


def emailed_link_throttle(*, email: str, ip_address: str | None) -> None:
    """Count a request for an e-mailed link against the address it goes to and the network
    address asking; raise LinkThrottled at either limit. Every request counts, for addresses
    with and without an account alike, so the limit reveals nothing either."""
    window = settings.SIGNIN_LINK_WINDOW_SECONDS
    email = normalize_email_address(email)
    try:
        throttle.throttle_reserve(
            limits=[
                throttle.Limit(
                    scope=LINK_EMAIL,
                    key=f"{LINK_EMAIL}:{email}",
                    limit=settings.SIGNIN_LINKS_PER_EMAIL,
                    window_seconds=window,
                    email=email,
                ),
                throttle.Limit(
                    scope=LINK_ADDRESS,
                    key=f"{LINK_ADDRESS}:{network_of(ip_address)}",
                    limit=settings.SIGNIN_LINKS_PER_ADDRESS,
                    window_seconds=window,
                ),
            ]
        )
    except throttle.ThrottleExceeded as exceeded:
        raise LinkThrottled(exceeded.retry_after_seconds) from exceeded


@transaction.atomic
def signin_link_create(*, user: User, scope: SignInLinkScope, ip_address: str | None = None) -> str:
    """A new one-time link for ``user``; returns the token (only its hash is stored)."""
    now = timezone.now()
    token = new_token()
    SignInLink.objects.create(
        user=user,
        scope=scope,
        email=user.email,
        token_hash=hash_token(token),
        ip_address=ip_address,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.SIGNIN_LINK_VALID_MINUTES),
    )
    return token


@service
def signin_link_use(*, token: str, scope: SignInLinkScope) -> User:
    """Single use: the row is locked, so a double click signs in once. A link only works for
    the scope it was sent for: a portal link never opens the staff sign-in."""
    link = (
        # of=self: PostgreSQL cannot lock the rows of a join it was not asked to lock.
        SignInLink.objects.select_for_update(of=("self",))
        .select_related("user")
        .usable(token)
        .filter(scope=scope, user__is_active=True)
        .first()
    )
    if link is None:
        raise LinkUnusable()
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    return link.user


def _active_user(email: str) -> User | None:
    return User.objects.filter(email=normalize_email_address(email), is_active=True).first()


def staff_signin_link_request(
    *, email: str, ip_address: str | None, build_url: Callable[[str], str]
) -> None:
    """E-mail a one-time link that signs in to the whole account (as the password does).
    Works while password sign-in is paused: that is what it is for. Says nothing about
    whether the address has an account; rate-limited per address and network address."""
    # Counted in its own short transaction, before and apart from the e-mail: the request
    # counts even if sending fails, and no lock waits on the mail server.
    emailed_link_throttle(email=email, ip_address=ip_address)
    user = _active_user(email)
    if user is None:
        return
    with transaction.atomic():
        # Sent inside the transaction: if the e-mail fails, no link is left behind.
        token = signin_link_create(user=user, scope=SignInLinkScope.STAFF, ip_address=ip_address)
        context = {
            "user": user,
            "url": build_url(token),
            "minutes": settings.SIGNIN_LINK_VALID_MINUTES,
        }
        send_or_refuse(
            email_message(
                subject="Your Jobline sign-in link",
                text=render_to_string("accounts/email/sign_in_link.txt", context),
                html=render_to_string("accounts/email/sign_in_link.html", context),
                to=[user.email],
            )
        )


# --- Sign-ups waiting for their e-mail ------------------------------------------------------


@transaction.atomic
def sign_up_request_create(
    *,
    email: str,
    full_name: str,
    password: str,
    details: dict[str, Any],
    ip_address: str | None,
) -> tuple[SignUpRequest, str]:
    """Keep a sign-up until its link is opened; returns the request and the link's token."""
    now = timezone.now()
    token = new_token()
    request = SignUpRequest(
        email=normalize_email_address(email),
        full_name=full_name.strip(),
        password_hash=make_password(password),
        details=details,
        token_hash=hash_token(token),
        ip_address=ip_address,
        created_at=now,
        expires_at=now + timedelta(hours=settings.SIGNUP_LINK_VALID_HOURS),
    )
    request.full_clean()
    request.save()
    return request, token


@transaction.atomic
def sign_up_request_claim(*, token: str) -> SignUpRequest:
    """Mark a sign-up's link used (locked: two clicks confirm once). Call it inside the
    transaction that creates what the sign-up asked for, so a failure there un-uses it."""
    request = SignUpRequest.objects.select_for_update().usable(token).first()
    if request is None:
        raise LinkUnusable()
    request.used_at = timezone.now()
    request.save(update_fields=["used_at"])
    return request


def sign_up_account(*, request: SignUpRequest) -> User:
    """The account a confirmed sign-up belongs to: the existing one for the address (given the
    chosen password if it had none), or a new one."""
    existing = User.objects.filter(email=request.email).first()
    if existing is None:
        return user_create(
            email=request.email, full_name=request.full_name, password_hash=request.password_hash
        )
    if not existing.is_active:
        raise LinkUnusable()
    return user_claim(
        user=existing, full_name=request.full_name, password_hash=request.password_hash
    )
