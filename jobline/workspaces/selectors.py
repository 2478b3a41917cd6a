"""Reads for workspace pages, always scoped to one workspace (and the viewer where it matters)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from jobline.accounts.models import User
from jobline.workspaces.models import AuditLogEntry, Invitation, Membership, Workspace


def active_memberships(*, user: User) -> list[Membership]:
    """Every workspace a person works in, by name: already read with the signed-in user
    (workspaces.auth.MemberBackend), else read now."""
    preloaded = getattr(user, "active_memberships", None)
    if preloaded is not None:
        return preloaded
    return list(memberships_of(user=user))


def current_membership(*, user: User, preferred_workspace_id: int | None) -> Membership | None:
    """The membership the person is working in: the one they chose, else their first."""
    memberships = active_memberships(user=user)
    if preferred_workspace_id is not None:
        chosen = next((m for m in memberships if m.workspace_id == preferred_workspace_id), None)
        if chosen is not None:
            return chosen
    return min(memberships, key=lambda m: (m.created_at, m.pk), default=None)


def memberships_of(*, user: User) -> QuerySet[Membership]:
    """Every workspace a person belongs to, for the workspace switcher."""
    return (
        Membership.objects.active()
        .filter(user=user)
        .select_related("workspace")
        .order_by("workspace__name", "workspace_id")
    )


def membership_of_user_in(*, user: User, workspace_id: int) -> Membership:
    """404 unless the person is an active member of that workspace."""
    return get_object_or_404(
        Membership.objects.active().select_related("workspace"),
        user=user,
        workspace_id=workspace_id,
    )


def members(*, workspace: Workspace) -> QuerySet[Membership]:
    return (
        Membership.objects.active()
        .filter(workspace=workspace)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def get_member(*, workspace: Workspace, membership_id: int) -> Membership:
    return get_object_or_404(members(workspace=workspace), pk=membership_id)


def pending_invitations(*, workspace: Workspace) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(
            workspace=workspace,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("invited_by")
        .order_by("-created_at")
    )


def get_pending_invitation(*, workspace: Workspace, invitation_id: int) -> Invitation:
    return get_object_or_404(pending_invitations(workspace=workspace), pk=invitation_id)


def audit_log(*, workspace: Workspace) -> QuerySet[AuditLogEntry]:
    return AuditLogEntry.objects.filter(workspace=workspace).select_related("actor")
