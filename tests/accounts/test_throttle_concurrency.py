"""Parallel wrong passwords on PostgreSQL, with real concurrent requests: the check and the
count of a failure are one atomic step, so no more passwords are checked than the limit
allows, however many guesses arrive at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from jobline.accounts.models import User
from tests.concurrency import run_together
from tests.conftest import PASSWORD, Cast

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs a server with row locks; SQLite serialises writers by design",
    ),
]

SIGN_IN = reverse("accounts:login")
PARALLEL = 40


@pytest.fixture
def checked_passwords(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password actually checked against the hash, with the check made as slow as a real
    argon2 hash, so guesses overlap the way they do in production."""
    checked: list[str] = []
    lock = threading.Lock()
    original = User.check_password

    def slow_check(self: User, raw_password: str) -> bool:
        with lock:
            checked.append(raw_password)
        time.sleep(0.05)
        return original(self, raw_password)

    monkeypatch.setattr(User, "check_password", slow_check)
    return checked


def guess(email: str, password: str, address: str) -> Callable[[], int]:
    return lambda: (
        Client()
        .post(SIGN_IN, {"username": email, "password": password}, REMOTE_ADDR=address)
        .status_code
    )


def test_parallel_wrong_passwords_get_at_most_the_limit_checked(
    cast: Cast, settings: Any, checked_passwords: list[str]
) -> None:
    limit = settings.SIGNIN_MAX_FAILURES_PER_PAIR

    statuses = run_together(
        [guess(cast.admin.email, f"guess-{n}", "203.0.113.5") for n in range(PARALLEL)]
    )

    assert all(isinstance(status, int) for status in statuses), statuses
    assert len(checked_passwords) <= limit
    assert statuses.count(400) == len(checked_passwords)
    assert statuses.count(429) == PARALLEL - len(checked_passwords)
    # And the real person, elsewhere, is not locked out by it.
    assert guess(cast.admin.email, PASSWORD, "198.51.100.1")() == 302


def test_parallel_guesses_from_many_addresses_respect_the_account_wide_limit(
    cast: Cast, settings: Any, checked_passwords: list[str]
) -> None:
    settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT = 8

    statuses = run_together(
        [guess(cast.admin.email, f"guess-{n}", f"192.0.2.{n + 1}") for n in range(PARALLEL)]
    )

    assert all(isinstance(status, int) for status in statuses), statuses
    assert len(checked_passwords) <= 8
    assert statuses.count(429) >= PARALLEL - 8


def test_parallel_guesses_at_many_accounts_respect_the_address_limit(
    cast: Cast, settings: Any, checked_passwords: list[str]
) -> None:
    settings.SIGNIN_MAX_FAILURES_PER_ADDRESS = 6
    emails = [cast.admin.email, cast.manager.email, cast.staff.email, cast.outsider.email]

    statuses = run_together(
        [guess(emails[n % len(emails)], f"guess-{n}", "203.0.113.77") for n in range(PARALLEL)]
    )

    assert all(isinstance(status, int) for status in statuses), statuses
    assert len(checked_passwords) <= 6
    assert statuses.count(429) >= PARALLEL - 6
