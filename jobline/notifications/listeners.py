"""What the notifications app does with every new feed entry (registered with jobs.hooks in
NotificationsConfig.ready), inside the change's transaction."""

from __future__ import annotations

from jobline.jobs.choices import ActorKind
from jobline.jobs.models import Activity
from jobline.notifications import emails, services


def on_activity_logged(activity: Activity) -> None:
    """A customer's own action alerts the job's staff; a change staff made that the customer
    may see goes to the customer's digest."""
    if activity.actor_kind == ActorKind.CUSTOMER:
        services.alert_staff(activity)
    else:
        emails.customer_update_queue(activity)
