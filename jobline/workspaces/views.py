"""Workspace switching and creation, and Settings (General, Modules, Portal, Members, Audit log)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from jobline.accounts.forms import InvitedSignUpForm
from jobline.accounts.models import User
from jobline.accounts.services import user_create
from jobline.workspaces import selectors, services
from jobline.workspaces.forms import (
    GeneralSettingsForm,
    InviteMemberForm,
    MemberRoleForm,
    ModulesForm,
    PortalSettingsForm,
    SignUpForm,
    SwitchWorkspaceForm,
    WorkspaceCreateForm,
    initial_from,
)
from jobline.workspaces.middleware import SESSION_KEY
from jobline.workspaces.models import Role
from jobline.workspaces.permissions import admin_required


def _render_form_page(
    request: HttpRequest, template: str, context: dict[str, Any], *, invalid: bool = False
) -> HttpResponse:
    # A form sent back with errors answers 400 so scripts and tests can tell it failed.
    return render(request, template, context, status=400 if invalid else 200)


def sign_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user, workspace = services.user_sign_up(
                email=data["email"],
                full_name=data["full_name"],
                password=data["password1"],
                workspace_name=data["workspace_name"],
                time_zone=data["time_zone"],
                currency=data["currency"],
            )
        except ValidationError as error:
            # E.g. the same e-mail signing up twice at once: the second loses the race here.
            for field, messages_ in error.message_dict.items():
                form.add_error(field if field in form.fields else None, messages_)
            return render(request, "workspaces/signup.html", {"form": form}, status=400)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session[SESSION_KEY] = workspace.pk
        messages.success(request, f"Welcome to Jobline, {user.get_short_name()}.")
        return redirect("dashboard")
    status = 400 if request.method == "POST" else 200
    return render(request, "workspaces/signup.html", {"form": form}, status=status)


@login_required
def workspace_create(request: HttpRequest) -> HttpResponse:
    """A signed-in person starts another business (or their first, after leaving one)."""
    if request.membership is None and request.user.customer_profiles.exists():
        return redirect("portal:jobs")  # customers do not get staff pages
    form = WorkspaceCreateForm(
        request.POST if request.method == "POST" else None,
        initial={"time_zone": "Europe/London", "currency": "GBP", "locale": "en-GB"},
    )
    if request.method == "POST" and form.is_valid():
        workspace = services.workspace_create(owner=request.user, **form.cleaned_data)
        request.session[SESSION_KEY] = workspace.pk
        messages.success(request, f"{workspace.name} is ready.")
        return redirect("dashboard")
    return _render_form_page(
        request,
        "workspaces/workspace_create.html",
        {"form": form},
        invalid=request.method == "POST",
    )


@login_required
@require_POST
def workspace_switch(request: HttpRequest) -> HttpResponse:
    form = SwitchWorkspaceForm(request.POST)
    if not form.is_valid():
        return redirect("dashboard")
    membership = selectors.membership_of_user_in(
        user=request.user, workspace_id=form.cleaned_data["workspace_id"]
    )
    request.session[SESSION_KEY] = membership.workspace_id
    messages.success(request, f"Switched to {membership.workspace.name}.")
    return redirect("dashboard")


def _settings_form_view(
    request: HttpRequest, *, form_class: type, template: str, saved_message: str
) -> HttpResponse:
    workspace = request.workspace
    form = form_class(
        request.POST if request.method == "POST" else None,
        initial=initial_from(workspace, form_class),
    )
    if request.method == "POST" and form.is_valid():
        try:
            entries = services.workspace_update_settings(
                workspace=workspace, actor=request.user, changes=form.cleaned_data
            )
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, field_errors)
        else:
            messages.success(request, saved_message if entries else "Nothing changed.")
            return redirect(request.path)
    return _render_form_page(request, template, {"form": form}, invalid=request.method == "POST")


@admin_required
def settings_general(request: HttpRequest) -> HttpResponse:
    return _settings_form_view(
        request,
        form_class=GeneralSettingsForm,
        template="workspaces/settings_general.html",
        saved_message="General settings saved.",
    )


@admin_required
def settings_modules(request: HttpRequest) -> HttpResponse:
    return _settings_form_view(
        request,
        form_class=ModulesForm,
        template="workspaces/settings_modules.html",
        saved_message="Modules saved.",
    )


@admin_required
def settings_portal(request: HttpRequest) -> HttpResponse:
    return _settings_form_view(
        request,
        form_class=PortalSettingsForm,
        template="workspaces/settings_portal.html",
        saved_message="Customer portal settings saved.",
    )


def _members_page(
    request: HttpRequest, invite_form: InviteMemberForm, *, status: int = 200
) -> HttpResponse:
    workspace = request.workspace
    return render(
        request,
        "workspaces/settings_members.html",
        {
            "members": selectors.members(workspace=workspace),
            "invitations": selectors.pending_invitations(workspace=workspace),
            "invite_form": invite_form,
            "roles": Role.choices,
        },
        status=status,
    )


@admin_required
def settings_members(request: HttpRequest) -> HttpResponse:
    return _members_page(request, InviteMemberForm())


@admin_required
@require_POST
def member_invite(request: HttpRequest) -> HttpResponse:
    form = InviteMemberForm(request.POST)
    if form.is_valid():
        try:
            invitation, _token = services.member_invite(
                workspace=request.workspace,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=request.user,
                build_accept_url=lambda token: request.build_absolute_uri(
                    reverse("workspaces:invitation_accept", args=[token])
                ),
            )
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, field_errors)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("workspaces:settings_members")
    return _members_page(request, form, status=400)


@admin_required
@require_POST
def member_change_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = selectors.get_member(workspace=request.workspace, membership_id=membership_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role from the list.")
        return redirect("workspaces:settings_members")
    try:
        services.member_change_role(
            membership=membership, role=form.cleaned_data["role"], actor=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{membership.user} is now {form.cleaned_data['role']}.")
    return redirect("workspaces:settings_members")


@admin_required
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = selectors.get_member(workspace=request.workspace, membership_id=membership_id)
    try:
        services.member_remove(membership=membership, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("workspaces:settings_members")
    messages.success(request, f"{membership.user} was removed. Their history stays.")
    if membership.user_id == request.user.pk:
        request.session.pop(SESSION_KEY, None)
        return redirect("dashboard")
    return redirect("workspaces:settings_members")


@admin_required
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = selectors.get_pending_invitation(
        workspace=request.workspace, invitation_id=invitation_id
    )
    services.invitation_revoke(invitation=invitation, actor=request.user)
    messages.success(request, f"Invitation for {invitation.email} withdrawn.")
    return redirect("workspaces:settings_members")


@admin_required
def settings_audit_log(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.audit_log(workspace=request.workspace), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "workspaces/settings_audit.html", {"page": page})


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the invitation e-mail. New people create their account here."""
    try:
        invitation = services.invitation_for_token(token)
    except services.InvitationUnusable as error:
        return render(
            request, "workspaces/invitation_unusable.html", {"reason": str(error)}, status=404
        )

    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                membership = services.invitation_accept(token=token, user=request.user)
            except services.InvitationUnusable as error:
                messages.error(request, str(error))
                return redirect("dashboard")
            request.session[SESSION_KEY] = membership.workspace_id
            messages.success(request, f"Welcome to {membership.workspace.name}.")
            return redirect("dashboard")
        return render(request, "workspaces/invitation_accept.html", {"invitation": invitation})

    if User.objects.filter(email=invitation.email).exists():
        messages.info(request, f"Sign in as {invitation.email} to accept the invitation.")
        return redirect(f"{reverse('accounts:login')}?next={request.path}")

    form = InvitedSignUpForm(
        request.POST if request.method == "POST" else None, email=invitation.email
    )
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = user_create(
                email=invitation.email,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
            )
            membership = services.invitation_accept(token=token, user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session[SESSION_KEY] = membership.workspace_id
        messages.success(request, f"Welcome to {membership.workspace.name}.")
        return redirect("dashboard")
    return _render_form_page(
        request,
        "workspaces/invitation_signup.html",
        {"invitation": invitation, "form": form},
        invalid=request.method == "POST",
    )
