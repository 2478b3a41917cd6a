"""Members: invitations (7 days, single use), roles, removal, and the last-Admin rule."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from jobline.accounts.models import SignInLinkScope, User
from jobline.accounts.services import signin_link_create
from jobline.workspaces.models import AuditLogEntry, Invitation, Membership, Role
from tests.conftest import PASSWORD, Cast, client_for, make_user

NEW_PASSWORD = "a-fresh-long-passphrase"


def invite(client: Client, email: str, role: str = "staff") -> str:
    """Send an invitation through the members page; return the link from the e-mail."""
    # The e-mail leaves inside the invitation's transaction: no commit hook to run.
    response = client.post("/settings/members/invite/", {"email": email, "role": role})
    assert response.status_code == 302, response.content
    match = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(0).split("testserver", 1)[1]


def test_invitation_email_goes_to_the_invitee_with_a_link(
    cast: Cast, as_admin: Client, mailoutbox: list
) -> None:
    invite(as_admin, "New.Person@Example.com", role="manager")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new.person@example.com"]
    assert "Harbour Renovations" in mailoutbox[0].subject
    invitation = Invitation.objects.get(email="new.person@example.com")
    assert invitation.role == Role.MANAGER
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)
    assert AuditLogEntry.objects.filter(action="member.invited", field=invitation.email).exists()


def test_new_person_accepts_by_creating_an_account(cast: Cast, as_admin: Client) -> None:
    link = invite(as_admin, "newbie@example.com", role="manager")
    visitor = Client()
    assert b"Create account and join" in visitor.get(link).content
    response = visitor.post(
        link, {"full_name": "Nina Newbie", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    user = User.objects.get(email="newbie@example.com")
    membership = Membership.objects.get(user=user, workspace=cast.workspace)
    assert membership.role == Role.MANAGER
    assert b"Harbour Renovations" in visitor.get("/dashboard/").content


def test_invitation_link_works_only_once(cast: Cast, as_admin: Client) -> None:
    link = invite(as_admin, "once@example.com")
    data = {"full_name": "Once Only", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert Client().post(link, data).status_code == 302
    second = Client().get(link)
    assert second.status_code == 404
    assert b"already been used" in second.content


def test_invitation_link_expires_after_seven_days(cast: Cast, as_admin: Client) -> None:
    link = invite(as_admin, "late@example.com")
    Invitation.objects.filter(email="late@example.com").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = Client().post(
        link, {"full_name": "Too Late", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 404
    assert b"expired" in response.content
    assert not User.objects.filter(email="late@example.com").exists()


def test_a_made_up_token_is_refused(db: None) -> None:
    response = Client().get("/invitations/not-a-real-token/")
    assert response.status_code == 404


def test_existing_account_signs_in_then_accepts(cast: Cast, as_admin: Client) -> None:
    link = invite(as_admin, cast.outsider.email, role="staff")
    visitor = Client()
    response = visitor.get(link)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/sign-in/")
    visitor.force_login(cast.outsider)
    assert visitor.post(link).status_code == 302
    assert Membership.objects.get(user=cast.outsider, workspace=cast.workspace).role == "staff"
    # They keep their own workspace too.
    assert Membership.objects.filter(user=cast.outsider).count() == 2


def test_a_portal_customer_without_a_password_joins_by_choosing_one(
    cast: Cast, as_admin: Client
) -> None:
    """Any business can make an address its portal customer (an account without a usable
    password); that must not stop the address from joining a team. The link proves it."""
    customer_account = User.objects.create_user("nia@example.com", None, full_name="Nia Newbie")
    link = invite(as_admin, "nia@example.com", role="staff")
    visitor = Client()

    page = visitor.get(link)
    response = visitor.post(
        link, {"full_name": "Nia Penrose", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert page.status_code == 200
    assert b"has no password yet" in page.content
    assert b'value="Nia Newbie"' in page.content
    assert response.status_code == 302
    customer_account.refresh_from_db()
    assert customer_account.check_password(NEW_PASSWORD)
    assert customer_account.full_name == "Nia Penrose"
    assert User.objects.filter(email="nia@example.com").count() == 1
    assert Membership.objects.get(user=customer_account).workspace == cast.workspace
    assert b"Harbour Renovations" in visitor.get("/dashboard/").content


def test_a_weak_password_when_joining_is_refused_and_nothing_changes(
    cast: Cast, as_admin: Client
) -> None:
    link = invite(as_admin, "weak@example.com")

    response = Client().post(
        link, {"full_name": "Wes Weak", "password1": "12345678", "password2": "12345678"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["password1"]
    assert b'value="Wes Weak"' in response.content
    assert not User.objects.filter(email="weak@example.com").exists()
    assert Client().get(link).status_code == 200  # the invitation is still usable


def test_a_portal_only_session_of_the_invitee_is_asked_for_the_password(
    cast: Cast, as_admin: Client
) -> None:
    link = invite(as_admin, cast.outsider.email)
    visitor = Client()
    token = signin_link_create(user=cast.outsider, scope=SignInLinkScope.PORTAL)
    assert visitor.post(f"/user/sign-in/{token}/").status_code == 302

    response = visitor.post(link)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/sign-in/")
    assert not Membership.objects.filter(user=cast.outsider, workspace=cast.workspace).exists()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_invitation_and_member_pages_answer_405_to_other_methods(
    cast: Cast, as_admin: Client, method: str
) -> None:
    link = invite(as_admin, "methods@example.com")
    staff_membership = cast.membership(cast.staff)
    invitation = Invitation.objects.get(email="methods@example.com")

    for url in (
        link,
        "/settings/members/",
        "/settings/members/invite/",
        f"/settings/members/{staff_membership.pk}/role/",
        f"/settings/members/{staff_membership.pk}/remove/",
        f"/settings/invitations/{invitation.pk}/revoke/",
    ):
        assert getattr(as_admin, method)(url).status_code == 405, url
    staff_membership.refresh_from_db()
    assert staff_membership.removed_at is None
    assert Client().get(link).status_code == 200


def test_invitation_cannot_be_accepted_by_another_account(cast: Cast, as_admin: Client) -> None:
    link = invite(as_admin, "intended@example.com")
    response = client_for(cast.outsider).post(link, follow=True)
    assert b"was sent to intended@example.com" in response.content
    assert not Membership.objects.filter(user=cast.outsider, workspace=cast.workspace).exists()


def test_inviting_an_existing_member_is_refused_next_to_the_field(
    cast: Cast, as_admin: Client, mailoutbox: list
) -> None:
    response = as_admin.post(
        "/settings/members/invite/", {"email": "STAFF@harbour.test", "role": "staff"}
    )
    assert response.status_code == 400
    assert "already a member" in str(response.context["invite_form"].errors["email"])
    assert mailoutbox == []


def test_bad_invite_email_keeps_input(cast: Cast, as_admin: Client) -> None:
    response = as_admin.post("/settings/members/invite/", {"email": "not-an-email", "role": "x"})
    assert response.status_code == 400
    form = response.context["invite_form"]
    assert "email" in form.errors and "role" in form.errors
    assert b'value="not-an-email"' in response.content


def test_a_new_invitation_replaces_the_pending_one(cast: Cast, as_admin: Client) -> None:
    first = invite(as_admin, "twice@example.com")
    second = invite(as_admin, "twice@example.com", role="manager")
    assert Client().get(first).status_code == 404
    assert Client().get(second).status_code == 200


def test_withdrawn_invitation_link_stops_working(cast: Cast, as_admin: Client) -> None:
    link = invite(as_admin, "withdrawn@example.com")
    invitation = Invitation.objects.get(email="withdrawn@example.com")
    assert as_admin.post(f"/settings/invitations/{invitation.pk}/revoke/").status_code == 302
    assert Client().get(link).status_code == 404


@pytest.mark.parametrize("role", ["manager", "staff"])
def test_only_admins_invite(role: str, cast: Cast, mailoutbox: list) -> None:
    response = client_for(getattr(cast, role)).post(
        "/settings/members/invite/", {"email": "x@example.com", "role": "admin"}
    )
    assert response.status_code == 403
    assert mailoutbox == []
    assert not Invitation.objects.exists()


def test_removed_member_loses_access_but_keeps_their_history(cast: Cast, as_admin: Client) -> None:
    staff_membership = cast.membership(cast.staff)
    response = as_admin.post(f"/settings/members/{staff_membership.pk}/remove/")
    assert response.status_code == 302
    staff_membership.refresh_from_db()
    assert staff_membership.removed_at is not None  # the row stays for attribution
    assert User.objects.filter(pk=cast.staff.pk).exists()
    assert client_for(cast.staff).get("/customers/").status_code == 302  # → create a workspace
    assert f'id="member-{staff_membership.pk}"' not in as_admin.get("/settings/members/").text
    entry = AuditLogEntry.objects.get(action="member.removed")
    assert (entry.actor, entry.field) == (cast.admin, "staff@harbour.test")


def test_the_last_admin_cannot_be_removed(cast: Cast, as_admin: Client) -> None:
    admin_membership = cast.membership(cast.admin)
    response = as_admin.post(f"/settings/members/{admin_membership.pk}/remove/", follow=True)
    assert b"at least one Admin" in response.content
    admin_membership.refresh_from_db()
    assert admin_membership.removed_at is None


def test_the_last_admin_cannot_be_demoted(cast: Cast, as_admin: Client) -> None:
    admin_membership = cast.membership(cast.admin)
    response = as_admin.post(
        f"/settings/members/{admin_membership.pk}/role/", {"role": "staff"}, follow=True
    )
    assert b"at least one Admin" in response.content
    admin_membership.refresh_from_db()
    assert admin_membership.role == Role.ADMIN


def test_with_a_second_admin_the_first_may_step_down(cast: Cast, as_admin: Client) -> None:
    manager_membership = cast.membership(cast.manager)
    as_admin.post(f"/settings/members/{manager_membership.pk}/role/", {"role": "admin"})
    admin_membership = cast.membership(cast.admin)
    as_admin.post(f"/settings/members/{admin_membership.pk}/role/", {"role": "manager"})
    admin_membership.refresh_from_db()
    assert admin_membership.role == Role.MANAGER
    changes = AuditLogEntry.objects.filter(action="member.role_changed").values_list(
        "field", "old_value", "new_value"
    )
    assert set(changes) == {
        ("manager@harbour.test", "Manager", "Admin"),
        ("admin@harbour.test", "Admin", "Manager"),
    }


def test_removed_member_invited_back_returns_with_the_new_role(
    cast: Cast, as_admin: Client
) -> None:
    staff_membership = cast.membership(cast.staff)
    as_admin.post(f"/settings/members/{staff_membership.pk}/remove/")
    link = invite(as_admin, cast.staff.email, role="manager")
    returning = Client()
    assert (
        returning.post(
            "/accounts/sign-in/", {"username": cast.staff.email, "password": PASSWORD}
        ).status_code
        == 302
    )
    assert returning.post(link).status_code == 302
    staff_membership.refresh_from_db()
    assert (staff_membership.removed_at, staff_membership.role) == (None, Role.MANAGER)


def test_member_without_a_workspace_can_create_one(db: None) -> None:
    loner = make_user("loner@example.com", "Lone Person")
    client = client_for(loner)
    assert client.get("/dashboard/")["Location"] == "/workspaces/new/"
    response = client.post(
        "/workspaces/new/",
        {"name": "Loner Ltd", "time_zone": "Europe/London", "currency": "GBP", "locale": "en-GB"},
    )
    assert response.status_code == 302
    assert Membership.objects.get(user=loner).role == Role.ADMIN
