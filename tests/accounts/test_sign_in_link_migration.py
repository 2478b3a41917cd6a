"""The move of the portal's sign-in links into accounts.SignInLink keeps every link working."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("accounts", "0001_initial"), ("portal", "0002_job_seen")]
AFTER = [
    ("accounts", "0002_sign_in_links_throttle_sign_ups"),
    ("portal", "0003_signinlink_to_accounts"),
]


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader sees the state just reached


@pytest.mark.django_db(transaction=True)
def test_portal_links_are_carried_over_with_the_portal_scope() -> None:
    old_apps = migrate(BEFORE).loader.project_state(BEFORE).apps
    User = old_apps.get_model("accounts", "User")
    OldLink = old_apps.get_model("portal", "SignInLink")
    priya = User.objects.create(email="priya@example.com", full_name="Priya", password="!")
    now = timezone.now()
    OldLink.objects.create(
        email=priya.email, user=priya, token_hash="a" * 64, ip_address="203.0.113.1",
        created_at=now, expires_at=now + timedelta(minutes=30),
    )  # fmt: skip
    OldLink.objects.create(
        email=priya.email, user=priya, token_hash="b" * 64, created_at=now,
        expires_at=now + timedelta(minutes=30), used_at=now,
    )  # fmt: skip
    # A counted request for an address without access: it was never a link.
    OldLink.objects.create(email="ghost@example.com", created_at=now, expires_at=now)

    try:
        new_apps = migrate(AFTER).loader.project_state(AFTER).apps
        NewLink = new_apps.get_model("accounts", "SignInLink")
        links = {link.token_hash: link for link in NewLink.objects.all()}

        assert set(links) == {"a" * 64, "b" * 64}
        assert {link.scope for link in links.values()} == {"portal"}
        assert links["a" * 64].user_id == priya.pk
        assert links["a" * 64].ip_address == "203.0.113.1"
        assert links["a" * 64].used_at is None
        assert links["b" * 64].used_at is not None
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
