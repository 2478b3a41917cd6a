"""A portal sign-in link gives a portal session only.

Any business can make an address its portal customer and have a portal link sent to it, so
when that address is also a staff member (or an operator), the link must open the portal and
nothing else: no staff page, no workspace, no switcher, no new business. The password, or a
staff sign-in link, gives the full session.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from jobline.accounts.models import User
from jobline.customers.models import Customer
from jobline.workspaces.models import Membership, Role, Workspace
from tests.conftest import PASSWORD, Cast, client_for

SIGN_IN = reverse("accounts:login")
PORTAL_JOBS = reverse("portal:jobs")
PORTAL_LINK = re.compile(r"http://testserver(/user/sign-in/[^/\s]+/)")
STAFF_LINK = re.compile(r"http://testserver(/accounts/sign-in/link/[^/\s]+/)")
STAFF_PAGES = [
    "/dashboard/",
    "/jobs/",
    "/customers/",
    "/settings/",
    "/settings/members/",
    "/notifications/",
    "/jobs/pipelines/",
]


def make_customer_elsewhere(cast: Cast, user: User) -> Customer:
    """Elsewhere Plumbing (another business) makes the address its portal customer."""
    cast.other_workspace.portal_enabled = True
    cast.other_workspace.save(update_fields=["portal_enabled"])
    return Customer.objects.create(
        workspace=cast.other_workspace, name=user.full_name, email=user.email
    )


def portal_session(cast: Cast, user: User, mailoutbox: list[mail.EmailMessage]) -> Client:
    """The other business presses "Invite to portal"; the person opens the e-mailed link."""
    customer = make_customer_elsewhere(cast, user)
    response = client_for(cast.outsider).post(f"/customers/{customer.pk}/invite/")
    assert response.status_code == 302
    match = PORTAL_LINK.search(mailoutbox[-1].body)
    assert match, mailoutbox[-1].body
    visitor = Client()
    assert visitor.post(match.group(1)).status_code == 302
    return visitor


@pytest.fixture
def admin_by_portal_link(cast: Cast, mailoutbox: list[mail.EmailMessage]) -> Client:
    return portal_session(cast, cast.admin, mailoutbox)


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_a_portal_link_opens_no_staff_page_of_a_staff_member(
    cast: Cast, admin_by_portal_link: Client, url: str
) -> None:
    response = admin_by_portal_link.get(url)

    assert response.status_code == 302
    assert response.url == f"{SIGN_IN}?next={url}"
    assert cast.workspace.name not in response.content.decode()


def test_the_portal_works_in_a_portal_session(cast: Cast, admin_by_portal_link: Client) -> None:
    response = admin_by_portal_link.get(PORTAL_JOBS)

    assert response.status_code == 200
    assert "Your jobs" in response.content.decode()


def test_naming_a_workspace_in_the_address_does_not_open_it_either(
    cast: Cast, admin_by_portal_link: Client
) -> None:
    response = admin_by_portal_link.get(f"/dashboard/?workspace={cast.workspace.pk}")

    assert response.status_code == 302
    assert response.url.startswith(SIGN_IN)


def test_the_staff_sign_in_page_explains_instead_of_bouncing_back(
    admin_by_portal_link: Client,
) -> None:
    response = admin_by_portal_link.get(f"{SIGN_IN}?next=/dashboard/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Staff pages need your password, or a sign-in link you ask for here." in html
    assert 'name="password"' in html


def test_the_password_then_gives_the_full_session(cast: Cast, admin_by_portal_link: Client) -> None:
    response = admin_by_portal_link.post(
        f"{SIGN_IN}?next=/settings/", {"username": cast.admin.email, "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == "/settings/"
    assert admin_by_portal_link.get("/settings/").status_code == 200
    assert admin_by_portal_link.get(PORTAL_JOBS).status_code == 200


def test_a_staff_link_then_gives_the_full_session(
    cast: Cast, admin_by_portal_link: Client, mailoutbox: list[mail.EmailMessage]
) -> None:
    admin_by_portal_link.post(reverse("accounts:sign_in_link_request"), {"email": cast.admin.email})
    link = STAFF_LINK.search(mailoutbox[-1].body)
    assert link, mailoutbox[-1].body

    assert admin_by_portal_link.post(link.group(1)).status_code == 302

    dashboard = admin_by_portal_link.get("/dashboard/")
    assert dashboard.status_code == 200
    assert cast.workspace.name in dashboard.content.decode()


def test_a_portal_session_cannot_switch_workspace_or_create_one(
    cast: Cast, admin_by_portal_link: Client
) -> None:
    switch = admin_by_portal_link.post("/workspaces/switch/", {"workspace_id": cast.workspace.pk})
    create_page = admin_by_portal_link.get("/workspaces/new/")
    create = admin_by_portal_link.post(
        "/workspaces/new/",
        {"name": "Sneaky Ltd", "time_zone": "Europe/London", "currency": "GBP", "locale": "en-GB"},
    )

    for response in (switch, create_page, create):
        assert response.status_code == 302
        assert response.url.startswith(SIGN_IN)
    assert not Workspace.objects.filter(name="Sneaky Ltd").exists()


def test_a_portal_link_leaves_an_existing_full_session_of_the_same_person_full(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    customer = make_customer_elsewhere(cast, cast.admin)
    client_for(cast.outsider).post(f"/customers/{customer.pk}/invite/")
    link = PORTAL_LINK.search(mailoutbox[-1].body).group(1)
    already_in = client_for(cast.admin)

    assert already_in.post(link).status_code == 302

    assert already_in.get("/dashboard/").status_code == 200


def test_a_portal_link_replaces_someone_elses_full_session(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    customer = make_customer_elsewhere(cast, cast.admin)
    client_for(cast.outsider).post(f"/customers/{customer.pk}/invite/")
    link = PORTAL_LINK.search(mailoutbox[-1].body).group(1)
    shared_computer = client_for(cast.manager)

    assert shared_computer.post(link).status_code == 302

    assert shared_computer.session["_auth_user_id"] == str(cast.admin.pk)
    assert shared_computer.get("/dashboard/").status_code == 302


def test_a_customer_who_is_no_staff_member_is_sent_to_their_jobs(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    priya = User.objects.create_user("priya@example.com", None, full_name="Priya Natarajan")
    visitor = portal_session(cast, priya, mailoutbox)

    response = visitor.get("/dashboard/")

    assert response.status_code == 302
    assert response.url == PORTAL_JOBS
    assert visitor.get(PORTAL_JOBS).status_code == 200


# --- Being a customer does not stop anyone from starting their own business -------------------


def test_a_customer_signed_in_with_a_password_creates_their_own_business(cast: Cast) -> None:
    priya = User.objects.create_user("priya@example.com", PASSWORD, full_name="Priya Natarajan")
    customer = make_customer_elsewhere(cast, priya)
    customer.portal_user = priya
    customer.save(update_fields=["portal_user"])
    client = Client()
    assert client.post(SIGN_IN, {"username": priya.email, "password": PASSWORD}).status_code == 302

    page = client.get("/workspaces/new/")
    response = client.post(
        "/workspaces/new/",
        {"name": "Priya Tiles", "time_zone": "Europe/London", "currency": "GBP", "locale": "en-GB"},
    )

    assert page.status_code == 200
    assert response.status_code == 302
    workspace = Workspace.objects.get(name="Priya Tiles")
    assert Membership.objects.get(user=priya, workspace=workspace).role == Role.ADMIN
    dashboard = client.get("/dashboard/")
    assert dashboard.status_code == 200
    assert "Priya Tiles" in dashboard.content.decode()
    # Still Elsewhere Plumbing's customer.
    assert client.get(PORTAL_JOBS).status_code == 200


def test_a_customer_without_a_password_creates_a_business_after_a_staff_link(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    priya = User.objects.create_user("priya@example.com", None, full_name="Priya Natarajan")
    visitor = portal_session(cast, priya, mailoutbox)
    assert visitor.get("/workspaces/new/").status_code == 302

    visitor.post(reverse("accounts:sign_in_link_request"), {"email": priya.email})
    visitor.post(STAFF_LINK.search(mailoutbox[-1].body).group(1))
    response = visitor.post(
        "/workspaces/new/",
        {"name": "Priya Tiles", "time_zone": "Europe/London", "currency": "GBP", "locale": "en-GB"},
    )

    assert response.status_code == 302
    assert Membership.objects.filter(user=priya, workspace__name="Priya Tiles").exists()
