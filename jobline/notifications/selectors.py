"""Reading the e-mail outbox, scoped to a workspace (admins' delivery page)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from jobline.accounts.models import User
from jobline.core.background import last_seen, seconds_since
from jobline.core.models import ProcessKind
from jobline.core.prepared import PreparedQuery
from jobline.notifications.models import EmailStatus, Notification, OutgoingEmail
from jobline.workspaces.models import Workspace

PROBLEM_STATUSES = (EmailStatus.RETRYING, EmailStatus.FAILED, EmailStatus.HELD)


def outgoing_emails(
    *, workspace: Workspace, problems_only: bool = False
) -> QuerySet[OutgoingEmail]:
    emails = OutgoingEmail.objects.filter(workspace=workspace)
    if problems_only:
        emails = emails.filter(status__in=PROBLEM_STATUSES)
    return emails.select_related("job", "quote").order_by("-created_at", "-id")


def problem_count(*, workspace: Workspace) -> int:
    return OutgoingEmail.objects.filter(workspace=workspace, status__in=PROBLEM_STATUSES).count()


@dataclass(frozen=True)
class ProcessSeen:
    """A background process kind as the delivery page shows it."""

    name: str
    seconds_ago: int | None  # None: never seen

    @property
    def stale(self) -> bool:
        limit = settings.JOBLINE_BACKGROUND_STALE_SECONDS
        return self.seconds_ago is None or self.seconds_ago > limit


def background_processes() -> list[ProcessSeen]:
    """When the worker (which sends the e-mails) and the scheduler were last alive."""
    return [
        ProcessSeen("Worker", seconds_since(last_seen(ProcessKind.WORKER))),
        ProcessSeen("Scheduler", seconds_since(last_seen(ProcessKind.SCHEDULER))),
    ]


@dataclass(frozen=True)
class Held:
    count: int
    note: str  # why (the first one's note: they were all held by one restore)


def held_emails(*, workspace: Workspace) -> Held:
    """E-mails held after a restore, waiting for an Admin."""
    held = OutgoingEmail.objects.filter(workspace=workspace, status=EmailStatus.HELD)
    first = held.order_by("id").values_list("last_error", flat=True).first()
    return Held(count=held.count(), note=first or "")


def unread_about_jobs(*, user: User, workspace: Workspace, limit: int = 8) -> list[Notification]:
    """The member's unread bell lines about their jobs (what customers did: replies, files,
    forms), newest first."""
    return _UNREAD_ABOUT_JOBS.list(user_id=user.pk, workspace_id=workspace.pk, limit=limit)


# The dashboard's read, compiled once (core/prepared.py).
_UNREAD_ABOUT_JOBS = PreparedQuery(
    lambda user_id, workspace_id, limit: (
        Notification.objects.filter(
            recipient_id=user_id, workspace_id=workspace_id, read_at__isnull=True, job__isnull=False
        )
        .select_related("job")
        .order_by("-created_at", "-pk")[:limit]
    ),
    name="unread about jobs",
    constants=("limit",),
)
