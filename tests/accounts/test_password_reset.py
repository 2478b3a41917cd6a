"""Password reset by e-mailed link: one mail, one use, and no hint whether an account exists."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from jobline.accounts.models import User
from tests.conftest import PASSWORD, Cast

RESET = reverse("accounts:password_reset")
RESET_SENT = reverse("accounts:password_reset_done")
RESET_COMPLETE = reverse("accounts:password_reset_complete")
SIGN_IN = reverse("accounts:login")
DASHBOARD = reverse("dashboard")
NEW_PASSWORD = "a-brand-new-tidal-password"
LINK = re.compile(
    r"https?://[^/\s]+(/accounts/password-reset/(?P<uidb64>[^/\s]+)/(?P<token>[^/\s]+)/)"
)


def request_reset(client: Client, email: str) -> Any:
    return client.post(RESET, {"email": email}, follow=True)


def reset_link(message: mail.EmailMessage) -> str:
    match = LINK.search(message.body)
    assert match is not None, message.body
    return match.group(1)


def open_link_and_set(client: Client, link: str, password: str) -> Any:
    """Follows the mailed link the way a browser does, then submits the new password."""
    opened = client.get(link)
    # Django swaps the token in the URL for "set-password" so it cannot leak via Referer.
    assert opened.status_code == 302
    assert opened.url.endswith("/set-password/")
    form_page = client.get(opened.url)
    assert form_page.status_code == 200
    assert form_page.context["validlink"] is True
    return client.post(opened.url, {"new_password1": password, "new_password2": password})


def signs_in(email: str, password: str) -> bool:
    response = Client().post(SIGN_IN, {"username": email, "password": password})
    return response.status_code == 302 and response.url == DASHBOARD


def test_reset_request_for_known_email_sends_one_mail_with_a_link(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    response = request_reset(Client(), cast.staff.email)

    assert response.redirect_chain == [(RESET_SENT, 302)]
    assert "Check your e-mail" in response.content.decode()
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [cast.staff.email]
    assert message.subject == "Reset your Jobline password"
    match = LINK.search(message.body)
    assert match is not None
    assert match.group(1) == reverse(
        "accounts:password_reset_confirm",
        kwargs={"uidb64": match.group("uidb64"), "token": match.group("token")},
    )


def test_reset_request_matches_the_email_in_any_case(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    request_reset(Client(), "STAFF@Harbour.Test")

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [cast.staff.email]


def test_following_the_link_sets_a_new_password_that_works_and_the_old_one_does_not(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    client = Client()
    request_reset(client, cast.staff.email)

    response = open_link_and_set(client, reset_link(mailoutbox[0]), NEW_PASSWORD)

    assert response.status_code == 302
    assert response.url == RESET_COMPLETE
    assert signs_in(cast.staff.email, NEW_PASSWORD)
    assert not signs_in(cast.staff.email, PASSWORD)


def test_reset_link_works_only_once(cast: Cast, mailoutbox: list[mail.EmailMessage]) -> None:
    request_reset(Client(), cast.staff.email)
    link = reset_link(mailoutbox[0])
    open_link_and_set(Client(), link, NEW_PASSWORD)

    # Someone else (or the same person later) opens the same link again.
    second = Client()
    reopened = second.get(link, follow=True)

    assert reopened.status_code == 200
    assert reopened.context["validlink"] is False
    assert "This link no longer works" in reopened.content.decode()
    # And a direct post to the set-password URL changes nothing.
    uidb64 = LINK.search(mailoutbox[0].body).group("uidb64")
    set_password_url = reverse(
        "accounts:password_reset_confirm", kwargs={"uidb64": uidb64, "token": "set-password"}
    )
    second.post(
        set_password_url, {"new_password1": "x-third-pw-9", "new_password2": "x-third-pw-9"}
    )
    assert signs_in(cast.staff.email, NEW_PASSWORD)
    assert not signs_in(cast.staff.email, "x-third-pw-9")


def test_tampered_token_is_refused(cast: Cast, mailoutbox: list[mail.EmailMessage]) -> None:
    request_reset(Client(), cast.staff.email)
    match = LINK.search(mailoutbox[0].body)
    token = match.group("token")
    forged_token = token[:-1] + ("1" if token.endswith("0") else "0")
    forged = reverse(
        "accounts:password_reset_confirm",
        kwargs={"uidb64": match.group("uidb64"), "token": forged_token},
    )

    response = Client().get(forged, follow=True)

    assert response.context["validlink"] is False
    assert User.objects.get(pk=cast.staff.pk).check_password(PASSWORD)


def test_weak_new_password_is_refused_and_the_old_one_still_works(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    client = Client()
    request_reset(client, cast.staff.email)

    response = open_link_and_set(client, reset_link(mailoutbox[0]), "12345678")

    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    assert signs_in(cast.staff.email, PASSWORD)


def test_unknown_email_sends_nothing_but_shows_the_same_page(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    known = request_reset(Client(), cast.staff.email)
    mailoutbox.clear()

    unknown = request_reset(Client(), "nobody@harbour.test")

    assert mailoutbox == []
    assert unknown.status_code == known.status_code == 200
    assert unknown.redirect_chain == known.redirect_chain == [(RESET_SENT, 302)]
    assert "Check your e-mail" in unknown.content.decode()
    assert unknown.templates[0].name == known.templates[0].name


def test_inactive_account_gets_no_reset_mail(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    cast.staff.is_active = False
    cast.staff.save(update_fields=["is_active"])

    response = request_reset(Client(), cast.staff.email)

    assert response.redirect_chain == [(RESET_SENT, 302)]
    assert mailoutbox == []


def test_an_overlong_new_password_is_refused_and_the_old_one_still_works(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    client = Client()
    request_reset(client, cast.staff.email)

    response = open_link_and_set(client, reset_link(mailoutbox[0]), "Long-pass-" * 500)

    assert response.status_code == 200
    assert response.context["form"].errors["new_password1"]
    assert signs_in(cast.staff.email, PASSWORD)


def test_reset_password_lifts_the_sign_in_pause(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    """The pause message says "or reset your password": doing so must let the person in."""
    guesser = Client()
    for _ in range(settings.SIGNIN_MAX_FAILURES_PER_PAIR):
        guesser.post(SIGN_IN, {"username": cast.staff.email, "password": "wrong-guess"})
    locked = Client().post(SIGN_IN, {"username": cast.staff.email, "password": PASSWORD})
    assert locked.status_code == 429
    assert "reset your password" in locked.content.decode()

    client = Client()
    request_reset(client, cast.staff.email)
    open_link_and_set(client, reset_link(mailoutbox[0]), NEW_PASSWORD)
    response = Client().post(SIGN_IN, {"username": cast.staff.email, "password": NEW_PASSWORD})

    assert response.status_code == 302, "still locked out after resetting the password"
    assert response.url == DASHBOARD


def test_reset_password_lifts_the_account_wide_pause(
    cast: Cast, mailoutbox: list[mail.EmailMessage], settings: Any
) -> None:
    settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT = 3
    for number in range(3):
        Client().post(
            SIGN_IN,
            {"username": cast.staff.email, "password": "wrong-guess"},
            REMOTE_ADDR=f"192.0.2.{number + 1}",
        )
    paused = Client().post(SIGN_IN, {"username": cast.staff.email, "password": PASSWORD})
    assert paused.status_code == 429

    client = Client()
    request_reset(client, cast.staff.email)
    open_link_and_set(client, reset_link(mailoutbox[0]), NEW_PASSWORD)
    response = Client().post(SIGN_IN, {"username": cast.staff.email, "password": NEW_PASSWORD})

    assert response.status_code == 302
    assert response.url == DASHBOARD


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_reset_pages_answer_405_to_other_methods(
    cast: Cast, method: str, mailoutbox: list[mail.EmailMessage]
) -> None:
    for url in (RESET, RESET_SENT, RESET_COMPLETE):
        assert getattr(Client(), method)(url).status_code == 405
    assert mailoutbox == []
