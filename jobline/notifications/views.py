"""The notification bell and list."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from jobline.notifications import services
from jobline.workspaces.permissions import member_required


@member_required
def bell(request: HttpRequest) -> HttpResponse:
    """The bell alone, for htmx polling: new notifications appear without a reload."""
    count = services.unread_count(user=request.user, workspace_id=request.workspace.pk)
    return render(request, "notifications/_bell.html", {"unread_notifications": count})


@member_required
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(
        services.inbox(user=request.user, workspace_id=request.workspace.pk), 30
    ).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page})


@member_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    services.mark_all_read(user=request.user, workspace_id=request.workspace.pk)
    return redirect("notifications:list")
