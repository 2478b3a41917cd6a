"""Staff sign-in by e-mailed link: one use, 30 minutes, a confirm button (mail scanners open
links), a full session, rate-limited, never telling whether an account exists — and working
while password sign-in is paused for the account, which is what it is for."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jobline.accounts.models import SignInLink, SignInLinkScope
from jobline.accounts.services import signin_link_create
from tests.accounts.mail_backends import REFUSING
from tests.conftest import Cast

SIGN_IN = reverse("accounts:login")
LINK_REQUEST = reverse("accounts:sign_in_link_request")
DASHBOARD = reverse("dashboard")
LINK = re.compile(r"http://testserver(/accounts/sign-in/link/[^/\s]+/)")


def ask_for_link(client: Client, email: str, address: str = "203.0.113.10") -> Any:
    return client.post(LINK_REQUEST, {"email": email}, REMOTE_ADDR=address)


def link_in(message: mail.EmailMessage) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    return match.group(1)


def test_a_staff_member_gets_a_link_that_signs_in_fully_once(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    response = ask_for_link(Client(), "ADMIN@harbour.test")

    assert response.status_code == 200
    assert "Check your e-mail" in response.content.decode()
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [cast.admin.email]
    assert mailoutbox[0].subject == "Your Jobline sign-in link"
    assert mailoutbox[0].alternatives  # an HTML part too
    link = link_in(mailoutbox[0])

    visitor = Client()
    opened = visitor.get(link)
    assert opened.status_code == 200
    assert "_auth_user_id" not in visitor.session  # opening it (or a mail scanner) uses nothing
    response = visitor.post(link)
    assert response.status_code == 302
    assert response.url == DASHBOARD
    dashboard = visitor.get(DASHBOARD)
    assert dashboard.status_code == 200
    assert cast.workspace.name in dashboard.content.decode()
    assert visitor.get(reverse("workspaces:settings_general")).status_code == 200

    again = Client().post(link)
    assert again.status_code == 410
    assert "expired or was already used" in again.content.decode()


def test_opening_the_link_many_times_does_not_use_it_up(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    ask_for_link(Client(), cast.staff.email)
    link = link_in(mailoutbox[0])
    for _ in range(3):
        assert Client().get(link).status_code == 200

    assert Client().post(link).status_code == 302


def test_an_expired_link_is_refused(cast: Cast, mailoutbox: list[mail.EmailMessage]) -> None:
    ask_for_link(Client(), cast.staff.email)
    SignInLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client = Client()

    assert client.get(link_in(mailoutbox[0])).status_code == 410
    response = client.post(link_in(mailoutbox[0]))

    assert response.status_code == 410
    assert "_auth_user_id" not in client.session


def test_a_link_for_someone_made_inactive_is_refused(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    ask_for_link(Client(), cast.staff.email)
    cast.staff.is_active = False
    cast.staff.save(update_fields=["is_active"])

    response = Client().post(link_in(mailoutbox[0]))

    assert response.status_code == 410


def test_only_the_hash_of_the_token_is_stored(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    ask_for_link(Client(), cast.staff.email)
    token = link_in(mailoutbox[0]).rstrip("/").rsplit("/", 1)[1]

    stored = SignInLink.objects.get()
    assert stored.scope == SignInLinkScope.STAFF
    assert token not in stored.token_hash


def test_unknown_and_inactive_addresses_get_the_same_answer_and_no_mail(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    cast.manager.is_active = False
    cast.manager.save(update_fields=["is_active"])

    known = ask_for_link(Client(), cast.staff.email)
    unknown = ask_for_link(Client(), "nobody@harbour.test")
    inactive = ask_for_link(Client(), cast.manager.email)

    assert known.status_code == unknown.status_code == inactive.status_code == 200
    assert len(mailoutbox) == 1

    def strip(html: str, email: str) -> str:
        return re.sub(r'value="[^"]+"|"X-CSRFToken": "[^"]+"|' + re.escape(email), "", html)

    assert strip(known.content.decode(), cast.staff.email) == strip(
        unknown.content.decode(), "nobody@harbour.test"
    )
    assert strip(inactive.content.decode(), cast.manager.email) == strip(
        unknown.content.decode(), "nobody@harbour.test"
    )


def test_links_are_rate_limited_per_e_mail_address(
    cast: Cast, settings: Any, mailoutbox: list[mail.EmailMessage]
) -> None:
    for number in range(settings.SIGNIN_LINKS_PER_EMAIL):
        assert ask_for_link(Client(), cast.staff.email, f"192.0.2.{number}").status_code == 200

    response = ask_for_link(Client(), cast.staff.email, "198.51.100.99")

    assert response.status_code == 429
    assert "Too many e-mailed links were asked for" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert len(mailoutbox) == settings.SIGNIN_LINKS_PER_EMAIL
    # An unknown address is limited the same way: the limit reveals nothing either.
    for _ in range(settings.SIGNIN_LINKS_PER_EMAIL):
        ask_for_link(Client(), "ghost@example.com")
    assert ask_for_link(Client(), "ghost@example.com").status_code == 429


def test_links_are_rate_limited_per_network_address(cast: Cast, settings: Any) -> None:
    settings.SIGNIN_LINKS_PER_ADDRESS = 3
    for number in range(3):
        ask_for_link(Client(), f"person{number}@example.com", "203.0.113.9")

    blocked = ask_for_link(Client(), cast.staff.email, "203.0.113.9")
    elsewhere = ask_for_link(Client(), cast.staff.email, "198.51.100.1")

    assert blocked.status_code == 429
    assert elsewhere.status_code == 200


def test_a_portal_link_does_not_open_the_staff_sign_in(cast: Cast) -> None:
    portal_token = signin_link_create(user=cast.admin, scope=SignInLinkScope.PORTAL)
    staff_url = reverse("accounts:sign_in_link", args=[portal_token])
    client = Client()

    assert client.get(staff_url).status_code == 410
    response = client.post(staff_url)

    assert response.status_code == 410
    assert "_auth_user_id" not in client.session


def test_a_made_up_token_is_refused(db: None) -> None:
    url = reverse("accounts:sign_in_link", args=["not-a-token"])

    assert Client().get(url).status_code == 410
    assert Client().post(url).status_code == 410


def test_while_password_sign_in_is_paused_the_link_still_signs_in(
    cast: Cast, settings: Any, mailoutbox: list[mail.EmailMessage]
) -> None:
    settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT = 3
    for number in range(3):
        Client().post(
            SIGN_IN,
            {"username": cast.admin.email, "password": "wrong"},
            REMOTE_ADDR=f"192.0.2.{number + 1}",
        )
    paused = Client().post(SIGN_IN, {"username": cast.admin.email, "password": "x-right-maybe"})
    assert paused.status_code == 429
    assert f"{LINK_REQUEST}?email=" in paused.content.decode()

    visitor = Client()
    assert ask_for_link(visitor, cast.admin.email).status_code == 200
    response = visitor.post(link_in(mailoutbox[-1]))

    assert response.status_code == 302
    assert visitor.get(DASHBOARD).status_code == 200


def test_the_request_page_fills_in_the_address_it_was_sent_from(db: None) -> None:
    response = Client().get(f"{LINK_REQUEST}?email=admin%40harbour.test")

    assert response.status_code == 200
    assert 'value="admin@harbour.test"' in response.content.decode()


def test_a_link_whose_e_mail_fails_is_not_kept_and_the_person_is_told(
    cast: Cast, settings: Any
) -> None:
    settings.EMAIL_BACKEND = REFUSING

    response = ask_for_link(Client(), cast.staff.email)

    assert response.status_code == 503
    html = response.content.decode()
    assert "We could not send the e-mail just now, so nothing was saved." in html
    assert f'value="{cast.staff.email}"' in html
    assert not SignInLink.objects.exists()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_link_pages_answer_405_to_other_methods(cast: Cast, method: str) -> None:
    token = signin_link_create(user=cast.staff, scope=SignInLinkScope.STAFF)
    client = Client()

    for url in (LINK_REQUEST, reverse("accounts:sign_in_link", args=[token])):
        assert getattr(client, method)(url).status_code == 405
    assert "_auth_user_id" not in client.session
    assert Client().post(reverse("accounts:sign_in_link", args=[token])).status_code == 302
