"""Sign-up, workspace switching and creation, invitations, and Settings (General, Modules,
Portal, Members, Audit log)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from jobline.accounts import selectors as account_selectors
from jobline.accounts.forms import InvitedSignUpForm, client_ip
from jobline.accounts.services import LinkThrottled, LinkUnusable
from jobline.accounts.sessions import is_fully_signed_in, sign_in_full
from jobline.core.mail import MailNotSent
from jobline.workspaces import selectors, services
from jobline.workspaces import sign_up as sign_up_services
from jobline.workspaces.forms import (
    GeneralSettingsForm,
    InviteMemberForm,
    MemberRoleForm,
    ModulesForm,
    PaymentSettingsForm,
    PortalSettingsForm,
    SignUpForm,
    SwitchWorkspaceForm,
    WorkspaceCreateForm,
    initial_from,
)
from jobline.workspaces.middleware import SESSION_KEY
from jobline.workspaces.models import Membership, Role
from jobline.workspaces.permissions import admin_required, full_session_required

# Pages that show a form take GET and POST; any other method is answered 405.
form_methods = require_http_methods(["GET", "HEAD", "POST"])
read_methods = require_http_methods(["GET", "HEAD"])

# Where each service's field name differs from the form's.
SIGN_UP_FIELDS = {"name": "workspace_name"}


def _render_form_page(
    request: HttpRequest, template: str, context: dict[str, Any], *, invalid: bool = False
) -> HttpResponse:
    # A form sent back with errors answers 400 so scripts and tests can tell it failed.
    return render(request, template, context, status=400 if invalid else 200)


def _add_errors(form: Any, error: ValidationError, renamed: dict[str, str] | None = None) -> None:
    """A service's errors next to the form's fields (or above the form)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, field_errors in error.message_dict.items():
        field = (renamed or {}).get(field, field)
        form.add_error(field if field in form.fields else None, field_errors)


@form_methods
def sign_up(request: HttpRequest) -> HttpResponse:
    """The same answer for every address: "check your e-mail to finish"."""
    if is_fully_signed_in(request):
        return redirect("dashboard")
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method != "POST" or not form.is_valid():
        return _render_form_page(
            request, "workspaces/signup.html", {"form": form}, invalid=request.method == "POST"
        )
    data = form.cleaned_data
    try:
        sign_up_services.sign_up_request(
            email=data["email"],
            full_name=data["full_name"],
            password=data["password1"],
            workspace_name=data["workspace_name"],
            time_zone=data["time_zone"],
            currency=data["currency"],
            ip_address=client_ip(request),
            build_confirm_url=lambda token: request.build_absolute_uri(
                reverse("workspaces:signup_confirm", args=[token])
            ),
            sign_in_url=request.build_absolute_uri(reverse("accounts:login")),
            password_reset_url=request.build_absolute_uri(reverse("accounts:password_reset")),
        )
    except LinkThrottled as throttled:
        form.add_error(None, throttled.message)
        response = render(request, "workspaces/signup.html", {"form": form}, status=429)
        response["Retry-After"] = str(throttled.retry_after_seconds)
        return response
    except MailNotSent as not_sent:
        form.add_error(None, not_sent)
        return render(request, "workspaces/signup.html", {"form": form}, status=503)
    except ValidationError as error:
        _add_errors(form, error, SIGN_UP_FIELDS)
        return render(request, "workspaces/signup.html", {"form": form}, status=400)
    context = {
        "email": data["email"],
        "business": data["workspace_name"],
        "hours": settings.SIGNUP_LINK_VALID_HOURS,
    }
    return render(request, "workspaces/signup_sent.html", context)


