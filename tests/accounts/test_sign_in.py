"""Sign-in by e-mail through the real view, its throttling of repeated failures, and sign-out.

Failures are counted per account and network address together (a typo or a guesser pauses
only that pair), per network address, and per account from anywhere, with a far higher bar
for the last so that nobody can lock a real person out from elsewhere.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jobline.accounts.models import ThrottleHit, User
from tests.conftest import PASSWORD, Cast

SIGN_IN = reverse("accounts:login")
SIGN_OUT = reverse("accounts:logout")
LINK_REQUEST = reverse("accounts:sign_in_link_request")
DASHBOARD = reverse("dashboard")
WRONG_PASSWORD = "not-the-password-at-all"
MISMATCH = "That e-mail address and password do not match"
PAIR_THROTTLED = "Too many failed sign-in attempts for this account from your network address"
ADDRESS_THROTTLED = "Too many failed sign-in attempts from your network address"
ACCOUNT_PAUSED = "Signing in with a password is paused for this account"
HOME_ADDRESS = "203.0.113.10"


def sign_in(client: Client, email: str, password: str, *, address: str = HOME_ADDRESS) -> Any:
    return client.post(SIGN_IN, {"username": email, "password": password}, REMOTE_ADDR=address)


def fail_times(email: str, times: int, *, address: str = HOME_ADDRESS) -> None:
    client = Client()
    for _ in range(times):
        response = sign_in(client, email, WRONG_PASSWORD, address=address)
        assert response.status_code == 400


def is_signed_in(client: Client) -> bool:
    response = client.get(DASHBOARD)
    return response.status_code == 200


def age_all_failures(seconds: int) -> None:
    ThrottleHit.objects.update(created_at=timezone.now() - timedelta(seconds=seconds))


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


def test_a_wrong_password_is_checked_once(cast: Cast, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two backends load users (the members' one, and ModelBackend for sessions from before
    it); a wrong password must be hashed once, not once per backend."""
    checks = []
    real_check = User.check_password

    def counting_check(user: User, raw: str) -> bool:
        checks.append(raw)
        return real_check(user, raw)

    monkeypatch.setattr(User, "check_password", counting_check)
    assert sign_in(Client(), cast.staff.email, WRONG_PASSWORD).status_code == 400
    assert checks == [WRONG_PASSWORD]
    client = Client()
    assert sign_in(client, cast.staff.email, PASSWORD).status_code == 302
    assert checks == [WRONG_PASSWORD, PASSWORD] and is_signed_in(client)


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


def test_signed_in_person_visiting_sign_in_is_sent_to_the_dashboard(as_admin: Client) -> None:
    response = as_admin.get(SIGN_IN)

    assert response.status_code == 302
    assert response.url == DASHBOARD


def test_sign_in_page_offers_a_sign_in_link_by_e_mail(db: None) -> None:
    response = Client().get(SIGN_IN)

    assert response.status_code == 200
    assert f'href="{LINK_REQUEST}"' in response.content.decode()
    assert "E-mail me a sign-in link" in response.content.decode()


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


# --- Throttling per account and network address (the pair) ---------------------------------


def test_five_failures_pause_the_account_only_from_that_address(cast: Cast) -> None:
    """Someone else guessing from their network must not lock the real person out."""
    fail_times(cast.admin.email, settings.SIGNIN_MAX_FAILURES_PER_PAIR, address="192.0.2.66")

    from_guesser = sign_in(Client(), cast.admin.email, PASSWORD, address="192.0.2.66")
    person = Client()
    from_elsewhere = sign_in(person, cast.admin.email, PASSWORD, address=HOME_ADDRESS)

    assert from_guesser.status_code == 429
    assert PAIR_THROTTLED in from_guesser.content.decode()
    assert from_elsewhere.status_code == 302
    assert from_elsewhere.url == DASHBOARD
    assert person.session["_auth_user_id"] == str(cast.admin.pk)


def test_correct_password_is_refused_while_the_pair_is_throttled(cast: Cast) -> None:
    assert settings.SIGNIN_MAX_FAILURES_PER_PAIR == 5
    fail_times(cast.admin.email, settings.SIGNIN_MAX_FAILURES_PER_PAIR)
    client = Client()

    response = sign_in(client, cast.admin.email, PASSWORD)

    assert response.status_code == 429
    assert PAIR_THROTTLED in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    # The way out is offered right there.
    assert f'href="{LINK_REQUEST}?email=admin%40harbour.test"' in response.content.decode()


def test_failures_below_the_pair_limit_do_not_block_the_correct_password(cast: Cast) -> None:
    fail_times(cast.admin.email, settings.SIGNIN_MAX_FAILURES_PER_PAIR - 1)

    response = sign_in(Client(), cast.admin.email, PASSWORD)

    assert response.status_code == 302
    assert response.url == DASHBOARD


