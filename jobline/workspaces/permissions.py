"""View decorators: signed in, a member of the current workspace, the right role, the module on."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from jobline.accounts.sessions import is_portal_only
from jobline.workspaces import selectors
from jobline.workspaces.models import Module, Role
from jobline.workspaces.viewers import request_viewer, sees_money

View = Callable[..., HttpResponse]


def full_session_required(view: View) -> View:
    """Signed in with a password, a staff link, or a sign-up or invitation link. A session
    opened by a customer-portal link goes to the staff sign-in page, which says why."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated or is_portal_only(request):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped


def member_required(view: View) -> View:
    """Signed in and working in a workspace; people without one are sent to create one."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(request, "membership", None) is None:
            if is_portal_only(request):
                # A portal link never opens staff pages. Staff who came in by one are asked
                # for their password; customers go back to their jobs.
                if selectors.memberships_of(user=request.user).exists():
                    return redirect_to_login(request.get_full_path())
                return redirect("portal:jobs")
            # A customer's sign-in never reaches a staff page: it goes to their portal.
            if request.user.customer_profiles.exists():
                return redirect("portal:jobs")
            return redirect("workspaces:create")
        return view(request, *args, **kwargs)

    return wrapped


def role_required(*roles: Role) -> Callable[[View], View]:
    """Members whose role is not listed get 403: they know the workspace, just not this page."""

    def decorator(view: View) -> View:
        @member_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.membership.role not in roles:  # type: ignore[attr-defined]
                raise PermissionDenied("Your role does not allow this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


admin_required = role_required(Role.ADMIN)


def money_required(view: View) -> View:
    """Pages that are money through and through (quotes): the roles the money rule lets see
    amounts (sees_money); other members get 403 (they know the workspace, not its prices)."""

    @member_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not sees_money(request_viewer(request)):
            raise PermissionDenied("This page shows amounts, which your role does not see.")
        return view(request, *args, **kwargs)

    return wrapped


def module_required(module: Module) -> Callable[[View], View]:
    """A switched-off module's pages do not exist (404) for anyone; its data stays untouched."""

    def decorator(view: View) -> View:
        @member_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.workspace.module_enabled(module):  # type: ignore[attr-defined]
                raise Http404("This module is switched off.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
