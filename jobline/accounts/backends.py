"""The authentication backend that marks a portal-only session."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from jobline.accounts.models import User


class PortalLinkBackend(ModelBackend):
    """A session opened by a customer-portal sign-in link is stored under this backend, which
    is how every later request knows the session is for the portal only (see sessions.py).

    It loads the user like ModelBackend, but never checks a password itself: signing in with
    a password always goes through ModelBackend and so always gives a full session.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        return None