def test_changing_the_case_of_the_email_does_not_dodge_the_throttle(cast: Cast) -> None:
    spellings = ["admin@harbour.test", "ADMIN@harbour.test", "Admin@Harbour.Test"]
    for number in range(settings.SIGNIN_MAX_FAILURES_PER_PAIR):
        fail_times(spellings[number % len(spellings)], 1)

    response = sign_in(Client(), "aDmIn@HaRbOuR.tEsT", PASSWORD)

    assert response.status_code == 429
    assert PAIR_THROTTLED in response.content.decode()


def test_refused_attempts_while_throttled_are_not_counted_as_more_failures(
    cast: Cast, settings: Any
) -> None:
    # Were the refused attempts counted, they would reach the account-wide limit of 7.
    settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT = 7
    fail_times(cast.admin.email, 5)
    for _ in range(3):
        assert sign_in(Client(), cast.admin.email, WRONG_PASSWORD).status_code == 429

    response = sign_in(Client(), cast.admin.email, PASSWORD, address="198.51.100.200")

    assert response.status_code == 302


def test_throttled_pair_does_not_block_another_account_from_the_same_address(
    cast: Cast,
) -> None:
    fail_times(cast.admin.email, settings.SIGNIN_MAX_FAILURES_PER_PAIR)
    client = Client()

    response = sign_in(client, cast.manager.email, PASSWORD)

    assert response.status_code == 302
    assert response.url == DASHBOARD
    assert client.session["_auth_user_id"] == str(cast.manager.pk)


def test_an_ipv6_network_counts_as_one_address(cast: Cast) -> None:
    """A host gets a whole /64: changing the last bits must not buy fresh guesses."""
    for number in range(settings.SIGNIN_MAX_FAILURES_PER_PAIR):
        fail_times(cast.admin.email, 1, address=f"2001:db8:1:2::{number + 1:x}")

    same_network = sign_in(Client(), cast.admin.email, PASSWORD, address="2001:db8:1:2::ffff")
    other_network = sign_in(Client(), cast.admin.email, PASSWORD, address="2001:db8:1:3::1")

    assert same_network.status_code == 429
    assert other_network.status_code == 302


# --- Throttling per network address ---------------------------------------------------------


def fail_from_one_address_with_many_emails(address: str) -> None:
    """The address limit reached without any pair reaching its own limit."""
    for number in range(settings.SIGNIN_MAX_FAILURES_PER_ADDRESS):
        fail_times(f"guess{number}@example.com", 1, address=address)


def test_many_failures_from_one_address_block_that_address(cast: Cast) -> None:
    assert settings.SIGNIN_MAX_FAILURES_PER_ADDRESS > settings.SIGNIN_MAX_FAILURES_PER_PAIR
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


def test_a_correct_password_gives_back_its_reserved_attempt(cast: Cast, settings: Any) -> None:
    """The attempt is counted before the password is checked; a right one is not a failure."""
    settings.SIGNIN_MAX_FAILURES_PER_ADDRESS = 3
    fail_times("guess@example.com", 2)
    for _ in range(3):
        assert sign_in(Client(), cast.admin.email, PASSWORD).status_code == 302

    third_failure = sign_in(Client(), "another-guess@example.com", WRONG_PASSWORD)
    fourth = sign_in(Client(), "yet-another@example.com", WRONG_PASSWORD)

    assert third_failure.status_code == 400
    assert fourth.status_code == 429
    assert ADDRESS_THROTTLED in fourth.content.decode()


# --- The account-wide pause -----------------------------------------------------------------


def test_failures_from_several_addresses_do_not_pause_the_account_below_its_far_higher_bar(
    cast: Cast,
) -> None:
    assert settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT >= 10 * settings.SIGNIN_MAX_FAILURES_PER_PAIR
    for number in range(4):
        fail_times(
            cast.admin.email, settings.SIGNIN_MAX_FAILURES_PER_PAIR, address=f"192.0.2.{number}"
        )

    response = sign_in(Client(), cast.admin.email, PASSWORD, address="198.51.100.200")

    assert response.status_code == 302
    assert response.url == DASHBOARD


def test_the_account_wide_pause_refuses_the_password_everywhere_and_offers_a_link(
    cast: Cast, settings: Any
) -> None:
    settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT = 6
    for number in range(6):
        fail_times(cast.admin.email, 1, address=f"192.0.2.{number + 1}")
    client = Client()

    response = sign_in(client, cast.admin.email, PASSWORD, address="198.51.100.200")

    assert response.status_code == 429
    html = response.content.decode()
    assert ACCOUNT_PAUSED in html
    assert "e-mail yourself a sign-in link: it works meanwhile" in html
    assert f'href="{LINK_REQUEST}?email=admin%40harbour.test"' in html
    assert "_auth_user_id" not in client.session
    # Other accounts are not paused.
    assert sign_in(Client(), cast.manager.email, PASSWORD).status_code == 302


