"""Signing up: one person, one business, the person its first Admin — or nothing at all."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from jobline import settings as project_settings
from jobline.workspaces import services
from jobline.accounts.models import User
from jobline.workspaces.models import AuditLogEntry, Membership, Role, Workspace
from tests.conftest import PASSWORD, Cast

SIGN_UP = reverse("workspaces:signup")
SIGN_IN = reverse("accounts:login")
DASHBOARD = reverse("dashboard")
BUSINESS = "Falmouth Tiling Co"


def sign_up_data(**overrides: str) -> dict[str, str]:
    data = {
        "full_name": "Nia Penrose",
        "email": "nia@falmouth-tiling.test",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "workspace_name": BUSINESS,
        "time_zone": "Europe/London",
        "currency": "GBP",
    }
    data.update(overrides)
    return data


def row_counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "workspaces": Workspace.objects.count(),
        "memberships": Membership.objects.count(),
        "audit": AuditLogEntry.objects.count(),
    }


def field_errors(response: Any, field: str) -> list[str]:
    return list(response.context["form"].errors.get(field, []))


@pytest.mark.django_db
def test_sign_up_page_shows_the_form() -> None:
    response = Client().get(SIGN_UP)

    assert response.status_code == 200
    html = response.content.decode()
    for name in ("full_name", "email", "password1", "password2", "workspace_name"):
        assert f'name="{name}"' in html


@pytest.mark.django_db
def test_sign_up_creates_user_workspace_and_admin_membership() -> None:
    client = Client()

    response = client.post(SIGN_UP, sign_up_data())

    assert response.status_code == 302
    assert response.url == DASHBOARD
    user = User.objects.get(email="nia@falmouth-tiling.test")
    assert user.full_name == "Nia Penrose"
    assert user.check_password(PASSWORD)
    workspace = Workspace.objects.get(name=BUSINESS)
    assert workspace.time_zone == "Europe/London"
    assert workspace.currency == "GBP"
    membership = Membership.objects.get(user=user)
    assert membership.workspace == workspace
    assert membership.role == Role.ADMIN


@pytest.mark.django_db
def test_sign_up_signs_the_person_in_and_dashboard_shows_the_business_name() -> None:
    client = Client()

    client.post(SIGN_UP, sign_up_data())
    dashboard = client.get(DASHBOARD)

    assert dashboard.status_code == 200
    assert client.session["_auth_user_id"] == str(User.objects.get().pk)
    html = dashboard.content.decode()
    assert BUSINESS in html
    assert "Welcome to Jobline, Nia." in html


@pytest.mark.django_db
def test_new_workspace_has_jobs_switched_on() -> None:
    client = Client()

    client.post(SIGN_UP, sign_up_data())

    workspace = Workspace.objects.get(name=BUSINESS)
    assert workspace.module_jobs is True
    assert f'href="{reverse("jobs:index")}"' in client.get(DASHBOARD).content.decode()


@pytest.mark.django_db
def test_sign_up_stores_email_in_lower_case() -> None:
    Client().post(SIGN_UP, sign_up_data(email="Nia@Falmouth-Tiling.TEST"))

    assert User.objects.filter(email="nia@falmouth-tiling.test").exists()


@pytest.mark.django_db
def test_password_is_stored_with_argon2(settings: Any) -> None:
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS

    Client().post(SIGN_UP, sign_up_data())

    user = User.objects.get(email="nia@falmouth-tiling.test")
    assert user.password.startswith("argon2")
    assert PASSWORD not in user.password
    assert user.check_password(PASSWORD)


@pytest.mark.django_db
def test_signed_in_person_visiting_sign_up_is_sent_to_the_dashboard(as_admin: Client) -> None:
    response = as_admin.get(SIGN_UP)

    assert response.status_code == 302
    assert response.url == DASHBOARD


# --- Bad input: 400, errors next to the field, input kept, nothing saved ----------------------


@pytest.mark.parametrize("typed", ["admin@harbour.test", "ADMIN@Harbour.Test"])
def test_duplicate_email_in_any_case_is_refused_next_to_the_email_field(
    cast: Cast, typed: str
) -> None:
    before = row_counts()

    response = Client().post(SIGN_UP, sign_up_data(email=typed))

    assert response.status_code == 400
    errors = field_errors(response, "email")
    assert any("already exists" in error for error in errors)
    html = response.content.decode()
    assert "An account with this e-mail address already exists" in html
    assert f'value="{BUSINESS}"' in html
    assert 'value="Nia Penrose"' in html
    assert row_counts() == before


@pytest.mark.django_db
def test_passwords_are_never_sent_back_into_the_page() -> None:
    response = Client().post(SIGN_UP, sign_up_data(email="not-an-email"))

    assert response.status_code == 400
    assert PASSWORD not in response.content.decode()


@pytest.mark.parametrize(
    "weak",
    ["12345678", "password", "short1", "nia@falmouth-tiling.test"],
    ids=["numeric", "common", "too-short", "like-the-email"],
)
@pytest.mark.django_db
def test_weak_password_error_is_next_to_the_password_field(weak: str) -> None:
    response = Client().post(SIGN_UP, sign_up_data(password1=weak, password2=weak))

    assert response.status_code == 400
    assert field_errors(response, "password1")
    assert not response.context["form"].non_field_errors()
    assert f'value="{BUSINESS}"' in response.content.decode()
    assert row_counts() == {"users": 0, "workspaces": 0, "memberships": 0, "audit": 0}


@pytest.mark.django_db
def test_mismatched_passwords_error_is_next_to_the_second_password_field() -> None:
    response = Client().post(SIGN_UP, sign_up_data(password2=PASSWORD + "-typo"))

    assert response.status_code == 400
    assert "The two passwords differ." in field_errors(response, "password2")
    assert "The two passwords differ." in response.content.decode()
    assert not response.context["form"].non_field_errors()
    assert row_counts() == {"users": 0, "workspaces": 0, "memberships": 0, "audit": 0}


@pytest.mark.parametrize("field", ["full_name", "email", "workspace_name", "password1"])
@pytest.mark.django_db
def test_missing_required_field_is_refused_and_saves_nothing(field: str) -> None:
    response = Client().post(SIGN_UP, sign_up_data(**{field: ""}))

    assert response.status_code == 400
    assert field_errors(response, field)
    assert row_counts() == {"users": 0, "workspaces": 0, "memberships": 0, "audit": 0}


@pytest.mark.django_db
def test_invalid_time_zone_posted_directly_leaves_no_user_and_no_workspace() -> None:
    before = row_counts()

    response = Client().post(SIGN_UP, sign_up_data(time_zone="Mars/Olympus_Mons"))

    assert response.status_code == 400
    assert field_errors(response, "time_zone")
    assert f'value="{BUSINESS}"' in response.content.decode()
    assert row_counts() == before


@pytest.mark.django_db
def test_sign_up_service_rolls_back_the_user_when_the_workspace_is_invalid() -> None:
    """The user row is written before the workspace; a bad workspace must take it back out."""
    before = row_counts()

    with pytest.raises(ValidationError) as raised:
        services.user_sign_up(
            email="nia@falmouth-tiling.test",
            full_name="Nia Penrose",
            password=PASSWORD,
            workspace_name=BUSINESS,
            time_zone="Mars/Olympus_Mons",
        )

    assert "time_zone" in raised.value.message_dict
    assert row_counts() == before
    assert not User.objects.filter(email="nia@falmouth-tiling.test").exists()


@pytest.mark.django_db
def test_failure_after_the_user_is_saved_leaves_nothing_behind_through_the_view(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def failing_workspace_create(**kwargs: Any) -> Workspace:
        raise ValidationError({"time_zone": "Choose a time zone from the list."})

    monkeypatch.setattr(services, "workspace_create", failing_workspace_create)
    client = Client(raise_request_exception=False)
    before = row_counts()

    client.post(SIGN_UP, sign_up_data())

    assert row_counts() == before
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_failed_sign_up_does_not_sign_anyone_in() -> None:
    client = Client()

    client.post(SIGN_UP, sign_up_data(password2="different-entirely"))

    assert "_auth_user_id" not in client.session
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert response.url.startswith(SIGN_IN)
