"""Every change to a workspace, its members and its settings; each writes its audit entry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import timezone

from jobline.accounts.models import User, normalize_email_address
from jobline.accounts.services import user_claim, user_create
from jobline.accounts.tokens import hash_token, new_token
from jobline.core.mail import email_message, send_or_refuse
from jobline.core.transactions import service
from jobline.workspaces.models import (
    AuditLogEntry,
    Invitation,
    Membership,
    Role,
    Workspace,
)

# The settings an Admin can change, and the audit action each belongs to.
SETTINGS_FIELDS: dict[str, str] = {
    "name": "settings.general",
    "time_zone": "settings.general",
    "currency": "settings.general",
    "locale": "settings.general",
    "module_jobs": "settings.modules",
    "module_bookings": "settings.modules",
    "module_quotes": "settings.modules",
    "booking_reminder_hours": "settings.modules",
    "prices_include_tax": "settings.modules",
    "tax_rounding": "settings.modules",
    "quote_valid_days": "settings.modules",
    "quotes_auto_convert": "settings.modules",
    "portal_enabled": "settings.portal",
    "portal_jobs": "settings.portal",
    "tax_number": "settings.payments",
    "payment_instructions": "settings.payments",
    "invoice_terms_days": "settings.payments",
    "invoice_reminder_days": "settings.payments",
    "buyer_identity_threshold": "settings.payments",
}


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return "" if value is None else str(value)


def audit_record(
    *,
    workspace: Workspace,
    actor: User | None,
    action: str,
    field: str = "",
    old: Any = "",
    new: Any = "",
    target: str = "",
) -> AuditLogEntry:
    return AuditLogEntry.objects.create(
        workspace=workspace,
        actor=actor,
        action=action,
        target=target[:255],
        field=field,
        old_value=_display(old),
        new_value=_display(new),
    )


def audit_changes(
    *,
    workspace: Workspace,
    actor: User | None,
    action: str,
    target: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> list[AuditLogEntry]:
    """One entry per setting whose value changed from ``before`` to ``after``, in the
    order of ``after``. Call it inside the change's own transaction."""
    return [
        audit_record(
            workspace=workspace,
            actor=actor,
            action=action,
            target=target,
            field=name,
            old=before.get(name),
            new=new,
        )
        for name, new in after.items()
        if before.get(name) != new
    ]


@service
def workspace_create(
    *,
    name: str,
    owner: User,
    time_zone: str = "Europe/London",
    currency: str = "GBP",
    locale: str = "en-GB",
) -> Workspace:
    """A new business; the person who creates it is its first Admin. New workspaces have Jobs on."""
    workspace = Workspace(name=name, time_zone=time_zone, currency=currency, locale=locale)
    workspace.full_clean()
    workspace.save()
    Membership.objects.create(workspace=workspace, user=owner, role=Role.ADMIN)
    audit_record(workspace=workspace, actor=owner, action="workspace.created", new=name)
    return workspace


@service
def workspace_update_settings(
    *, workspace: Workspace, actor: User, changes: dict[str, Any]
) -> list[AuditLogEntry]:
    """Apply setting changes; one audit entry per field that really changed (old → new)."""
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"Not workspace settings: {', '.join(sorted(unknown))}")
    # Lock the row so two admins saving at once each see the other's result as "old".
    current = Workspace.objects.select_for_update().get(pk=workspace.pk)
    entries: list[AuditLogEntry] = []
    changed: list[str] = []
    for field, new in changes.items():
        old = getattr(current, field)
        if old == new:
            continue
        setattr(current, field, new)
        changed.append(field)
        entries.append(
            audit_record(
                workspace=current,
                actor=actor,
                action=SETTINGS_FIELDS[field],
                field=field,
                old=old,
                new=new,
            )
        )
    if changed:
        current.full_clean()
        current.save(update_fields=changed)
        for field in changed:
            setattr(workspace, field, getattr(current, field))
    return entries


def _ensure_an_admin_remains(*, workspace: Workspace, leaving: Membership) -> None:
    if leaving.role != Role.ADMIN:
        return
    other_admins = (
        Membership.objects.active()
        .select_for_update()
        .filter(workspace=workspace, role=Role.ADMIN)
        .exclude(pk=leaving.pk)
    )
    if not list(other_admins):
        raise ValidationError("A workspace always keeps at least one Admin.", code="last_admin")


@service
def member_change_role(*, membership: Membership, role: str, actor: User) -> Membership:
    role = Role(role)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == role:
        return membership
    if role != Role.ADMIN:
        _ensure_an_admin_remains(workspace=membership.workspace, leaving=membership)
    old = membership.get_role_display()
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        workspace=membership.workspace,
        actor=actor,
        action="member.role_changed",
        field=membership.user.email,
        old=old,
        new=membership.get_role_display(),
    )
    return membership


