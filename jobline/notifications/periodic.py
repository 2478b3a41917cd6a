"""The notifications app's periodic jobs (core/schedule.py): the outbox's safety net, and the
Admins' alert when the background worker has stopped."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from jobline.core.background import last_seen
from jobline.core.models import ProcessKind
from jobline.core.schedule import periodic
from jobline.notifications.delivery import deliver_due
from jobline.notifications.models import Notification
from jobline.workspaces.models import Membership, Role

WORKER_STOPPED = "The background worker has stopped: e-mails are not going out"


@periodic(
    "send_due_emails",
    every=dt.timedelta(minutes=2),
    description="Sends outbox e-mails whose delivery task was lost; settles abandoned sends.",
)
def send_due_emails() -> str:
    outcome = deliver_due()
    return ", ".join(f"{count} {what}" for what, count in sorted(outcome.items())) or "none due"


@periodic(
    "watch_worker",
    every=dt.timedelta(minutes=1),
    description="Tells every Admin (bell) when no worker has been seen for a long while.",
)
def watch_worker() -> str:
    now = timezone.now()
    seen = last_seen(ProcessKind.WORKER)
    if seen is not None and now - seen < dt.timedelta(
        seconds=settings.JOBLINE_BACKGROUND_ALERT_SECONDS
    ):
        return "worker alive"
    since = f"since {timezone.localtime(seen):%d %b %H:%M}" if seen else "ever"
    text = f"{WORKER_STOPPED} (not seen {since}; Settings → E-mail delivery)"
    admins = Membership.objects.active().filter(role=Role.ADMIN, user__is_active=True)
    told = 0
    for admin in admins:
        # Once per outage: an alert written after the worker was last seen is this outage's.
        already = Notification.objects.filter(
            recipient_id=admin.user_id,
            workspace_id=admin.workspace_id,
            job__isnull=True,
            text__startswith=WORKER_STOPPED,
        )
        if seen is not None:
            already = already.filter(created_at__gt=seen)
        if already.exists():
            continue
        Notification.objects.create(
            recipient_id=admin.user_id, workspace_id=admin.workspace_id, text=text[:255]
        )
        told += 1
    return f"worker silent {since}; {told} Admin(s) told"
