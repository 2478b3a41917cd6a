"""Signing up: one person, one business, the person its first Admin — or nothing at all.

The sign-up page answers the same for every address ("check your e-mail to finish"), so it
never tells whether an address already has an account. The e-mail does, to the address's
owner only: a new address gets a link that creates the account and the business; an address
that has an account is told so, and its link creates the business under that account (the
link proves the address, so an account without a usable password — e.g. a customer a business
invited to its portal — takes the password chosen at sign-up).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.template.loader import render_to_string

from jobline.accounts import selectors as account_selectors
from jobline.accounts import services as account_services
from jobline.accounts.models import SignUpRequest, User, normalize_email_address
from jobline.core.mail import email_message, send_or_refuse
from jobline.core.transactions import service
from jobline.workspaces import services as workspace_services
from jobline.workspaces.models import Workspace


def sign_up_request(
    *,
    email: str,
    full_name: str,
    password: str,
    workspace_name: str,
    time_zone: str,
    currency: str,
    ip_address: str | None,
    build_confirm_url: Callable[[str], str],
    sign_in_url: str,
    password_reset_url: str,
) -> None:
    """Validate the sign-up, keep it, and e-mail the link that finishes it.

    Raises ValidationError for a bad business (next to its field), LinkThrottled when the
    address or network asked too often, MailNotSent (keeping nothing) when the e-mail fails.
    """
    email = normalize_email_address(email)
    # The business is checked now, while the person can still correct it on the page.
    Workspace(name=workspace_name, time_zone=time_zone, currency=currency).full_clean()
    # Counted in its own short transaction, before and apart from the e-mail: the request
    # counts even if sending fails, and no lock waits on the mail server.
    account_services.emailed_link_throttle(email=email, ip_address=ip_address)
    existing = account_selectors.user_by_email(email=email)
    if existing is not None and not existing.is_active:
        # A closed account gets nothing, as with a password reset; the password is hashed
        # anyway so the answer takes as long as for anyone else.
        make_password(password)
        return
    with transaction.atomic(durable=True):
        request, token = account_services.sign_up_request_create(
            email=email,
            full_name=full_name,
            password=password,
            details={"name": workspace_name, "time_zone": time_zone, "currency": currency},
            ip_address=ip_address,
        )
        _send_confirmation(
            request=request,
            existing=existing,
            url=build_confirm_url(token),
            sign_in_url=sign_in_url,
            password_reset_url=password_reset_url,
        )


def _send_confirmation(
    *,
    request: SignUpRequest,
    existing: User | None,
    url: str,
    sign_in_url: str,
    password_reset_url: str,
) -> None:
    business = request.details["name"]
    context = {
        "request": request,
        "business": business,
        "url": url,
        "hours": settings.SIGNUP_LINK_VALID_HOURS,
        "existing": existing,
        "keeps_password": existing is not None and existing.has_usable_password(),
        "sign_in_url": sign_in_url,
        "password_reset_url": password_reset_url,
    }
    if existing is None:
        subject = f"Confirm your e-mail to create {business} on Jobline"
        template = "workspaces/email/signup_confirm.txt"
    else:
        subject = "You already have a Jobline account"
        template = "workspaces/email/signup_existing.txt"
    send_or_refuse(
        email_message(subject=subject, text=render_to_string(template, context), to=[request.email])
    )


@service
def sign_up_confirm(*, token: str) -> tuple[User, Workspace]:
    """The link from the e-mail: the account (new, or the address's existing one) and the
    business with the person as its first Admin — all of it, or nothing (the link stays
    unused when anything fails). Raises LinkUnusable for a used, expired or unknown link."""
    request = account_services.sign_up_request_claim(token=token)
    user = account_services.sign_up_account(request=request)
    workspace = workspace_services.workspace_create.step(
        name=request.details["name"],
        owner=user,
        time_zone=request.details["time_zone"],
        currency=request.details["currency"],
    )
    return user, workspace