@service
def member_remove(*, membership: Membership, actor: User) -> Membership:
    """The person loses access; the membership row stays so their history keeps its author."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.removed_at is not None:
        return membership
    _ensure_an_admin_remains(workspace=membership.workspace, leaving=membership)
    membership.removed_at = timezone.now()
    membership.save(update_fields=["removed_at"])
    audit_record(
        workspace=membership.workspace,
        actor=actor,
        action="member.removed",
        field=membership.user.email,
        old=membership.get_role_display(),
    )
    return membership


def _send_invitation_email(*, invitation: Invitation, accept_url: str) -> None:
    """Sent now, inside the invitation's transaction: when it fails (MailNotSent) there is no
    invitation, no audit entry, and the older pending invitation still stands."""
    context = {"invitation": invitation, "accept_url": accept_url}
    send_or_refuse(
        email_message(
            subject=f"You're invited to {invitation.workspace.name} on Jobline",
            text=render_to_string("workspaces/email/invitation.txt", context),
            to=[invitation.email],
        )
    )


@service
def member_invite(
    *,
    workspace: Workspace,
    email: str,
    role: str,
    actor: User,
    build_accept_url: Callable[[str], str],
) -> tuple[Invitation, str]:
    """Invite a person by e-mail. Returns the invitation and its one-time token.

    ``build_accept_url`` turns the token into an absolute link (the view knows the host).
    A newer invitation to the same address replaces a pending older one. Raises MailNotSent,
    changing nothing, when the e-mail cannot be sent.
    """
    email = normalize_email_address(email)
    if Membership.objects.active().filter(workspace=workspace, user__email=email).exists():
        raise ValidationError({"email": "This person is already a member of this workspace."})
    now = timezone.now()
    Invitation.objects.filter(
        workspace=workspace, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    token = new_token()
    invitation = Invitation(
        workspace=workspace,
        email=email,
        role=Role(role),
        token_hash=hash_token(token),
        invited_by=actor,
        created_at=now,
        expires_at=now + timedelta(days=settings.INVITATION_VALID_DAYS),
    )
    invitation.full_clean()
    invitation.save()
    audit_record(
        workspace=workspace,
        actor=actor,
        action="member.invited",
        field=email,
        new=invitation.get_role_display(),
    )
    _send_invitation_email(invitation=invitation, accept_url=build_accept_url(token))
    return invitation, token


@service
def invitation_revoke(*, invitation: Invitation, actor: User) -> None:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.revoked_at or invitation.accepted_at:
        return
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        workspace=invitation.workspace,
        actor=actor,
        action="member.invitation_revoked",
        field=invitation.email,
    )


class InvitationUnusable(Exception):
    """The link was already used, revoked, expired or never existed."""


def invitation_for_token(*, token: str) -> Invitation:
    """The pending invitation behind a link, or InvitationUnusable."""
    invitation = (
        Invitation.objects.select_related("workspace", "invited_by")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None or not invitation.is_pending:
        raise InvitationUnusable(
            "This invitation link has expired or has already been used. "
            "Ask the workspace admin to send a new one."
        )
    return invitation


@service
def invitation_accept(*, token: str, user: User) -> Membership:
    """Single use: the row is locked, so two clicks on the same link join once."""
    invitation = invitation_for_token(token=token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_pending:
        raise InvitationUnusable("This invitation link has already been used.")
    if normalize_email_address(user.email) != invitation.email:
        raise InvitationUnusable(
            f"This invitation was sent to {invitation.email}. "
            "Sign in with that address to accept it."
        )
    membership, created = Membership.objects.get_or_create(
        workspace=invitation.workspace, user=user, defaults={"role": invitation.role}
    )
    if not created:
        # A removed member who is invited back returns with the new role.
        membership.role = invitation.role
        membership.removed_at = None
        membership.save(update_fields=["role", "removed_at"])
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        workspace=invitation.workspace,
        actor=user,
        action="member.joined",
        field=user.email,
        new=invitation.get_role_display(),
    )
    return membership


@service
def invitation_sign_up(*, token: str, full_name: str, password: str) -> tuple[User, Membership]:
    """The invitation link proves the address: a new person's account is created, or an
    account without a usable password (made when a business invited the address to its
    portal) gets this password; then the invitation is accepted. All of it, or none."""
    invitation = invitation_for_token(token=token)
    # Locked first: a second click on the same link waits here, then finds it used.
    Invitation.objects.select_for_update().get(pk=invitation.pk)
    user = User.objects.filter(email=invitation.email).first()
    if user is None:
        user = user_create(email=invitation.email, full_name=full_name, password=password)
    elif user.has_usable_password() or not user.is_active:
        raise InvitationUnusable(
            f"An account for {invitation.email} already exists. Sign in to accept the invitation."
        )
    else:
        user = user_claim(user=user, full_name=full_name, password_hash=make_password(password))
    return user, invitation_accept.step(token=token, user=user)
