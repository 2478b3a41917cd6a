"""Writing and reading staff notifications."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from jobline.accounts.models import User
from jobline.jobs.models import Job
from jobline.notifications.models import Notification
from jobline.workspaces.models import Membership


def notify_job_owner(*, job: Job, text: str, actor: User | None) -> Notification | None:
    """Tell the job's owner what the customer did (in the same transaction as the change).
    Nobody is told about their own actions, and a removed member is told nothing."""
    owner = job.owner
    if owner is None or (actor is not None and owner.pk == actor.pk):
        return None
    if not Membership.objects.active().filter(workspace_id=job.workspace_id, user=owner).exists():
        return None
    return Notification.objects.create(recipient=owner, job=job, text=text[:255])


def unread_count(*, user: User, workspace_id: int) -> int:
    return Notification.objects.filter(
        recipient=user, read_at__isnull=True, job__workspace_id=workspace_id
    ).count()


def inbox(*, user: User, workspace_id: int) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(recipient=user, job__workspace_id=workspace_id)
        .select_related("job")
        .order_by("-created_at", "-id")
    )


def mark_all_read(*, user: User, workspace_id: int) -> int:
    return Notification.objects.filter(
        recipient=user, read_at__isnull=True, job__workspace_id=workspace_id
    ).update(read_at=timezone.now())
