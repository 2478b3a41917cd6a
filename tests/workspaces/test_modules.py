"""The Jobs module toggle: the nav item and every Jobs page exist only while it is on."""

from __future__ import annotations

import pytest
from django.test import Client

from jobline.customers.models import Customer
from jobline.workspaces.services import workspace_create
from tests.conftest import Cast, client_for, make_user

JOBS_NAV_LINK = b'data-nav="jobs"'


def switch_jobs(client: Client, on: bool) -> None:
    data = {"module_jobs": "on"} if on else {}
    assert client.post("/settings/modules/", data).status_code == 302


def test_new_workspaces_start_with_jobs_on(db: None) -> None:
    workspace = workspace_create(name="Fresh Co", owner=make_user("new@fresh.test", "New"))
    assert workspace.module_jobs is True
    assert workspace.module_bookings is False
    assert workspace.module_quotes is False


def test_jobs_nav_and_index_are_there_while_the_module_is_on(
    any_member: tuple[str, Client],
) -> None:
    _role, client = any_member
    assert JOBS_NAV_LINK in client.get("/dashboard/").content
    response = client.get("/jobs/")
    assert response.status_code == 200
    assert b"<h1>Jobs</h1>" in response.content


def test_switching_jobs_off_hides_nav_and_404s_for_every_role(cast: Cast, as_admin: Client) -> None:
    switch_jobs(as_admin, on=False)
    for user in (cast.admin, cast.manager, cast.staff):
        client = client_for(user)
        assert JOBS_NAV_LINK not in client.get("/dashboard/").content
        assert client.get("/jobs/").status_code == 404


def test_switching_jobs_back_on_restores_nav_and_pages(cast: Cast, as_admin: Client) -> None:
    switch_jobs(as_admin, on=False)
    switch_jobs(as_admin, on=True)
    client = client_for(cast.staff)
    assert JOBS_NAV_LINK in client.get("/dashboard/").content
    assert client.get("/jobs/").status_code == 200


def test_switching_jobs_off_deletes_nothing(cast: Cast, as_admin: Client) -> None:
    before = Customer.objects.filter(workspace=cast.workspace).count()
    switch_jobs(as_admin, on=False)
    assert Customer.objects.filter(workspace=cast.workspace).count() == before


def test_one_workspace_switching_jobs_off_leaves_another_alone(
    cast: Cast, as_admin: Client
) -> None:
    switch_jobs(as_admin, on=False)
    assert client_for(cast.outsider).get("/jobs/").status_code == 200


@pytest.mark.parametrize("anonymous_url", ["/jobs/", "/dashboard/", "/customers/"])
def test_signed_out_visitors_are_sent_to_sign_in(anonymous_url: str, db: None) -> None:
    response = Client().get(anonymous_url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/sign-in/?next=")