# --- The window -----------------------------------------------------------------------------


def test_pair_failures_older_than_the_window_no_longer_count(cast: Cast) -> None:
    fail_times(cast.admin.email, settings.SIGNIN_MAX_FAILURES_PER_PAIR)
    assert sign_in(Client(), cast.admin.email, PASSWORD).status_code == 429

    age_all_failures(settings.SIGNIN_FAILURE_WINDOW_SECONDS + 1)
    response = sign_in(Client(), cast.admin.email, PASSWORD)

    assert response.status_code == 302
    assert response.url == DASHBOARD


def test_address_failures_older_than_the_window_no_longer_count(cast: Cast) -> None:
    fail_from_one_address_with_many_emails("203.0.113.66")
    assert sign_in(Client(), cast.admin.email, PASSWORD, address="203.0.113.66").status_code == 429

    age_all_failures(settings.SIGNIN_FAILURE_WINDOW_SECONDS + 1)
    response = sign_in(Client(), cast.admin.email, PASSWORD, address="203.0.113.66")

    assert response.status_code == 302


def test_failures_just_inside_the_window_still_count(cast: Cast) -> None:
    fail_times(cast.admin.email, settings.SIGNIN_MAX_FAILURES_PER_PAIR)

    age_all_failures(settings.SIGNIN_FAILURE_WINDOW_SECONDS - 60)
    response = sign_in(Client(), cast.admin.email, PASSWORD)

    assert response.status_code == 429
    # About a minute of the pause is left, and the message says so.
    assert "Please wait 1 minute and try again" in response.content.decode()
    assert 0 < int(response["Retry-After"]) <= 60


def test_throttle_message_says_how_long_to_wait(cast: Cast) -> None:
    fail_times(cast.admin.email, settings.SIGNIN_MAX_FAILURES_PER_PAIR)

    response = sign_in(Client(), cast.admin.email, PASSWORD)

    minutes = settings.SIGNIN_FAILURE_WINDOW_SECONDS // 60
    assert response.status_code == 429
    assert f"Please wait {minutes} minutes and try again" in response.content.decode()


# --- A success clears the pair's failures ---------------------------------------------------


def test_successful_sign_in_clears_the_pairs_failures(cast: Cast) -> None:
    limit = settings.SIGNIN_MAX_FAILURES_PER_PAIR
    fail_times(cast.admin.email, limit - 1)

    assert sign_in(Client(), cast.admin.email, PASSWORD).status_code == 302

    # A fresh run of mistakes is needed to pause the pair again.
    fail_times(cast.admin.email, limit - 1)
    response = sign_in(Client(), cast.admin.email, PASSWORD)
    assert response.status_code == 302


def test_successful_sign_in_keeps_failures_against_other_accounts(cast: Cast) -> None:
    limit = settings.SIGNIN_MAX_FAILURES_PER_PAIR
    fail_times(cast.manager.email, limit - 1)

    assert sign_in(Client(), cast.admin.email, PASSWORD).status_code == 302
    fail_times(cast.manager.email, 1)

    response = sign_in(Client(), cast.manager.email, PASSWORD)
    assert response.status_code == 429


# --- Bad input and methods ------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch", "delete", "options"])
def test_sign_in_page_answers_405_to_other_methods(cast: Cast, method: str) -> None:
    client = Client()
    body = f"username={cast.admin.email}&password={PASSWORD}"

    response = getattr(client, method)(
        SIGN_IN, body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 405
    assert "_auth_user_id" not in client.session


def test_an_overlong_email_is_refused_next_to_the_field_and_not_counted(cast: Cast) -> None:
    overlong = "a" * 250 + "@harbour.test"

    response = sign_in(Client(), overlong, WRONG_PASSWORD)

    assert response.status_code == 400
    assert response.context["form"].errors["username"]
    assert not ThrottleHit.objects.exists()


def test_an_overlong_password_is_refused_without_being_hashed(cast: Cast) -> None:
    response = sign_in(Client(), cast.admin.email, "x" * 5000)

    assert response.status_code == 400
    assert response.context["form"].errors["password"]
    assert not ThrottleHit.objects.exists()


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


def test_sessions_signed_in_before_the_members_backend_still_work(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.staff, backend="django.contrib.auth.backends.ModelBackend")
    assert is_signed_in(client)
    assert cast.workspace.name in client.get(DASHBOARD).text
