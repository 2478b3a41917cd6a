"""Staff notifications (the bell) and the admins' actions on the e-mail outbox."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from jobline.accounts.models import User
from jobline.core.backups import Manifest
from jobline.core.prepared import PreparedQuery
from jobline.core.transactions import service
from jobline.jobs import activity as payloads
from jobline.jobs.choices import ActorKind
from jobline.jobs.models import Activity, Job, JobFollower
from jobline.notifications import emails
from jobline.notifications.models import EmailKind, EmailStatus, Notification, OutgoingEmail
from jobline.quotes import selectors as quote_selectors
from jobline.quotes.models import Quote
from jobline.workspaces.models import Membership, Role, Workspace
from jobline.workspaces.services import audit_record

REPLY_QUOTE_CHARS = 80


def alert_staff(activity: Activity) -> list[Notification]:
    """Tell the job's owner and the staff who follow it what the customer did: a bell
    notification and an e-mail each, in the same transaction as the change. One action of the
    customer (a reply with files; a document sent into a request) is one notification: entries
    written at the same instant share it. Nobody is told of their own actions, and a removed
    member is told nothing."""
    job = activity.job
    wanted = set(JobFollower.objects.filter(job=job).values_list("user_id", flat=True))
    if job.owner_id is not None:
        wanted.add(job.owner_id)
    if activity.actor_id is not None:
        wanted.discard(activity.actor_id)
    if not wanted:
        return []
    recipients = User.objects.filter(
        pk__in=Membership.objects.active()
        .filter(workspace_id=job.workspace_id, user_id__in=wanted)
        .values("user_id"),
        is_active=True,
    ).order_by("id")
    at = activity.created_at
    text = alert_text(job, at)
    notifications = []
    for recipient in recipients:
        notification, _created = Notification.objects.update_or_create(
            recipient=recipient,
            job=job,
            created_at=at,
            defaults={"text": text[:255], "workspace_id": job.workspace_id},
        )
        notifications.append(notification)
        emails.staff_alert_queue(job=job, recipient=recipient, text=text, at=at)
    return notifications


def alert_text(job: Job, at: dt.datetime) -> str:
    """What the customer did on the job at that instant, in one line for staff."""
    name = job.customer.name if job.customer else "The customer"
    entries = (
        Activity.objects.filter(job=job, created_at=at, actor_kind=ActorKind.CUSTOMER)
        .select_related("message")
        .order_by("id")
    )
    parts = []
    files = 0
    for entry in entries:
        payload = entry.payload
        if isinstance(payload, payloads.Reply) and entry.message is not None:
            body = " ".join(entry.message.body.split())
            parts.append(f"replied: “{body[:REPLY_QUOTE_CHARS]}”")
        elif isinstance(payload, payloads.RequestFulfilled):
            parts.append(f"sent “{payload.title}”")
            files -= payload.files  # the request's own files are not news of their own
        elif isinstance(payload, payloads.FormSaved):
            labels = ", ".join(change.label for change in payload.changes)
            parts.append(f"filled in {labels}")
        elif isinstance(payload, payloads.FileAdded):
            files += 1
        elif isinstance(payload, payloads.Approved):
            parts.append(f"approved {payload.label}")
        elif isinstance(payload, payloads.ChangesRequested):
            parts.append(f"asked for changes to {payload.label}: “{payload.reason[:80]}”")
    if files > 0:
        parts.append(f"uploaded {files} file{'s' if files != 1 else ''}")
    return f"{name} {'; '.join(parts) or 'did something'}"


# The bell's count, on every staff page: its SQL compiled once (core/prepared.py).
_UNREAD = PreparedQuery(
    lambda user_id, workspace_id: Notification.objects.filter(
        recipient_id=user_id, read_at__isnull=True, workspace_id=workspace_id
    ),
    name="unread notifications",
)


def unread_count(*, user: User, workspace_id: int) -> int:
    return _UNREAD.count(user_id=user.pk, workspace_id=workspace_id)


def inbox(*, user: User, workspace_id: int) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(recipient=user, workspace_id=workspace_id)
        .select_related("job")
        .order_by("-created_at", "-id")
    )


@service
def mark_all_read(*, user: User, workspace_id: int) -> int:
    return Notification.objects.filter(
        recipient=user, read_at__isnull=True, workspace_id=workspace_id
    ).update(read_at=timezone.now())


@service
def email_send_again(*, email: OutgoingEmail, actor: User) -> OutgoingEmail:
    """An admin's "Send again" for a failed e-mail: a fresh round of attempts, now; audited."""
    locked = (
        OutgoingEmail.objects.select_for_update(of=("self",))
        .select_related("job", "quote")
        .get(pk=email.pk)
    )
    old = locked.status
    emails.send_again(locked)
    if locked.status != old:
        audit_record(
            workspace=locked.workspace, actor=actor, action="email.sent_again",
            target=f"{locked.about} → {locked.to_address}", old=old, new=locked.status,
        )  # fmt: skip
    return locked


