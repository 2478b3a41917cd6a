"""The fixture cast every access rule is tested against.

Harbour (the workspace under test) has an Admin, a Manager and a Staff member, and two
customers. The outsider is the Admin of another workspace: they pass every role check, so
only tenancy stands between them and Harbour's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from jobline.accounts.models import User
from jobline.customers.models import Customer
from jobline.workspaces.models import Membership, Role, Workspace
from jobline.workspaces.services import workspace_create

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """On SQLite the test database is a file of this run's own, not Django's shared in-memory
    one. In memory, the browser tests' live server thread shares the test thread's one
    connection: a request still being served when a test ends held a table the teardown's
    flush needed ("database table is locked", now and then). With a file, each thread has its
    own connection and the flush waits for the request's reads like any other writer."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        name = tmp_path_factory.mktemp("db") / "jobline-test.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(name)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Argon2 is deliberately slow; tests that check hashing itself restore it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def check_prepared_queries(settings: Any) -> None:
    """Every prepared query a test runs is compared with its plain queryset's SQL
    (core/prepared.py): the whole suite checks them."""
    settings.JOBLINE_CHECK_PREPARED_QUERIES = True


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Path) -> None:
    """Uploaded files from tests land in a temporary folder, never in var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


def make_user(email: str, full_name: str) -> User:
    return User.objects.create_user(email, PASSWORD, full_name=full_name)


@dataclass
class Cast:
    workspace: Workspace
    admin: User
    manager: User
    staff: User
    outsider: User
    other_workspace: Workspace
    customer: Customer
    second_customer: Customer

    def membership(self, user: User) -> Membership:
        return Membership.objects.get(user=user, workspace=self.workspace)


@pytest.fixture
def cast(db: None) -> Cast:
    admin = make_user("admin@harbour.test", "Ada Admin")
    manager = make_user("manager@harbour.test", "Max Manager")
    staff = make_user("staff@harbour.test", "Sam Staff")
    outsider = make_user("outsider@elsewhere.test", "Olly Outsider")
    workspace = workspace_create(name="Harbour Renovations", owner=admin)
    Membership.objects.create(workspace=workspace, user=manager, role=Role.MANAGER)
    Membership.objects.create(workspace=workspace, user=staff, role=Role.STAFF)
    other_workspace = workspace_create(name="Elsewhere Plumbing", owner=outsider)
    customer = Customer.objects.create(
        workspace=workspace, name="Priya Natarajan", email="priya@example.com", created_by=admin
    )
    second_customer = Customer.objects.create(
        workspace=workspace, name="Tom Whitfield", email="tom@example.com", created_by=admin
    )
    return Cast(
        workspace=workspace,
        admin=admin,
        manager=manager,
        staff=staff,
        outsider=outsider,
        other_workspace=other_workspace,
        customer=customer,
        second_customer=second_customer,
    )


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_admin(cast: Cast) -> Client:
    return client_for(cast.admin)


@pytest.fixture
def as_manager(cast: Cast) -> Client:
    return client_for(cast.manager)


@pytest.fixture
def as_staff(cast: Cast) -> Client:
    return client_for(cast.staff)


@pytest.fixture
def as_outsider(cast: Cast) -> Client:
    return client_for(cast.outsider)


@pytest.fixture(params=["admin", "manager", "staff"])
def any_member(request: pytest.FixtureRequest, cast: Cast) -> tuple[str, Client]:
    """Each role of the workspace in turn: for pages every member may use."""
    user = getattr(cast, request.param)
    return request.param, client_for(user)
