"""The bell's unread count on every staff page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from jobline.notifications.services import unread_count


def bell(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    # Lazy: pages without the bell (the portal, partials) do not count.
    return {
        "unread_notifications": SimpleLazyObject(
            lambda: unread_count(user=request.user, workspace_id=membership.workspace_id)
        )
    }
