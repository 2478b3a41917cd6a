"""Two kinds of session: full (password, staff sign-in link, sign-up or invitation link) and
portal-only (a customer-portal sign-in link).

Any business can make an address one of its portal customers and have a portal link sent to
it, so a portal link must never open more than the portal: not a staff page, not the admin,
not a workspace. The kind is the authentication backend Django stores in the session, so a
later password sign-in (always the first, full backend) turns the session into a full one by itself.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, login
from django.http import HttpRequest

from jobline.accounts.models import User

# The first backend checks passwords and gives full sessions (settings.py); naming it from the
# settings keeps this layer from knowing the workspaces' backend.
FULL_BACKEND = settings.AUTHENTICATION_BACKENDS[0]
PORTAL_BACKEND = "jobline.accounts.backends.PortalLinkBackend"


def is_portal_only(request: HttpRequest) -> bool:
    return bool(
        request.user.is_authenticated and request.session.get(BACKEND_SESSION_KEY) == PORTAL_BACKEND
    )


def is_fully_signed_in(request: HttpRequest) -> bool:
    return bool(request.user.is_authenticated and not is_portal_only(request))


def sign_in_full(request: HttpRequest, user: User) -> None:
    login(request, user, backend=FULL_BACKEND)


def sign_in_portal(request: HttpRequest, user: User) -> None:
    """A portal link's sign-in. Someone already fully signed in as the same person stays so:
    following a link from an e-mail must not take their staff pages away."""
    if is_fully_signed_in(request) and request.user.pk == user.pk:
        return
    login(request, user, backend=PORTAL_BACKEND)
