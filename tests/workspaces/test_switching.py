"""A person in several workspaces switches between them; each page shows the current one only."""

from __future__ import annotations

import pytest
from django.test import Client

from jobline.customers.models import Customer
from jobline.workspaces.models import Membership, Role
from tests.conftest import Cast, client_for


def test_person_in_two_workspaces_switches_and_sees_each_ones_data(cast: Cast) -> None:
    Membership.objects.create(workspace=cast.other_workspace, user=cast.staff, role=Role.STAFF)
    Customer.objects.create(workspace=cast.other_workspace, name="Elsewhere Client")
    client = client_for(cast.staff)

    harbour_list = client.get("/customers/").content.decode()
    assert "Priya Natarajan" in harbour_list
    assert "Elsewhere Client" not in harbour_list
    assert "Elsewhere Plumbing" in harbour_list  # offered in the switcher

    response = client.post("/workspaces/switch/", {"workspace_id": cast.other_workspace.pk})
    assert response.status_code == 302
    elsewhere_list = client.get("/customers/").content.decode()
    assert "Elsewhere Client" in elsewhere_list
    assert "Priya Natarajan" not in elsewhere_list


def test_switching_into_a_workspace_you_are_not_in_is_a_404(cast: Cast, as_staff: Client) -> None:
    response = as_staff.post("/workspaces/switch/", {"workspace_id": cast.other_workspace.pk})
    assert response.status_code == 404
    assert "Priya Natarajan" in as_staff.get("/customers/").content.decode()


def test_a_removed_membership_cannot_be_switched_into(cast: Cast, as_admin: Client) -> None:
    Membership.objects.create(workspace=cast.other_workspace, user=cast.admin, role=Role.STAFF)
    outsider_admin = client_for(cast.outsider)
    membership = Membership.objects.get(workspace=cast.other_workspace, user=cast.admin)
    outsider_admin.post(f"/settings/members/{membership.pk}/remove/")
    response = as_admin.post("/workspaces/switch/", {"workspace_id": cast.other_workspace.pk})
    assert response.status_code == 404


def test_switch_is_post_only(cast: Cast, as_admin: Client) -> None:
    assert as_admin.get("/workspaces/switch/").status_code == 405


HUGE_ID = "1" * 30


@pytest.mark.parametrize("value", [HUGE_ID, str(2**63), "0", "-1", "abc", "1e3"])
def test_a_workspace_id_that_names_no_workspace_in_the_switcher_is_a_404(
    cast: Cast, as_staff: Client, value: str
) -> None:
    response = as_staff.post("/workspaces/switch/", {"workspace_id": value})

    assert response.status_code == 404
    assert "Priya Natarajan" in as_staff.get("/customers/").content.decode()


# Fullwidth digits: str.isdigit() accepts them and int() reads them.
FULLWIDTH_12 = "\uff11\uff12"


@pytest.mark.parametrize("value", [HUGE_ID, str(2**63), "0", "abc", FULLWIDTH_12])
def test_a_workspace_id_in_the_address_that_names_no_workspace_is_a_404(
    cast: Cast, as_staff: Client, value: str
) -> None:
    response = as_staff.get(f"/customers/?workspace={value}")

    assert response.status_code == 404
    assert "Priya Natarajan" not in response.content.decode()
    # The session's workspace is untouched.
    assert "Priya Natarajan" in as_staff.get("/customers/").content.decode()


def test_a_workspace_named_in_the_address_is_opened(cast: Cast) -> None:
    Membership.objects.create(workspace=cast.other_workspace, user=cast.staff, role=Role.STAFF)
    Customer.objects.create(workspace=cast.other_workspace, name="Elsewhere Client")
    client = client_for(cast.staff)

    response = client.get(f"/customers/?workspace={cast.other_workspace.pk}")

    assert response.status_code == 200
    assert "Elsewhere Client" in response.content.decode()
    assert "Priya Natarajan" not in response.content.decode()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_switch_and_create_answer_405_to_other_methods(
    cast: Cast, as_admin: Client, method: str
) -> None:
    for url in ("/workspaces/switch/", "/workspaces/new/"):
        assert getattr(as_admin, method)(url).status_code == 405
