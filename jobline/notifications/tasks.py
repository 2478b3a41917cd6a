"""Background tasks of notifications (run by `manage.py run_worker`)."""

from __future__ import annotations

import datetime as dt
import logging

from django_tasks import task

from jobline.notifications import delivery

logger = logging.getLogger(__name__)


@task()
def deliver_email(email_id: int) -> str:
    """Send one outbox e-mail when it is due. A failed send is tried again later: the
    delivery sets its next time, and this task queues itself for it."""
    outcome = delivery.deliver(email_id)
    if outcome.retry_at is not None:
        enqueue_delivery(email_id, outcome.retry_at)
    return outcome.status


def enqueue_delivery(email_id: int, when: dt.datetime) -> None:
    """Queue the delivery of an outbox e-mail for ``when`` (after the change committed)."""
    try:
        deliver_email.using(run_after=when).enqueue(email_id)
    except Exception:  # the outbox row stays; the scheduler's send_due_emails picks it up
        logger.exception("Could not enqueue the delivery of e-mail %s", email_id)
