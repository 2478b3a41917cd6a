"""Puts the current workspace, the viewer's membership and the switcher list on every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from jobline.workspaces import selectors
from jobline.workspaces.viewers import member_viewer, sees_money


def workspace(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    if membership is None:
        return {
            "workspace": None, "membership": None, "viewer": None, "viewer_sees_money": False,
            "my_memberships": [],
        }  # fmt: skip
    viewer = member_viewer(membership)
    return {
        "workspace": membership.workspace,
        "membership": membership,
        # Who is looking, for the money tag and everything else that asks the rules.
        "viewer": viewer,
        # The money rule's answer, for the menu (Quotes): templates never ask it themselves.
        "viewer_sees_money": sees_money(viewer),
        # Read with the signed-in user (workspaces.auth): no query of its own.
        "my_memberships": selectors.active_memberships(user=request.user),
    }
