"""Django's admin: switched off unless JOBLINE_ADMIN is set; when on, its sign-in is the
throttled staff sign-in (its own login form would check passwords outside the throttle), and
only a full session of an operator opens it."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import clear_url_caches, reverse

import jobline.urls
from jobline.accounts.models import SignInLinkScope, User
from jobline.accounts.services import signin_link_create
from tests.conftest import PASSWORD, Cast, client_for

SIGN_IN = "/accounts/sign-in/"


def _reload_urls() -> None:
    importlib.reload(jobline.urls)
    clear_url_caches()


@pytest.fixture
def admin_on(settings: Any) -> Iterator[None]:
    settings.JOBLINE_ADMIN = True
    _reload_urls()
    yield
    settings.JOBLINE_ADMIN = False
    _reload_urls()


@pytest.fixture
def operator(cast: Cast) -> User:
    cast.admin.is_staff = True
    cast.admin.is_superuser = True
    cast.admin.save(update_fields=["is_staff", "is_superuser"])
    return cast.admin


@pytest.mark.parametrize("url", ["/admin/", "/admin/login/"])
def test_the_admin_is_off_by_default(operator: User, url: str) -> None:
    assert client_for(operator).get(url).status_code == 404
    assert Client().post(url, {"username": operator.email, "password": PASSWORD}).status_code == 404


def test_the_admin_login_page_sends_people_to_the_staff_sign_in(admin_on: None) -> None:
    response = Client().get("/admin/login/?next=/admin/accounts/user/")

    assert response.status_code == 302
    assert response.url == f"{SIGN_IN}?next=/admin/accounts/user/"


def test_posting_a_password_to_the_admin_login_signs_nobody_in(
    admin_on: None, operator: User
) -> None:
    client = Client()

    response = client.post("/admin/login/", {"username": operator.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response.url.startswith(SIGN_IN)
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_wrong_passwords_for_the_admin_go_through_the_throttle(
    admin_on: None, operator: User, settings: Any
) -> None:
    for _ in range(settings.SIGNIN_MAX_FAILURES_PER_PAIR):
        Client().post(f"{SIGN_IN}?next=/admin/", {"username": operator.email, "password": "no"})

    response = Client().post(
        f"{SIGN_IN}?next=/admin/", {"username": operator.email, "password": PASSWORD}
    )

    assert response.status_code == 429


def test_an_operator_signs_in_on_the_staff_page_and_lands_in_the_admin(
    admin_on: None, operator: User
) -> None:
    client = Client()
    anonymous = client.get("/admin/")
    assert anonymous.status_code == 302
    assert client.get(anonymous.url).url == f"{SIGN_IN}?next=/admin/"

    response = client.post(
        f"{SIGN_IN}?next=/admin/", {"username": operator.email, "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200
    assert "Site administration" in page.content.decode()


def test_a_member_who_is_no_operator_is_refused(admin_on: None, cast: Cast) -> None:
    client = client_for(cast.admin)
    to_login = client.get("/admin/")

    response = client.get(to_login.url)

    assert to_login.status_code == 302
    assert response.status_code == 403


def test_a_portal_session_of_an_operator_does_not_open_the_admin(
    admin_on: None, operator: User
) -> None:
    token = signin_link_create(user=operator, scope=SignInLinkScope.PORTAL)
    client = Client()
    assert client.post(reverse("portal:sign_in_link", args=[token])).status_code == 302

    response = client.get("/admin/")

    assert response.status_code == 302
    follow = client.get(response.url)
    assert follow.status_code == 302
    assert follow.url.startswith(SIGN_IN)
    assert client.get(follow.url).status_code == 200  # the form, not a redirect loop
