"""Resolves the current workspace for every request from the signed-in person's membership."""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from jobline.accounts.sessions import is_fully_signed_in
from jobline.core.wall_time import zone
from jobline.workspaces import selectors

SESSION_KEY = "current_workspace_id"
# Ids are 64-bit: a longer number names no workspace and must not reach the database (SQLite
# raises OverflowError on it).
MAX_ID = 2**63 - 1


def parse_id(raw: str) -> int | None:
    """A positive 64-bit id, or None for anything else."""
    if not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


class CurrentWorkspaceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        request.workspace = None  # type: ignore[attr-defined]
        # A portal-only session (opened by a customer-portal link) works in no workspace.
        if is_fully_signed_in(request):
            # Links in e-mails name their workspace (?workspace=<id>), so a person in several
            # workspaces lands in the right one; without it the session's choice holds.
            requested = request.GET.get("workspace", "")
            preferred = request.session.get(SESSION_KEY)
            if requested:
                preferred = parse_id(requested)
                if preferred is None:
                    raise Http404("No such workspace.")
            membership = selectors.current_membership(
                user=request.user, preferred_workspace_id=preferred
            )
            if membership is not None:
                request.membership = membership  # type: ignore[attr-defined]
                request.workspace = membership.workspace  # type: ignore[attr-defined]
                if request.session.get(SESSION_KEY) != membership.workspace_id:
                    request.session[SESSION_KEY] = membership.workspace_id
                # Staff pages show every time on the business's clock, not the server's.
                timezone.activate(zone(membership.workspace.time_zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
