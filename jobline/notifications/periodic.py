"""The notifications app's periodic jobs (core/schedule.py): the outbox's safety net, and the
Admins' alert when the background worker has stopped."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from jobline.core.background import last_seen
from jobline.core.models import ProcessKind
from jobline.core.schedule import periodic
from jobline.notifications import emails, services
from jobline.notifications.delivery import deliver_due


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
    seen = last_seen(ProcessKind.WORKER)
    if seen is not None and timezone.now() - seen < dt.timedelta(
        seconds=settings.JOBLINE_BACKGROUND_ALERT_SECONDS
    ):
        return "worker alive"
    told = services.tell_admins_worker_stopped(last_seen=seen)
    return f"worker silent since {seen or 'ever'}; {told} Admin(s) told"


@periodic(
    "send_visit_reminders",
    every=dt.timedelta(minutes=5),
    description="E-mails customers a reminder of each visit on their job, hours before it "
    "(Settings → Modules); once per visit and start time.",
)
def send_visit_reminders() -> str:
    return f"{emails.visit_reminders_queue()} reminder(s) queued"


@periodic(
    "send_invoice_reminders",
    every=dt.timedelta(hours=1),
    description="E-mails customers a reminder of each unpaid invoice the days after it fell "
    "due that Settings → Payments names (3 and 10 by default); once each.",
)
def send_invoice_reminders() -> str:
    return f"{emails.invoice_reminders_queue()} reminder(s) queued"
