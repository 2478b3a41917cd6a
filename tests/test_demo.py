"""The demo command: a believable workspace to click through, safe to run again."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jobline.accounts.models import User
from jobline.approvals.models import Approval
from jobline.customers.models import Customer
from jobline.jobs.models import Activity, Attachment, DocumentRequest, Job
from jobline.pipelines.models import Pipeline
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
        "pipelines": Pipeline.objects.count(),
        "jobs": Job.objects.count(),
        "activities": Activity.objects.count(),
    }


def printed_logins(output: str) -> dict[str, str]:
    return dict(re.findall(r"(\S+@demo\.jobline\.test)\s+password:\s+(\S+)", output))


# The demo builds about sixty jobs with their histories, so each test runs it as few times
# as it can and checks several things at once.


def test_demo_builds_the_whole_harbour_workspace() -> None:
    output = run_demo()

    workspace = Workspace.objects.get(name=DEMO_NAME)
    assert workspace.module_jobs is True
    assert workspace.time_zone == "Europe/London"
    assert workspace.currency == "GBP"
    assert "12 customers added" in output
    assert DEMO_NAME in output

    roles = {
        m.user.email: m.role
        for m in Membership.objects.active().filter(workspace=workspace).select_related("user")
    }
    assert roles == DEMO_PEOPLE

    customers = Customer.objects.filter(workspace=workspace)
    assert customers.count() == 12
    assert customers.filter(email="customer@demo.jobline.test").exists()
    assert customers.filter(archived_at__isnull=True).count() == 12
    # Each has a distinct name and e-mail, so the list reads like a real business.
    assert len(set(customers.values_list("name", flat=True))) == 12
    assert len(set(customers.values_list("email", flat=True))) == 12

    # The five template pipelines with jobs spread over their stages, some finished, some
    # overdue, with notes, replies and saved forms in their feeds.
    assert Pipeline.objects.filter(workspace=workspace).count() == 5
    jobs = Job.objects.filter(workspace=workspace)
    assert 55 <= jobs.count() <= 65
    assert jobs.filter(closed_at__isnull=False).exists()
    assert jobs.filter(closed_at__isnull=True, due_date__lt=timezone.localdate()).exists()
    assert jobs.values("stage").distinct().count() >= 20
    kinds = set(Activity.objects.filter(job__workspace=workspace).values_list("kind", flat=True))
    assert {"created", "status_changed", "note", "reply", "form_saved", "file_added"} <= kinds
    photos = Attachment.objects.filter(job__workspace=workspace, is_image=True)
    assert photos.count() >= 4 and all(p.thumbnail for p in photos)

    # A repair converted from its quote waits for its customer to approve the quote itself.
    from_quote = Approval.objects.get(
        job__workspace=workspace, job__title="Laptop screen and battery"
    )
    assert from_quote.status == "pending" and from_quote.job.stage.requires_approval
    assert from_quote.document["title"].startswith("Quote Q-")
    assert from_quote.document["title"].endswith(", revision 1")
    assert from_quote.document["total"] == "321.60"  # 189 + 79, with 20 % VAT

    logins = printed_logins(output)
    assert set(logins) == {*DEMO_PEOPLE, "customer@demo.jobline.test"}
    customer_password = logins.pop("customer@demo.jobline.test")
    portal = Client()
    portal.post(
        reverse("accounts:login"),
        {"username": "customer@demo.jobline.test", "password": customer_password},
    )
    # The demo customer's portal: three jobs, one of them sitting in an internal stage.
    portal_jobs = portal.get("/user/jobs/")
    assert portal_jobs.status_code == 200
    assert portal_jobs.text.count('class="card portal-card"') == 3
    assert "Awaiting parts" not in portal_jobs.text
    assert DocumentRequest.objects.filter(
        job__customer__email="customer@demo.jobline.test", status="open"
    ).exists()
    for email, password in logins.items():
        client = Client()
        response = client.post(reverse("accounts:login"), {"username": email, "password": password})
        assert response.status_code == 302, email
        assert response.url == reverse("dashboard")
        dashboard = client.get(reverse("dashboard"))
        assert "Harbour Renovations &amp; Repairs" in dashboard.content.decode()


def test_running_the_demo_twice_creates_nothing_twice() -> None:
    run_demo()
    after_first = row_counts()

    second_output = run_demo()

    assert row_counts() == after_first
    assert "0 customers added" in second_output
    assert "0 jobs added" in second_output
    assert Workspace.objects.filter(name=DEMO_NAME).count() == 1
    for email, password in printed_logins(second_output).items():
        response = Client().post(
            reverse("accounts:login"), {"username": email, "password": password}
        )
        assert response.status_code == 302, email


def test_demo_leaves_other_workspaces_alone(cast: Cast) -> None:
    before = {w.pk: w.name for w in Workspace.objects.all()}
    customers_before = Customer.objects.count()

    run_demo()

    after = {w.pk: w.name for w in Workspace.objects.all()}
    assert {pk: after[pk] for pk in before} == before
    assert Customer.objects.count() == customers_before + 12
    assert not Job.objects.filter(workspace=cast.workspace).exists()
