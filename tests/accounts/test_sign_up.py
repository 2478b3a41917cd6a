"""Signing up: one person, one business, the person its first Admin — or nothing at all.

The page answers "check your e-mail to finish" for every address, so it never tells whether
an address already has an account; the e-mailed link finishes the sign-up. Bad input is still
refused on the page, next to its field, with what was typed kept.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jobline import settings as project_settings
from jobline.accounts.models import SignUpRequest, User
from jobline.accounts.services import LinkUnusable, sign_up_request_create
from jobline.customers.models import Customer
from jobline.workspaces import services, sign_up
from jobline.workspaces.models import AuditLogEntry, Membership, Role, Workspace
from tests.accounts.mail_backends import REFUSING
from tests.conftest import PASSWORD, Cast

SIGN_UP = reverse("workspaces:signup")
SIGN_IN = reverse("accounts:login")
DASHBOARD = reverse("dashboard")
BUSINESS = "Falmouth Tiling Co"
CHECK_EMAIL = "Check your e-mail to finish"
CONFIRM_LINK = re.compile(r"http://testserver(/accounts/sign-up/confirm/[^/\s]+/)")
NOTHING = {"users": 0, "workspaces": 0, "memberships": 0, "audit": 0, "requests": 0}


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
        "requests": SignUpRequest.objects.count(),
    }


def field_errors(response: Any, field: str) -> list[str]:
    return list(response.context["form"].errors.get(field, []))


def confirm_link(message: mail.EmailMessage) -> str:
    match = CONFIRM_LINK.search(message.body)
    assert match, message.body
    return match.group(1)


def sign_up_and_confirm(client: Client, mailoutbox: list[mail.EmailMessage], **data: str) -> Any:
    """The whole journey: the form, the e-mail, the link's page, its button."""
    sent = client.post(SIGN_UP, sign_up_data(**data))
    assert sent.status_code == 200, sent.content.decode()
    link = confirm_link(mailoutbox[-1])
    assert client.get(link).status_code == 200
    return client.post(link)


# --- The page and the journey ---------------------------------------------------------------


@pytest.mark.django_db
def test_sign_up_page_shows_the_form() -> None:
    response = Client().get(SIGN_UP)

    assert response.status_code == 200
    html = response.content.decode()
    for name in ("full_name", "email", "password1", "password2", "workspace_name", "currency"):
        assert f'name="{name}"' in html


@pytest.mark.django_db
def test_sign_up_creates_nothing_until_the_e_mailed_link_is_used(
    mailoutbox: list[mail.EmailMessage],
) -> None:
    client = Client()

    response = client.post(SIGN_UP, sign_up_data())

    assert response.status_code == 200
    html = response.content.decode()
    assert CHECK_EMAIL in html
    assert "nia@falmouth-tiling.test" in html
    assert not User.objects.exists()
    assert not Workspace.objects.exists()
    assert "_auth_user_id" not in client.session
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["nia@falmouth-tiling.test"]
    assert mailoutbox[0].subject == f"Confirm your e-mail to create {BUSINESS} on Jobline"


@pytest.mark.django_db
def test_the_link_creates_user_workspace_and_admin_membership(
    mailoutbox: list[mail.EmailMessage],
) -> None:
    response = sign_up_and_confirm(Client(), mailoutbox, time_zone="Europe/Lisbon", currency="EUR")

    assert response.status_code == 302
    assert response.url == DASHBOARD
    user = User.objects.get(email="nia@falmouth-tiling.test")
    assert user.full_name == "Nia Penrose"
    assert user.check_password(PASSWORD)
    workspace = Workspace.objects.get(name=BUSINESS)
    assert workspace.time_zone == "Europe/Lisbon"
    assert workspace.currency == "EUR"
    membership = Membership.objects.get(user=user)
    assert membership.workspace == workspace
    assert membership.role == Role.ADMIN


