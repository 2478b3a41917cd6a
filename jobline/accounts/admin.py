"""The admin for accounts, and the admin site's sign-in.

Django's admin is mounted only when JOBLINE_ADMIN is on (jobline/urls.py). Its own login form
would check passwords outside the failure throttle, so the admin never gets one: its login
page sends people to the staff sign-in page and back. A portal-only session never opens it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from jobline.accounts.models import SignInLink, User
from jobline.accounts.sessions import is_fully_signed_in


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "date_joined"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password", "full_name"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["email", "full_name", "password1", "password2"]}),
    ]


@admin.register(SignInLink)
class SignInLinkAdmin(admin.ModelAdmin):
    """Read-only: links are made by the sign-in pages, and only their hashes are stored."""

    list_display = ["email", "scope", "created_at", "expires_at", "used_at"]
    list_filter = ["scope"]
    exclude = ["token_hash"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """Replaces AdminSite.login: sign in on the throttled staff sign-in page, then come back."""
    next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("admin:index")
    if is_fully_signed_in(request):
        # Signed in, and still sent here: the account is not an operator's.
        raise PermissionDenied("This account cannot use the admin site.")
    return redirect_to_login(next_url, login_url=reverse("accounts:login"))


def _has_permission(request: HttpRequest) -> bool:
    return is_fully_signed_in(request) and request.user.is_active and request.user.is_staff


# Set on the default site itself (the way django-allauth secures it), so every model admin
# registered on it, from every app, goes through the same checks.
admin.site.login = admin_login  # type: ignore[method-assign]
admin.site.has_permission = _has_permission  # type: ignore[method-assign]
