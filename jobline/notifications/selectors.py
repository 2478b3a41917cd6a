"""Reading the e-mail outbox, scoped to a workspace (admins' delivery page)."""

from __future__ import annotations

from django.db.models import QuerySet

from jobline.notifications.models import EmailStatus, OutgoingEmail
from jobline.workspaces.models import Workspace

PROBLEM_STATUSES = (EmailStatus.RETRYING, EmailStatus.FAILED)


def outgoing_emails(
    *, workspace: Workspace, problems_only: bool = False
) -> QuerySet[OutgoingEmail]:
    emails = OutgoingEmail.objects.filter(workspace=workspace)
    if problems_only:
        emails = emails.filter(status__in=PROBLEM_STATUSES)
    return emails.select_related("job").order_by("-created_at", "-id")


def problem_count(*, workspace: Workspace) -> int:
    return OutgoingEmail.objects.filter(workspace=workspace, status__in=PROBLEM_STATUSES).count()