@pytest.mark.django_db
def test_the_link_signs_the_person_in_and_dashboard_shows_the_business_name(
    mailoutbox: list[mail.EmailMessage],
) -> None:
    client = Client()

    sign_up_and_confirm(client, mailoutbox)
    dashboard = client.get(DASHBOARD)

    assert dashboard.status_code == 200
    assert client.session["_auth_user_id"] == str(User.objects.get().pk)
    html = dashboard.content.decode()
    assert BUSINESS in html
    assert "Welcome to Jobline, Nia." in html


@pytest.mark.django_db
def test_opening_the_link_shows_a_button_and_creates_nothing(
    mailoutbox: list[mail.EmailMessage],
) -> None:
    Client().post(SIGN_UP, sign_up_data())
    link = confirm_link(mailoutbox[0])

    for _ in range(2):  # the person, and a mail scanner
        page = Client().get(link)
        assert page.status_code == 200
        assert f"Create {BUSINESS}" in page.content.decode()

    assert not User.objects.exists()
    assert Client().post(link).status_code == 302


@pytest.mark.django_db
def test_the_link_works_once(mailoutbox: list[mail.EmailMessage]) -> None:
    sign_up_and_confirm(Client(), mailoutbox)
    link = confirm_link(mailoutbox[0])

    again = Client().post(link)

    assert again.status_code == 410
    assert "expired or was already used" in again.content.decode()
    assert Workspace.objects.count() == 1


@pytest.mark.django_db
def test_an_expired_link_creates_nothing(mailoutbox: list[mail.EmailMessage]) -> None:
    Client().post(SIGN_UP, sign_up_data())
    SignUpRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    link = confirm_link(mailoutbox[0])

    assert Client().get(link).status_code == 410
    assert Client().post(link).status_code == 410
    assert not User.objects.exists()


@pytest.mark.django_db
def test_new_workspace_has_jobs_switched_on(mailoutbox: list[mail.EmailMessage]) -> None:
    client = Client()

    sign_up_and_confirm(client, mailoutbox)

    workspace = Workspace.objects.get(name=BUSINESS)
    assert workspace.module_jobs is True
    assert f'href="{reverse("jobs:index")}"' in client.get(DASHBOARD).content.decode()


@pytest.mark.django_db
def test_sign_up_stores_email_in_lower_case(mailoutbox: list[mail.EmailMessage]) -> None:
    sign_up_and_confirm(Client(), mailoutbox, email="Nia@Falmouth-Tiling.TEST")

    assert User.objects.filter(email="nia@falmouth-tiling.test").exists()


@pytest.mark.django_db
def test_password_is_stored_with_argon2_and_never_in_clear(
    settings: Any, mailoutbox: list[mail.EmailMessage]
) -> None:
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS

    Client().post(SIGN_UP, sign_up_data())
    waiting = SignUpRequest.objects.get()
    assert waiting.password_hash.startswith("argon2")
    assert PASSWORD not in waiting.password_hash
    assert PASSWORD not in mailoutbox[0].body
    Client().post(confirm_link(mailoutbox[0]))

    user = User.objects.get(email="nia@falmouth-tiling.test")
    assert user.password.startswith("argon2")
    assert user.check_password(PASSWORD)


@pytest.mark.django_db
def test_signed_in_person_visiting_sign_up_is_sent_to_the_dashboard(as_admin: Client) -> None:
    response = as_admin.get(SIGN_UP)

    assert response.status_code == 302
    assert response.url == DASHBOARD


# --- An address that already has an account -------------------------------------------------