def held_note(manifest: Manifest) -> str:
    return (
        f"Held: this copy was restored from a backup of {manifest.created_at.day} "
        f"{manifest.created_at:%b %Y %H:%M} UTC, and the original may have sent it after that. "
        "Send it only if it did not go out."
    )


def hold_outbox_after_restore(manifest: Manifest) -> str:
    """A restored copy sends nothing by itself: every e-mail still waiting at the backup is
    held until an Admin releases it (core/backups.py runs this after a restore)."""
    held = OutgoingEmail.objects.filter(
        status__in=(EmailStatus.WAITING, EmailStatus.RETRYING, EmailStatus.SENDING)
    ).update(status=EmailStatus.HELD, last_error=held_note(manifest), claimed_at=None)
    return f"{held} e-mail(s) that were waiting are held until an Admin releases them."


@service
def email_release_held(*, workspace: Workspace, actor: User) -> int:
    """An Admin's "Send the held e-mails" after a restore: each goes out now; audited."""
    held = list(
        OutgoingEmail.objects.select_for_update()
        .filter(workspace=workspace, status=EmailStatus.HELD)
        .order_by("id")
    )
    for email in held:
        emails.send_again(email)
    if held:
        audit_record(
            workspace=workspace, actor=actor, action="email.released",
            target=f"{len(held)} held e-mail(s)", old=EmailStatus.HELD, new=EmailStatus.RETRYING,
        )  # fmt: skip
    return len(held)


WORKER_STOPPED = "The background worker has stopped: e-mails are not going out"


@service
def tell_admins_worker_stopped(*, last_seen: dt.datetime | None) -> int:
    """A bell notification for every Admin of every workspace that no worker has been seen
    (the scheduler's watch_worker job), once per outage: an alert written after the worker
    was last seen belongs to this outage. Returns how many were told."""
    local = timezone.localtime(last_seen) if last_seen else None
    since = f"since {local.day} {local:%b %H:%M}" if local else "ever"
    text = f"{WORKER_STOPPED} (not seen {since}; Settings → E-mail delivery)"
    told = 0
    for admin in Membership.objects.active().filter(role=Role.ADMIN, user__is_active=True):
        already = Notification.objects.filter(
            recipient_id=admin.user_id,
            workspace_id=admin.workspace_id,
            job__isnull=True,
            text__startswith=WORKER_STOPPED,
        )
        if last_seen is not None:
            already = already.filter(created_at__gt=last_seen)
        if already.exists():
            continue
        Notification.objects.create(
            recipient_id=admin.user_id, workspace_id=admin.workspace_id, text=text[:255]
        )
        told += 1
    return told


def tell_owner_of_decision(*, quote: Quote, kind: str) -> None:
    """The quote's owner and followers hear of the customer's acceptance or decline: a bell
    line to the quote's page and an e-mail each (inside the decision's transaction). Who
    hears is the quotes app's rule (selectors.told_of_decision)."""
    verb = "accepted" if kind == "accepted" else "declined"
    text = f"{quote.reference} {quote.title}: {verb} by {quote.customer.name}"[:255]
    link = reverse("quotes:detail", args=[quote.pk])
    for person in quote_selectors.told_of_decision(quote):
        Notification.objects.create(
            recipient=person, workspace_id=quote.workspace_id, text=text, link=link
        )
        emails.quote_queue(quote=quote, kind=EmailKind.QUOTE_DECIDED, recipient=person,
                           to_address=person.email, lines=[text])  # fmt: skip


def tell_owner_follow_up_due(activity: Activity) -> Notification | None:
    """A follow-up fell due: the job's owner hears it (bell and e-mail), to book it. No owner,
    or one who left: nobody (the dashboard lists it for whoever owns the job later)."""
    job = activity.job
    owner = job.owner
    if (
        owner is None
        or not owner.is_active
        or not Membership.objects.active()
        .filter(workspace_id=job.workspace_id, user=owner)
        .exists()
    ):
        return None
    label = getattr(activity.payload, "label", "A follow-up")
    text = f"{job.reference} {job.title}: the {label} is due — book it"[:255]
    notification = Notification.objects.create(
        recipient=owner, workspace_id=job.workspace_id, job=job, text=text,
        created_at=activity.created_at,
    )  # fmt: skip
    emails.staff_alert_queue(job=job, recipient=owner, text=text, at=activity.created_at)
    return notification
