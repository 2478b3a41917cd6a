"""Loading who is signed in, and where they work, in one query.

Django's ModelBackend reads the user on every request; the workspace middleware then read the
person's membership, and the workspace switcher all their memberships: three queries before a
page did anything. MemberBackend reads the active memberships with their user and workspace
at once (the user comes along joined), and hands them on as ``user.active_memberships`` for
the middleware and the switcher. A person with no membership (a portal customer, someone who
has not created a business yet) is read the ordinary way.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from jobline.core.prepared import PreparedQuery
from jobline.workspaces.models import Membership

# Every signed-in page asks this first: its SQL is compiled once (core/prepared.py).
_ACTIVE_MEMBERSHIPS = PreparedQuery(
    lambda user_id: (
        Membership.objects.active()
        .filter(user_id=user_id)
        .select_related("user", "workspace")
        .order_by("workspace__name", "workspace_id")
    ),
    name="active memberships",
)


class MemberBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and username is not None and password is not None:
            # Checked here and refused: Django would ask the next backend, ModelBackend
            # (listed only for sessions signed in before this one existed), to check the
            # same password again — twice the hashing for every wrong password.
            raise PermissionDenied
        return user

    def get_user(self, user_id: Any) -> Any:
        # An id the session could not have been given (a tampered store): nobody.
        if not isinstance(user_id, int) or not 0 < user_id < 2**62:
            return None
        memberships = _ACTIVE_MEMBERSHIPS.list(user_id=user_id)
        if not memberships:
            # Nobody's member (a portal customer, someone without a business yet): read the
            # ordinary way, and say so, so the middleware does not ask again.
            alone = super().get_user(user_id)
            if alone is not None:
                alone.active_memberships = []
            return alone
        user = memberships[0].user
        for membership in memberships:
            membership.user = user  # one object: the request's user
        user.active_memberships = memberships
        return user if self.user_can_authenticate(user) else None