def test_the_page_answers_the_same_for_new_and_existing_addresses(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    new = Client().post(SIGN_UP, sign_up_data())
    existing = Client().post(SIGN_UP, sign_up_data(email="ADMIN@Harbour.Test"))

    assert new.status_code == existing.status_code == 200

    def strip(html: str, email: str) -> str:
        return re.sub(r'value="[^"]+"|"X-CSRFToken": "[^"]+"|' + re.escape(email), "", html)

    assert strip(new.content.decode(), "nia@falmouth-tiling.test") == strip(
        existing.content.decode(), "admin@harbour.test"
    )


@pytest.mark.parametrize("typed", ["admin@harbour.test", "ADMIN@Harbour.Test"])
def test_an_existing_address_in_any_case_is_told_by_e_mail_and_gets_no_second_account(
    cast: Cast, mailoutbox: list[mail.EmailMessage], typed: str
) -> None:
    before = User.objects.count()

    response = Client().post(SIGN_UP, sign_up_data(email=typed))

    assert response.status_code == 200
    assert CHECK_EMAIL in response.content.decode()
    assert User.objects.count() == before
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["admin@harbour.test"]
    assert message.subject == "You already have a Jobline account"
    assert "already has a Jobline account" in message.body
    assert "http://testserver/accounts/sign-in/" in message.body
    assert "http://testserver/accounts/password-reset/" in message.body
    assert "Your password stays as it is." in message.body


def test_its_link_creates_the_business_under_the_existing_account_keeping_the_password(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    client = Client()

    response = sign_up_and_confirm(
        client,
        mailoutbox,
        email="admin@harbour.test",
        password1="x-other-pass-99",
        password2="x-other-pass-99",
    )

    assert response.status_code == 302
    workspace = Workspace.objects.get(name=BUSINESS)
    assert Membership.objects.get(workspace=workspace).user == cast.admin
    cast.admin.refresh_from_db()
    assert cast.admin.check_password(PASSWORD)
    assert Membership.objects.filter(user=cast.admin).count() == 2
    assert BUSINESS in client.get(DASHBOARD).content.decode()


def test_a_portal_customer_without_a_password_signs_up_their_own_business(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    """Being invited to a business's portal must not stop the address's owner from starting
    their own business (invited customers have accounts without a usable password)."""
    priya = User.objects.create_user(cast.customer.email, None, full_name="Priya Natarajan")
    Customer.objects.filter(pk=cast.customer.pk).update(portal_user=priya)

    sent = Client().post(SIGN_UP, sign_up_data(email=priya.email, full_name="Priya N"))
    assert sent.status_code == 200
    assert "the one chosen when signing up becomes its password" in mailoutbox[-1].body
    client = Client()
    response = client.post(confirm_link(mailoutbox[-1]))

    assert response.status_code == 302
    priya.refresh_from_db()
    assert priya.check_password(PASSWORD)
    assert Membership.objects.get(user=priya).workspace.name == BUSINESS
    assert client.get(DASHBOARD).status_code == 200
    signed_in = Client().post(SIGN_IN, {"username": priya.email, "password": PASSWORD})
    assert signed_in.status_code == 302


def test_an_inactive_account_gets_the_same_page_and_no_e_mail(
    cast: Cast, mailoutbox: list[mail.EmailMessage]
) -> None:
    cast.staff.is_active = False
    cast.staff.save(update_fields=["is_active"])

    response = Client().post(SIGN_UP, sign_up_data(email=cast.staff.email))

    assert response.status_code == 200
    assert CHECK_EMAIL in response.content.decode()
    assert mailoutbox == []


# --- Bad input: 400, errors next to the field, input kept, nothing saved ----------------------


@pytest.mark.django_db
def test_passwords_are_never_sent_back_into_the_page() -> None:
    response = Client().post(SIGN_UP, sign_up_data(email="not-an-email"))

    assert response.status_code == 400
    assert field_errors(response, "email")
    assert PASSWORD not in response.content.decode()


@pytest.mark.parametrize(
    "weak",
    ["12345678", "password", "short1", "nia@falmouth-tiling.test"],
    ids=["numeric", "common", "too-short", "like-the-email"],
)
@pytest.mark.django_db
def test_weak_password_error_is_next_to_the_password_field(
    weak: str, mailoutbox: list[mail.EmailMessage]
) -> None:
    response = Client().post(SIGN_UP, sign_up_data(password1=weak, password2=weak))

    assert response.status_code == 400
    assert field_errors(response, "password1")
    assert not response.context["form"].non_field_errors()
    assert f'value="{BUSINESS}"' in response.content.decode()
    assert 'value="Nia Penrose"' in response.content.decode()
    assert row_counts() == NOTHING
    assert mailoutbox == []


@pytest.mark.django_db
def test_mismatched_passwords_error_is_next_to_the_second_password_field() -> None:
    response = Client().post(SIGN_UP, sign_up_data(password2=PASSWORD + "-typo"))

    assert response.status_code == 400
    assert "The two passwords differ." in field_errors(response, "password2")
    assert "The two passwords differ." in response.content.decode()
    assert not response.context["form"].non_field_errors()
    assert row_counts() == NOTHING


@pytest.mark.parametrize("field", ["full_name", "email", "workspace_name", "password1"])
@pytest.mark.django_db
def test_missing_required_field_is_refused_and_saves_nothing(field: str) -> None:
    response = Client().post(SIGN_UP, sign_up_data(**{field: ""}))

    assert response.status_code == 400
    assert field_errors(response, field)
    assert row_counts() == NOTHING


@pytest.mark.django_db
def test_a_blank_business_name_is_refused() -> None:
    response = Client().post(SIGN_UP, sign_up_data(workspace_name="   "))

    assert response.status_code == 400
    assert field_errors(response, "workspace_name")
    assert row_counts() == NOTHING


@pytest.mark.parametrize(
    ("field", "value"),
    [("time_zone", "Mars/Olympus_Mons"), ("currency", "XXXX"), ("currency", "ZZZ")],
)
@pytest.mark.django_db
def test_invalid_time_zone_or_currency_posted_directly_saves_nothing(
    field: str, value: str, mailoutbox: list[mail.EmailMessage]
) -> None:
    response = Client().post(SIGN_UP, sign_up_data(**{field: value}))

    assert response.status_code == 400
    assert field_errors(response, field)
    assert f'value="{BUSINESS}"' in response.content.decode()
    assert row_counts() == NOTHING
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("field", "length"), [("full_name", 151), ("workspace_name", 121), ("email", 255)]
)
@pytest.mark.django_db
def test_overlong_input_is_refused_next_to_its_field(field: str, length: int) -> None:
    value = "a" * length if field != "email" else "a" * (length - 12) + "@example.com"

    response = Client().post(SIGN_UP, sign_up_data(**{field: value}))

    assert response.status_code == 400
    assert field_errors(response, field)
    assert row_counts() == NOTHING


@pytest.mark.django_db
def test_the_service_refuses_a_bad_business_before_keeping_or_sending_anything(
    mailoutbox: list[mail.EmailMessage],
) -> None:
    with pytest.raises(ValidationError) as raised:
        sign_up.sign_up_request(
            email="nia@falmouth-tiling.test",
            full_name="Nia Penrose",
            password=PASSWORD,
            workspace_name=BUSINESS,
            time_zone="Mars/Olympus_Mons",
            currency="GBP",
            ip_address="203.0.113.1",
            build_confirm_url=lambda token: f"http://testserver/{token}/",
            sign_in_url="http://testserver/accounts/sign-in/",
            password_reset_url="http://testserver/accounts/password-reset/",
        )

    assert "time_zone" in raised.value.message_dict
    assert row_counts() == NOTHING
    assert mailoutbox == []


# --- All or nothing when the link is used -----------------------------------------------------


@pytest.mark.django_db
def test_confirming_rolls_back_the_user_when_the_workspace_is_invalid() -> None:
    """The user row is written before the workspace; a bad workspace must take it back out,
    and leave the link unused."""
    _request, token = sign_up_request_create(
        email="nia@falmouth-tiling.test",
        full_name="Nia Penrose",
        password=PASSWORD,
        details={"name": BUSINESS, "time_zone": "Mars/Olympus_Mons", "currency": "GBP"},
        ip_address=None,
    )

    with pytest.raises(ValidationError) as raised:
        sign_up.sign_up_confirm(token=token)

    assert "time_zone" in raised.value.message_dict
    assert not User.objects.filter(email="nia@falmouth-tiling.test").exists()
    assert not Workspace.objects.exists()
    assert SignUpRequest.objects.get().used_at is None


@pytest.mark.django_db
def test_failure_after_the_user_is_saved_leaves_nothing_behind_through_the_view(
    monkeypatch: pytest.MonkeyPatch, mailoutbox: list[mail.EmailMessage]
) -> None:
    def failing_workspace_create(**kwargs: Any) -> Workspace:
        raise ValidationError({"time_zone": "Choose a time zone from the list."})

    Client().post(SIGN_UP, sign_up_data())
    # The sign-up runs the workspace's creation as a step of its own transaction.
    monkeypatch.setattr(services.workspace_create, "step", failing_workspace_create)
    client = Client()

    response = client.post(confirm_link(mailoutbox[0]))

    assert response.status_code == 400
    assert "Choose a time zone from the list." in response.content.decode()
    assert not User.objects.exists()
    assert not Workspace.objects.exists()
    assert "_auth_user_id" not in client.session
    assert SignUpRequest.objects.get().used_at is None


@pytest.mark.django_db
def test_a_used_link_raises_for_the_service_too(mailoutbox: list[mail.EmailMessage]) -> None:
    _request, token = sign_up_request_create(
        email="nia@falmouth-tiling.test",
        full_name="Nia Penrose",
        password=PASSWORD,
        details={"name": BUSINESS, "time_zone": "Europe/London", "currency": "GBP"},
        ip_address=None,
    )
    sign_up.sign_up_confirm(token=token)

    with pytest.raises(LinkUnusable):
        sign_up.sign_up_confirm(token=token)
    assert Workspace.objects.count() == 1


@pytest.mark.django_db
def test_failed_sign_up_does_not_sign_anyone_in() -> None:
    client = Client()

    client.post(SIGN_UP, sign_up_data(password2="different-entirely"))

    assert "_auth_user_id" not in client.session
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert response.url.startswith(SIGN_IN)


# --- E-mail, rate limits, methods ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_line_break_in_the_business_name_does_not_break_the_e_mail(
    mailoutbox: list[mail.EmailMessage],
) -> None:
    response = Client().post(SIGN_UP, sign_up_data(workspace_name="Falmouth\nTiling"))

    assert response.status_code == 200
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject == "Confirm your e-mail to create Falmouth Tiling on Jobline"


@pytest.mark.django_db
def test_when_the_e_mail_cannot_be_sent_nothing_is_kept_and_the_input_stays(
    settings: Any,
) -> None:
    settings.EMAIL_BACKEND = REFUSING

    response = Client().post(SIGN_UP, sign_up_data())

    assert response.status_code == 503
    html = response.content.decode()
    assert "We could not send the e-mail just now, so nothing was saved." in html
    assert f'value="{BUSINESS}"' in html
    assert 'value="nia@falmouth-tiling.test"' in html
    assert PASSWORD not in html
    assert row_counts() == NOTHING


@pytest.mark.django_db
def test_sign_ups_are_rate_limited_per_address(
    settings: Any, mailoutbox: list[mail.EmailMessage]
) -> None:
    for number in range(settings.SIGNIN_LINKS_PER_EMAIL):
        response = Client().post(SIGN_UP, sign_up_data(), REMOTE_ADDR=f"192.0.2.{number}")
        assert response.status_code == 200

    refused = Client().post(SIGN_UP, sign_up_data(), REMOTE_ADDR="198.51.100.1")

    assert refused.status_code == 429
    assert "Too many e-mailed links were asked for" in refused.content.decode()
    assert f'value="{BUSINESS}"' in refused.content.decode()
    assert len(mailoutbox) == settings.SIGNIN_LINKS_PER_EMAIL


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.django_db
def test_sign_up_pages_answer_405_to_other_methods(
    method: str, mailoutbox: list[mail.EmailMessage]
) -> None:
    Client().post(SIGN_UP, sign_up_data())
    link = confirm_link(mailoutbox[0])

    assert getattr(Client(), method)(SIGN_UP).status_code == 405
    assert getattr(Client(), method)(link).status_code == 405
    assert not User.objects.exists()
