"""Sign-in by e-mail through the real view, its throttling of repeated failures, and sign-out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jobline.accounts.models import SignInAttempt
from tests.conftest import PASSWORD, Cast

SIGN_IN = reverse("accounts:login")
SIGN_OUT = reverse("accounts:logout")
DASHBOARD = reverse("dashboard")
WRONG_PASSWORD = "not-the-password-at-all"
MISMATCH = "That e-mail address and password do not match"
ACCOUNT_THROTTLED = "Too many failed sign-in attempts for this account"
ADDRESS_THROTTLED = "Too many failed sign-in attempts for your network address"


def sign_in(client: Client, email: str, password: str, *, address: str = "203.0.113.10") -> Any:
    return client.post(SIGN_IN, {"username": email, "password": password}, REMOTE_ADDR=address)


def fail_times(email: str, times: int, *, address: str = "203.0.113.10") -> None:
    client = Client()
    for _ in range(times):
        response = sign_in(client, email, WRONG_PASSWORD, address=address)
        assert response.status_code == 400


def is_signed_in(client: Client) -> bool:
    response = client.get(DASHBOARD)
    return response.status_code == 200


# --- Success and failure ------------------------------------------------------------------


def test_correct_password_redirects_to_the_dashboard_and_signs_in(cast: Cast) -> None:
    client = Client()

    response = sign_in(client, cast.admin.email, PASSWORD)

    assert response.status_code == 302
    assert response.url == DASHBOARD
    assert client.session["_auth_user_id"] == str(cast.admin.pk)
    dashboard = client.get(DASHBOARD)
    assert dashboard.status_code == 200
    assert cast.workspace.name in dashboard.content.decode()


@pytest.mark.parametrize(
    "typed", ["ADMIN@HARBOUR.TEST", "Admin@Harbour.Test", " admin@harbour.test "]
)
def test_email_is_case_insensitive_at_sign_in(cast: Cast, typed: str) -> None:
    client = Client()

    response = sign_in(client, typed, PASSWORD)

    assert response.status_code == 302
    assert response.url == DASHBOARD
    assert client.session["_auth_user_id"] == str(cast.admin.pk)


def test_wrong_password_answers_400_with_message_and_keeps_the_email(cast: Cast) -> None:
    client = Client()

    response = sign_in(client, cast.admin.email, WRONG_PASSWORD)

    assert response.status_code == 400
    html = response.content.decode()
    assert MISMATCH in html
    assert f'value="{cast.admin.email}"' in html
    # The password is never echoed back into the page.
    assert WRONG_PASSWORD not in html
    assert "_auth_user_id" not in client.session


def test_unknown_email_gets_the_same_message_as_a_wrong_password(cast: Cast) -> None:
    response = sign_in(Client(), "nobody@harbour.test", PASSWORD)

    assert response.status_code == 400
    assert MISMATCH in response.content.decode()


def test_password_is_case_sensitive(cast: Cast) -> None:
    response = sign_in(Client(), cast.admin.email, PASSWORD.upper())

    assert response.status_code == 400
    assert MISMATCH in response.content.decode()


def test_inactive_person_cannot_sign_in_with_the_correct_password(cast: Cast) -> None:
    cast.staff.is_active = False
    cast.staff.save(update_fields=["is_active"])
    client = Client()

    response = sign_in(client, cast.staff.email, PASSWORD)

    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_each_failure_is_recorded_with_normalised_email_and_address(cast: Cast) -> None:
    sign_in(Client(), "Admin@Harbour.TEST", WRONG_PASSWORD, address="198.51.100.7")

    attempt = SignInAttempt.objects.get()
    assert attempt.email == "admin@harbour.test"
    assert attempt.ip_address == "198.51.100.7"


def test_signed_in_person_visiting_sign_in_is_sent_to_the_dashboard(as_admin: Client) -> None:
    response = as_admin.get(SIGN_IN)

    assert response.status_code == 302
    assert response.url == DASHBOARD


def test_sign_in_follows_a_local_next_url(cast: Cast) -> None:
    customers = reverse("customers:list")

    response = Client().post(
        f"{SIGN_IN}?next={customers}", {"username": cast.admin.email, "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == customers


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_sign_in_never_redirects_to_another_site(cast: Cast, target: str) -> None:
    response = Client().post(
        SIGN_IN, {"username": cast.admin.email, "password": PASSWORD, "next": target}
    )

    assert response.status_code == 302
    assert response.url == DASHBOARD


# --- Throttling per account ---------------------------------------------------------------


def test_correct_password_is_refused_while_account_is_throttled(cast: Cast) -> None:
    fail_times(cast.admin.email, settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT)
    client = Client()

    response = sign_in(client, cast.admin.email, PASSWORD)

    assert response.status_code == 429
    assert ACCOUNT_THROTTLED in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_failures_below_the_account_limit_do_not_block_the_correct_password(cast: Cast) -> None:
    fail_times(cast.admin.email, settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT - 1)

    response = sign_in(Client(), cast.admin.email, PASSWORD)

    assert response.status_code == 302
    assert response.url == DASHBOARD


def test_account_throttle_applies_from_every_address(cast: Cast) -> None:
    limit = settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT
    for number in range(limit):
        fail_times(cast.admin.email, 1, address=f"192.0.2.{number + 1}")

    response = sign_in(Client(), cast.admin.email, PASSWORD, address="198.51.100.200")

    assert response.status_code == 429
    assert ACCOUNT_THROTTLED in response.content.decode()


def test_changing_the_case_of_the_email_does_not_dodge_the_account_throttle(cast: Cast) -> None:
    limit = settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT
    spellings = ["admin@harbour.test", "ADMIN@harbour.test", "Admin@Harbour.Test"]
    for number in range(limit):
        fail_times(spellings[number % len(spellings)], 1)

    response = sign_in(Client(), "aDmIn@HaRbOuR.tEsT", PASSWORD)

    assert response.status_code == 429
    assert ACCOUNT_THROTTLED in response.content.decode()


def test_refused_attempts_while_throttled_are_not_counted_as_more_failures(cast: Cast) -> None:
    limit = settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT
    fail_times(cast.admin.email, limit)
    client = Client()
    for _ in range(3):
        assert sign_in(client, cast.admin.email, WRONG_PASSWORD).status_code == 429

    assert SignInAttempt.objects.filter(email=cast.admin.email).count() == limit


def test_throttled_account_does_not_block_another_account_from_the_same_address(
    cast: Cast,
) -> None:
    fail_times(cast.admin.email, settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT)
    client = Client()

    response = sign_in(client, cast.manager.email, PASSWORD)

    assert response.status_code == 302
    assert response.url == DASHBOARD
    assert client.session["_auth_user_id"] == str(cast.manager.pk)


# --- Throttling per address ---------------------------------------------------------------


def fail_from_one_address_with_many_emails(address: str) -> None:
    """The address limit reached without any single account reaching its own limit."""
    for number in range(settings.SIGNIN_MAX_FAILURES_PER_ADDRESS):
        fail_times(f"guess{number}@example.com", 1, address=address)


def test_many_failures_from_one_address_block_that_address(cast: Cast) -> None:
    assert settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT > 1
    fail_from_one_address_with_many_emails("203.0.113.66")
    client = Client()

    response = sign_in(client, cast.admin.email, PASSWORD, address="203.0.113.66")

    assert response.status_code == 429
    assert ADDRESS_THROTTLED in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_address_throttle_does_not_block_another_address(cast: Cast) -> None:
    fail_from_one_address_with_many_emails("203.0.113.66")
    client = Client()

    response = sign_in(client, cast.admin.email, PASSWORD, address="203.0.113.67")

    assert response.status_code == 302
    assert response.url == DASHBOARD


# --- The window -----------------------------------------------------------------------------


def _age_all_failures(seconds: int) -> None:
    SignInAttempt.objects.update(created_at=timezone.now() - timedelta(seconds=seconds))


def test_account_failures_older_than_the_window_no_longer_count(cast: Cast) -> None:
    fail_times(cast.admin.email, settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT)
    assert sign_in(Client(), cast.admin.email, PASSWORD).status_code == 429

    _age_all_failures(settings.SIGNIN_FAILURE_WINDOW_SECONDS + 1)
    response = sign_in(Client(), cast.admin.email, PASSWORD)

    assert response.status_code == 302
    assert response.url == DASHBOARD


def test_address_failures_older_than_the_window_no_longer_count(cast: Cast) -> None:
    fail_from_one_address_with_many_emails("203.0.113.66")
    assert sign_in(Client(), cast.admin.email, PASSWORD, address="203.0.113.66").status_code == 429

    _age_all_failures(settings.SIGNIN_FAILURE_WINDOW_SECONDS + 1)
    response = sign_in(Client(), cast.admin.email, PASSWORD, address="203.0.113.66")

    assert response.status_code == 302


def test_failures_just_inside_the_window_still_count(cast: Cast) -> None:
    fail_times(cast.admin.email, settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT)

    _age_all_failures(settings.SIGNIN_FAILURE_WINDOW_SECONDS - 60)
    response = sign_in(Client(), cast.admin.email, PASSWORD)

    assert response.status_code == 429
    # About a minute of the lock is left, and the message says so.
    assert "Please wait 1 minute and try again" in response.content.decode()


def test_throttle_message_says_how_long_to_wait(cast: Cast) -> None:
    fail_times(cast.admin.email, settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT)

    response = sign_in(Client(), cast.admin.email, PASSWORD)

    minutes = settings.SIGNIN_FAILURE_WINDOW_SECONDS // 60
    assert f"Please wait {minutes} minutes and try again" in response.content.decode()


# --- A success clears the account's failures ----------------------------------------------


def test_successful_sign_in_clears_the_accounts_failures(cast: Cast) -> None:
    limit = settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT
    fail_times(cast.admin.email, limit - 1)

    assert sign_in(Client(), cast.admin.email, PASSWORD).status_code == 302
    assert not SignInAttempt.objects.filter(email=cast.admin.email).exists()

    # A fresh run of mistakes is needed to lock the account again.
    fail_times(cast.admin.email, limit - 1)
    response = sign_in(Client(), cast.admin.email, PASSWORD)
    assert response.status_code == 302


def test_successful_sign_in_keeps_failures_against_other_accounts(cast: Cast) -> None:
    fail_times(cast.manager.email, 2)

    assert sign_in(Client(), cast.admin.email, PASSWORD).status_code == 302

    assert SignInAttempt.objects.filter(email=cast.manager.email).count() == 2


# --- Sign-out -------------------------------------------------------------------------------


def test_sign_out_by_post_ends_the_session(cast: Cast) -> None:
    client = Client()
    assert sign_in(client, cast.admin.email, PASSWORD).status_code == 302
    assert is_signed_in(client)

    response = client.post(SIGN_OUT)

    assert response.status_code == 302
    assert response.url == SIGN_IN
    assert "_auth_user_id" not in client.session
    dashboard = client.get(DASHBOARD)
    assert dashboard.status_code == 302
    assert dashboard.url.startswith(SIGN_IN)


def test_sign_out_by_get_is_refused_and_keeps_the_session(as_admin: Client) -> None:
    response = as_admin.get(SIGN_OUT)

    assert response.status_code == 405
    assert is_signed_in(as_admin)


def test_old_session_cookie_is_useless_after_sign_out(cast: Cast) -> None:
    client = Client()
    assert sign_in(client, cast.admin.email, PASSWORD).status_code == 302
    old_session_key = client.cookies[settings.SESSION_COOKIE_NAME].value

    client.post(SIGN_OUT)
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_session_key

    assert not is_signed_in(replay)