@form_methods
def sign_up_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the sign-up e-mail. A GET only shows a button (mail scanners open links);
    the POST creates the business (and the account, for a new address) and signs in."""
    pending = account_selectors.pending_sign_up(token=token)
    if pending is None:
        return render(request, "workspaces/signup_unusable.html", status=410)
    if request.method != "POST":
        return render(request, "workspaces/signup_confirm.html", {"sign_up": pending})
    try:
        user, workspace = sign_up_services.sign_up_confirm(token=token)
    except LinkUnusable:
        return render(request, "workspaces/signup_unusable.html", status=410)
    except ValidationError as error:
        return render(
            request,
            "workspaces/signup_confirm.html",
            {"sign_up": pending, "errors": error.messages},
            status=400,
        )
    sign_in_full(request, user)
    request.session[SESSION_KEY] = workspace.pk
    messages.success(request, f"Welcome to Jobline, {user.get_short_name()}.")
    return redirect("dashboard")


@form_methods
@full_session_required
def workspace_create(request: HttpRequest) -> HttpResponse:
    """A signed-in person starts another business, their first after leaving one, or their own
    next to being some business's customer."""
    form = WorkspaceCreateForm(
        request.POST if request.method == "POST" else None,
        initial={"time_zone": "Europe/London", "currency": "GBP", "locale": "en-GB"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            workspace = services.workspace_create(owner=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            request.session[SESSION_KEY] = workspace.pk
            messages.success(request, f"{workspace.name} is ready.")
            return redirect("dashboard")
    return _render_form_page(
        request,
        "workspaces/workspace_create.html",
        {"form": form},
        invalid=request.method == "POST",
    )


@require_POST
@full_session_required
def workspace_switch(request: HttpRequest) -> HttpResponse:
    form = SwitchWorkspaceForm(request.POST)
    if not form.is_valid():
        # The switcher only posts the ids it lists: anything else names no workspace of yours.
        raise Http404("No such workspace.")
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
            _add_errors(form, error)
        else:
            messages.success(request, saved_message if entries else "Nothing changed.")
            return redirect(request.path)
    return _render_form_page(request, template, {"form": form}, invalid=request.method == "POST")


@form_methods
@admin_required
def settings_general(request: HttpRequest) -> HttpResponse:
    return _settings_form_view(
        request,
        form_class=GeneralSettingsForm,
        template="workspaces/settings_general.html",
        saved_message="General settings saved.",
    )


@form_methods
@admin_required
def settings_modules(request: HttpRequest) -> HttpResponse:
    return _settings_form_view(
        request,
        form_class=ModulesForm,
        template="workspaces/settings_modules.html",
        saved_message="Modules saved.",
    )


@form_methods
@admin_required
def settings_payments(request: HttpRequest) -> HttpResponse:
    return _settings_form_view(
        request,
        form_class=PaymentSettingsForm,
        template="workspaces/settings_payments.html",
        saved_message="Payment settings saved.",
    )


@form_methods
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


@read_methods
@admin_required
def settings_members(request: HttpRequest) -> HttpResponse:
    return _members_page(request, InviteMemberForm())


@require_POST
@admin_required
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
        except MailNotSent as not_sent:
            form.add_error(None, not_sent)
            return _members_page(request, form, status=503)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("workspaces:settings_members")
    return _members_page(request, form, status=400)


@require_POST
@admin_required
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


@require_POST
@admin_required
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


@require_POST
@admin_required
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = selectors.get_pending_invitation(
        workspace=request.workspace, invitation_id=invitation_id
    )
    services.invitation_revoke(invitation=invitation, actor=request.user)
    messages.success(request, f"Invitation for {invitation.email} withdrawn.")
    return redirect("workspaces:settings_members")


@read_methods
@admin_required
def settings_audit_log(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.audit_log(workspace=request.workspace), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "workspaces/settings_audit.html", {"page": page})


@form_methods
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the invitation e-mail. Signed-in people accept with a button; new people
    create their account here, and so do people whose account has no password yet (made when
    a business invited the address to its portal): the link proves the address."""
    try:
        invitation = services.invitation_for_token(token=token)
    except services.InvitationUnusable as error:
        return _invitation_unusable(request, error)

    if is_fully_signed_in(request):
        if request.method == "POST":
            try:
                membership = services.invitation_accept(token=token, user=request.user)
            except services.InvitationUnusable as error:
                messages.error(request, str(error))
                return redirect("dashboard")
            return _joined(request, membership)
        return render(request, "workspaces/invitation_accept.html", {"invitation": invitation})

    existing = account_selectors.user_by_email(email=invitation.email)
    if existing is not None and existing.has_usable_password():
        messages.info(request, f"Sign in as {invitation.email} to accept the invitation.")
        return redirect(f"{reverse('accounts:login')}?next={request.path}")

    form = InvitedSignUpForm(
        request.POST if request.method == "POST" else None,
        email=invitation.email,
        initial={"full_name": existing.full_name if existing is not None else ""},
    )
    if request.method == "POST" and form.is_valid():
        try:
            user, membership = services.invitation_sign_up(
                token=token,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
            )
        except services.InvitationUnusable as error:
            return _invitation_unusable(request, error)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            sign_in_full(request, user)
            return _joined(request, membership)
    return _render_form_page(
        request,
        "workspaces/invitation_signup.html",
        {"invitation": invitation, "form": form, "existing": existing},
        invalid=request.method == "POST",
    )


def _invitation_unusable(request: HttpRequest, error: Exception) -> HttpResponse:
    return render(
        request, "workspaces/invitation_unusable.html", {"reason": str(error)}, status=404
    )


def _joined(request: HttpRequest, membership: Membership) -> HttpResponse:
    request.session[SESSION_KEY] = membership.workspace_id
    messages.success(request, f"Welcome to {membership.workspace.name}.")
    return redirect("dashboard")
