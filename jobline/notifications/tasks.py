"""Background tasks of notifications (run by `manage.py db_worker`)."""

from __future__ import annotations

from django_tasks import task

from jobline.notifications import delivery


@task()
def deliver_email(email_id: int) -> str:
    """Send one outbox e-mail when it is due; failures are retried by ``delivery``."""
    return delivery.deliver(email_id)
