"""Resolves the current workspace for every request from the signed-in person's membership."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from jobline.workspaces import selectors

SESSION_KEY = "current_workspace_id"


class CurrentWorkspaceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        request.workspace = None  # type: ignore[attr-defined]
        if request.user.is_authenticated:
            # Links in e-mails name their workspace (?workspace=<id>), so a person in several
            # workspaces lands in the right one; anything else keeps the session's choice.
            requested = request.GET.get("workspace", "")
            preferred = int(requested) if requested.isdigit() else request.session.get(SESSION_KEY)
            membership = selectors.current_membership(
                user=request.user, preferred_workspace_id=preferred
            )
            if membership is not None:
                request.membership = membership  # type: ignore[attr-defined]
                request.workspace = membership.workspace  # type: ignore[attr-defined]
                if request.session.get(SESSION_KEY) != membership.workspace_id:
                    request.session[SESSION_KEY] = membership.workspace_id
        return self.get_response(request)
