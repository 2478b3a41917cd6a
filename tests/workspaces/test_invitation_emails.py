"""Invitation e-mails that fail at once: a line break in the business's name is folded out
of the subject, and an invitation whose e-mail cannot be sent is refused whole — no
invitation, no audit entry, the older invitation still standing, and the Admin told why."""

from __future__ import annotations

import re
from typing import Any

from django.core import mail
from django.test import Client

from jobline.workspaces.models import AuditLogEntry, Invitation
from tests.accounts.mail_backends import REFUSING
from tests.conftest import Cast

INVITE = "/settings/members/invite/"


def test_a_line_break_in_the_business_name_is_folded_out_of_the_subject(
    cast: Cast, as_admin: Client, mailoutbox: list[mail.EmailMessage]
) -> None:
    cast.workspace.name = "Harbour\nRenovations\r\nBcc: everyone@example.com"
    cast.workspace.save(update_fields=["name"])

    response = as_admin.post(INVITE, {"email": "new@example.com", "role": "staff"})

    assert response.status_code == 302
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.subject == (
        "You're invited to Harbour Renovations Bcc: everyone@example.com on Jobline"
    )
    assert message.to == ["new@example.com"]
    assert message.bcc == []
    assert "\n" not in message.message()["Subject"]
    assert re.search(r"https?://\S+/invitations/\S+/", message.body)
    assert Invitation.objects.filter(email="new@example.com").exists()


def test_an_invitation_whose_e_mail_fails_is_not_saved_and_the_admin_is_told(
    cast: Cast, as_admin: Client, settings: Any
) -> None:
    settings.EMAIL_BACKEND = REFUSING

    response = as_admin.post(INVITE, {"email": "new@example.com", "role": "manager"})

    assert response.status_code == 503
    form = response.context["invite_form"]
    assert "We could not send the e-mail just now, so nothing was saved." in str(
        form.non_field_errors()
    )
    html = response.content.decode()
    assert "We could not send the e-mail just now" in html
    assert 'value="new@example.com"' in html
    assert not Invitation.objects.exists()
    assert not AuditLogEntry.objects.filter(action="member.invited").exists()


def test_a_failed_resend_leaves_the_pending_invitation_working(
    cast: Cast, as_admin: Client, settings: Any, mailoutbox: list[mail.EmailMessage]
) -> None:
    assert as_admin.post(INVITE, {"email": "new@example.com", "role": "staff"}).status_code == 302
    link = re.search(r"https?://testserver(/invitations/\S+/)", mailoutbox[0].body).group(1)
    settings.EMAIL_BACKEND = REFUSING

    response = as_admin.post(INVITE, {"email": "new@example.com", "role": "manager"})

    assert response.status_code == 503
    assert Client().get(link).status_code == 200
    pending = Invitation.objects.get(email="new@example.com", revoked_at__isnull=True)
    assert pending.role == "staff"
