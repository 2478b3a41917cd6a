"""Customer sign-in links: one-time links sent by e-mail, rate-limited, never telling whether
an address has access. They are accounts' sign-in links with the "portal" scope, so the
session they open reaches the portal and nothing else (accounts/sessions.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.template.loader import render_to_string

from jobline.accounts import services as account_services
from jobline.accounts.models import SignInLinkScope, User, normalize_email_address
from jobline.core.mail import email_message, send_or_refuse
from jobline.core.transactions import service


def _portal_user(email: str) -> User | None:
    """The account behind an address, if it is a customer of some business."""
    return (
        User.objects.filter(email=normalize_email_address(email), is_active=True)
        .filter(customer_profiles__isnull=False)
        .distinct()
        .first()
    )


def signin_link_request(
    *, email: str, ip_address: str | None, build_url: Callable[[str], str], business: str = ""
) -> None:
    """Send a one-time link if the address belongs to a customer; say nothing either way.

    Rate-limited per e-mail address and per network address (raises LinkThrottled); every
    request counts, with or without an account behind it.
    """
    # Counted in its own short transaction, before and apart from the e-mail: the request
    # counts even if sending fails, and no lock waits on the mail server.
    account_services.emailed_link_throttle(email=email, ip_address=ip_address)
    user = _portal_user(email)
    if user is not None:
        signin_link_send(user=user, build_url=build_url, business=business, ip_address=ip_address)


@service
def signin_link_send(
    *,
    user: User,
    build_url: Callable[[str], str],
    business: str,
    ip_address: str | None = None,
) -> None:
    """A portal link for ``user``, e-mailed now. Staff's "Invite to portal" calls it without a
    rate limit (they send it on purpose). Sent inside the transaction: when the e-mail fails
    (MailNotSent), the link and whatever the caller changed with it are not saved."""
    token = account_services.signin_link_create(
        user=user, scope=SignInLinkScope.PORTAL, ip_address=ip_address
    )
    context = {
        "url": build_url(token),
        "minutes": settings.SIGNIN_LINK_VALID_MINUTES,
        "business": business,
    }
    send_or_refuse(
        email_message(
            subject=f"Your sign-in link{f' for {business}' if business else ''}",
            text=render_to_string("portal/email/sign_in_link.txt", context),
            html=render_to_string("portal/email/sign_in_link.html", context),
            to=[user.email],
        )
    )
