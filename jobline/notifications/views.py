"""The notification bell and list."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from jobline.notifications import selectors, services
from jobline.workspaces.permissions import admin_required, member_required


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


@admin_required
def email_delivery(request: HttpRequest) -> HttpResponse:
    """Admins see what e-mail went out, what waits, what is retrying and what failed."""
    problems_only = request.GET.get("show") == "problems"
    page = Paginator(
        selectors.outgoing_emails(workspace=request.workspace, problems_only=problems_only), 50
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/email_delivery.html",
        {
            "page": page,
            "problems_only": problems_only,
            "problem_count": selectors.problem_count(workspace=request.workspace),
            "digest_minutes": settings.JOBLINE_EMAIL_DIGEST_SECONDS // 60,
            "processes": selectors.background_processes(),
            "held": selectors.held_emails(workspace=request.workspace),
        },
    )


@admin_required
@require_POST
def email_send_again(request: HttpRequest, email_id: int) -> HttpResponse:
    email = selectors.outgoing_emails(workspace=request.workspace).filter(pk=email_id).first()
    if email is None:
        raise Http404("No such e-mail.")
    if email.can_be_sent_again:
        services.email_send_again(email=email, actor=request.user)
        messages.success(request, f"The e-mail to {email.to_address} will be sent again now.")
    return redirect("notifications:email_delivery")


@admin_required
@require_POST
def email_release_held(request: HttpRequest) -> HttpResponse:
    released = services.email_release_held(workspace=request.workspace, actor=request.user)
    if released:
        messages.success(request, f"{released} held e-mail{'s' if released != 1 else ''} sent now.")
    return redirect("notifications:email_delivery")
