"""The demo command: a believable workspace to click through, safe to run again."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from jobline.accounts.models import User
from jobline.customers.models import Customer
from jobline.workspaces.models import AuditLogEntry, Membership, Role, Workspace
from tests.conftest import Cast

DEMO_NAME = "Harbour Renovations & Repairs"
DEMO_PEOPLE = {
    "owner@demo.jobline.test": Role.ADMIN,
    "alex@demo.jobline.test": Role.MANAGER,
    "sam@demo.jobline.test": Role.STAFF,
}

pytestmark = pytest.mark.django_db


def run_demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "workspaces": Workspace.objects.count(),
        "memberships": Membership.objects.count(),
        "customers": Customer.objects.count(),
        "audit": AuditLogEntry.objects.count(),
    }


def printed_logins(output: str) -> dict[str, str]:
    return dict(re.findall(r"(\S+@demo\.jobline\.test)\s+password:\s+(\S+)", output))


def test_demo_builds_the_harbour_workspace() -> None:
    run_demo()

    workspace = Workspace.objects.get(name=DEMO_NAME)
    assert workspace.module_jobs is True
    assert workspace.time_zone == "Europe/London"
    assert workspace.currency == "GBP"


def test_demo_staff_have_admin_manager_and_staff_roles() -> None:
    run_demo()

    workspace = Workspace.objects.get(name=DEMO_NAME)
    roles = {
        m.user.email: m.role
        for m in Membership.objects.active().filter(workspace=workspace).select_related("user")
    }
    assert roles == DEMO_PEOPLE


def test_demo_has_twelve_customers_including_the_portal_customer() -> None:
    run_demo()

    workspace = Workspace.objects.get(name=DEMO_NAME)
    customers = Customer.objects.filter(workspace=workspace)
    assert customers.count() == 12
    assert customers.filter(email="customer@demo.jobline.test").exists()
    assert customers.filter(archived_at__isnull=True).count() == 12
    # Each has a distinct name and e-mail, so the list reads like a real business.
    assert len(set(customers.values_list("name", flat=True))) == 12
    assert len(set(customers.values_list("email", flat=True))) == 12


def test_running_the_demo_twice_creates_nothing_twice() -> None:
    run_demo()
    after_first = row_counts()

    second_output = run_demo()

    assert row_counts() == after_first
    assert "0 customers added" in second_output
    assert Workspace.objects.filter(name=DEMO_NAME).count() == 1


def test_demo_reports_the_customers_it_added() -> None:
    output = run_demo()

    assert "12 customers added" in output
    assert DEMO_NAME in output


def test_demo_tops_up_a_customer_that_was_deleted() -> None:
    run_demo()
    Customer.objects.get(email="tom.whitfield@example.com").delete()

    output = run_demo()

    assert re.search(r"\b1 customers? added", output)
    assert Customer.objects.filter(workspace__name=DEMO_NAME).count() == 12


def test_demo_leaves_other_workspaces_alone(cast: Cast) -> None:
    before = {w.pk: w.name for w in Workspace.objects.all()}
    customers_before = Customer.objects.count()

    run_demo()

    after = {w.pk: w.name for w in Workspace.objects.all()}
    assert {pk: after[pk] for pk in before} == before
    assert Customer.objects.count() == customers_before + 12


def test_demo_prints_a_login_for_each_demo_person() -> None:
    output = run_demo()

    assert set(printed_logins(output)) == set(DEMO_PEOPLE)


@pytest.mark.parametrize("email", sorted(DEMO_PEOPLE))
def test_printed_demo_password_signs_in_to_the_demo_workspace(email: str) -> None:
    password = printed_logins(run_demo())[email]
    client = Client()

    response = client.post(reverse("accounts:login"), {"username": email, "password": password})

    assert response.status_code == 302
    assert response.url == reverse("dashboard")
    dashboard = client.get(reverse("dashboard"))
    assert dashboard.status_code == 200
    assert "Harbour Renovations &amp; Repairs" in dashboard.content.decode()


def test_printed_demo_password_still_works_after_a_second_run() -> None:
    run_demo()
    logins = printed_logins(run_demo())

    for email, password in logins.items():
        response = Client().post(
            reverse("accounts:login"), {"username": email, "password": password}
        )
        assert response.status_code == 302, email
