"""Customer sign-in links: 30 minutes, single use, rate-limited, no account enumeration, a
portal-only session — and an e-mail that fails refuses the change that asked for it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from jobline.accounts.models import SignInLink, SignInLinkScope, User
from jobline.customers.models import Customer
from tests.accounts.mail_backends import REFUSING
from tests.conftest import Cast


def ask_for_link(client: Client, email: str, **extra: str) -> Any:
    # The e-mail leaves inside the request's transaction: no commit hook to run.
    return client.post("/user/sign-in/", {"email": email}, **extra)


def link_in(mail: list) -> str:
    match = re.search(r"http://testserver(/user/sign-in/[^/\s]+/)", mail[-1].body)
    assert match, mail[-1].body
    return match.group(1)


def test_a_customer_gets_a_link_that_signs_them_in_once(portal: Cast, mailoutbox: list) -> None:
    response = ask_for_link(Client(), "PRIYA@example.com")
    assert response.status_code == 200
    assert "Check your e-mail" in response.text
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["priya@example.com"]
    assert mailoutbox[0].alternatives  # an HTML part too
    link = link_in(mailoutbox)

    visitor = Client()
    assert "Continue" in visitor.get(link).text  # opening it (or a mail scanner) uses nothing
    response = visitor.post(link)
    assert response.status_code == 302 and response["Location"] == "/user/jobs/"
    assert visitor.get("/user/jobs/").status_code == 200

    again = Client().post(link)
    assert again.status_code == 410
    assert "expired or was already used" in again.text


def test_an_expired_link_is_refused(portal: Cast, mailoutbox: list) -> None:
    ask_for_link(Client(), "priya@example.com")
    SignInLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().post(link_in(mailoutbox))
    assert response.status_code == 410
    assert "_auth_user_id" not in Client().session


def test_unknown_and_staff_addresses_get_the_same_answer_and_no_mail(
    portal: Cast, mailoutbox: list
) -> None:
    known = ask_for_link(Client(), "priya@example.com").text
    unknown = ask_for_link(Client(), "nobody@example.com").text
    staff = ask_for_link(Client(), "staff@harbour.test").text
    assert len(mailoutbox) == 1  # only the customer
    strip = lambda html, email: re.sub(  # noqa: E731
        r'value="[^"]+"|"X-CSRFToken": "[^"]+"|' + re.escape(email), "", html
    )
    assert strip(known, "priya@example.com") == strip(unknown, "nobody@example.com")
    assert strip(staff, "staff@harbour.test") == strip(unknown, "nobody@example.com")


def test_links_are_rate_limited_per_address(portal: Cast, mailoutbox: list, settings: Any) -> None:
    for number in range(settings.SIGNIN_LINKS_PER_EMAIL):
        response = ask_for_link(Client(), "priya@example.com", REMOTE_ADDR=f"192.0.2.{number}")
        assert response.status_code == 200
    response = ask_for_link(Client(), "priya@example.com")
    assert response.status_code == 429
    assert "Too many e-mailed links were asked for" in response.text
    assert len(mailoutbox) == settings.SIGNIN_LINKS_PER_EMAIL
    # An unknown address is limited the same way: the limit reveals nothing either.
    for _ in range(settings.SIGNIN_LINKS_PER_EMAIL):
        ask_for_link(Client(), "ghost@example.com")
    assert ask_for_link(Client(), "ghost@example.com").status_code == 429


def test_links_are_rate_limited_per_network_address(portal: Cast, settings: Any) -> None:
    settings.SIGNIN_LINKS_PER_ADDRESS = 3
    for index in range(3):
        ask_for_link(Client(), f"person{index}@example.com", REMOTE_ADDR="203.0.113.9")
    blocked = ask_for_link(Client(), "priya@example.com", REMOTE_ADDR="203.0.113.9")
    assert blocked.status_code == 429
    assert (
        ask_for_link(Client(), "priya@example.com", REMOTE_ADDR="198.51.100.1").status_code == 200
    )


def test_a_made_up_token_is_refused(portal: Cast) -> None:
    assert Client().get("/user/sign-in/not-a-token/").status_code == 410
    assert Client().post("/user/sign-in/not-a-token/").status_code == 410


def test_invite_to_portal_sends_the_first_link(
    portal: Cast, as_staff: Client, mailoutbox: list
) -> None:
    newcomer = Customer.objects.create(
        workspace=portal.workspace, name="Nia New", email="nia@example.com"
    )
    response = as_staff.post(f"/customers/{newcomer.pk}/invite/")
    assert response.status_code == 302
    newcomer.refresh_from_db()
    assert newcomer.portal_user.email == "nia@example.com"
    assert not newcomer.portal_user.has_usable_password()
    assert "Harbour Renovations" in mailoutbox[-1].subject
    visitor = Client()
    visitor.post(link_in(mailoutbox))
    assert visitor.get("/user/jobs/").status_code == 200


def test_invite_needs_the_portal_on(cast: Cast, as_staff: Client, mailoutbox: list) -> None:
    response = as_staff.post(f"/customers/{cast.customer.pk}/invite/", follow=True)
    assert "Switch on the customer portal" in response.text
    assert mailoutbox == []


def test_links_are_stored_as_portal_links_with_only_their_hash(
    portal: Cast, mailoutbox: list
) -> None:
    ask_for_link(Client(), "priya@example.com")
    token = link_in(mailoutbox).rstrip("/").rsplit("/", 1)[1]

    link = SignInLink.objects.get()

    assert link.scope == SignInLinkScope.PORTAL
    assert link.user == portal.customer.portal_user
    assert token not in link.token_hash


def test_a_staff_link_does_not_work_as_a_portal_link(portal: Cast, mailoutbox: list) -> None:
    Client().post("/accounts/sign-in/link/", {"email": "staff@harbour.test"})
    staff_link = re.search(r"/accounts/sign-in/link/([^/\s]+)/", mailoutbox[-1].body).group(1)

    response = Client().post(f"/user/sign-in/{staff_link}/")

    assert response.status_code == 410


def test_a_line_break_in_the_business_name_does_not_break_the_invitation_e_mail(
    portal: Cast, as_staff: Client, mailoutbox: list
) -> None:
    portal.workspace.name = "Harbour\nRenovations"
    portal.workspace.save(update_fields=["name"])
    newcomer = Customer.objects.create(
        workspace=portal.workspace, name="Nia New", email="nia@example.com"
    )

    response = as_staff.post(f"/customers/{newcomer.pk}/invite/")

    assert response.status_code == 302
    assert mailoutbox[-1].subject == "Your sign-in link for Harbour Renovations"
    newcomer.refresh_from_db()
    assert newcomer.portal_user is not None


def test_an_invite_whose_e_mail_fails_changes_nothing_and_says_so(
    portal: Cast, as_staff: Client, settings: Any
) -> None:
    newcomer = Customer.objects.create(
        workspace=portal.workspace, name="Nia New", email="nia@example.com"
    )
    settings.EMAIL_BACKEND = REFUSING

    response = as_staff.post(f"/customers/{newcomer.pk}/invite/", follow=True)

    assert response.status_code == 200
    assert "We could not send the e-mail just now, so nothing was saved." in response.text
    newcomer.refresh_from_db()
    assert newcomer.portal_user is None
    assert not User.objects.filter(email="nia@example.com").exists()
    assert not SignInLink.objects.exists()


def test_a_link_request_whose_e_mail_fails_keeps_no_link(portal: Cast, settings: Any) -> None:
    settings.EMAIL_BACKEND = REFUSING

    response = ask_for_link(Client(), "priya@example.com")

    assert response.status_code == 503
    assert "We could not send the e-mail just now" in response.text
    assert 'value="priya@example.com"' in response.text
    assert not SignInLink.objects.exists()


def test_an_overlong_address_is_refused_next_to_the_field(portal: Cast, mailoutbox: list) -> None:
    response = ask_for_link(Client(), "a" * 250 + "@example.com")

    assert response.status_code == 400
    assert response.context["form"].errors["email"]
    assert mailoutbox == []


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_sign_in_pages_answer_405_to_other_methods(portal: Cast, method: str) -> None:
    for url in ("/user/sign-in/", "/user/sign-in/some-token/", "/user/sign-out/"):
        assert getattr(Client(), method)(url).status_code == 405
