"""Writing and reading staff notifications."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from jobline.accounts.models import User
from jobline.jobs.models import Job
from jobline.notifications.emails import staff_alert_queue
from jobline.notifications.models import JobFollower, Notification
from jobline.workspaces.models import Membership


def notify_job_staff(*, job: Job, text: str, actor: User | None) -> list[Notification]:
    """Tell the job's owner and the staff who follow it what the customer did: a bell
    notification and an e-mail each, in the same transaction as the change. Nobody is told
    about their own actions, and a removed member is told nothing."""
    wanted = set(JobFollower.objects.filter(job=job).values_list("user_id", flat=True))
    if job.owner_id is not None:
        wanted.add(job.owner_id)
    if actor is not None:
        wanted.discard(actor.pk)
    if not wanted:
        return []
    recipients = User.objects.filter(
        pk__in=Membership.objects.active()
        .filter(workspace_id=job.workspace_id, user_id__in=wanted)
        .values("user_id"),
        is_active=True,
    ).order_by("id")
    notifications = []
    for recipient in recipients:
        notifications.append(
            Notification.objects.create(recipient=recipient, job=job, text=text[:255])
        )
        staff_alert_queue(job=job, recipient=recipient, text=text)
    return notifications


def is_following(*, job: Job, user: User) -> bool:
    return JobFollower.objects.filter(job=job, user=user).exists()


def follow(*, job: Job, user: User) -> None:
    """Follow a job: hear (bell and e-mail) what its customer does, as its owner does."""
    JobFollower.objects.get_or_create(job=job, user=user)


def unfollow(*, job: Job, user: User) -> None:
    JobFollower.objects.filter(job=job, user=user).delete()


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
