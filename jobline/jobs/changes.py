"""The three steps every change to a job is made of, inside its service's transaction:

1. ``job_lock``: lock the job's row and refuse a stale page (the version it was opened at);
2. the change itself, with ``log`` writing its feed entry (and telling hooks.py's handlers);
3. ``job_touch``: bump the version and the last-activity time, with the changed columns.

Services (services.py, uploads.py, requests.py and the layers above) use these; nothing else
writes a job's state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

from jobline.accounts.models import User
from jobline.jobs import activity, hooks
from jobline.jobs.choices import STAGE_ENTRY_KINDS, ActorKind, Visibility
from jobline.jobs.models import Activity, Attachment, Job, Message
from jobline.pipelines.models import Stage


class StaleJob(Exception):
    """The job changed since the page was opened; the change was not made."""

    message = "This job changed since you opened it. Here is its current state; try again."


# Related objects a caller may already hold; handed on to the locked row when unchanged.
SHARED_RELATIONS = ("stage", "customer_stage", "customer", "owner", "pipeline", "workspace")


def job_lock(*, job: Job, expected_version: int | None) -> Job:
    """The job's row, locked until the transaction ends, as it is now. Raises StaleJob when
    ``expected_version`` (the version the page was opened at) is not the current one.

    The returned row is the one to change and to hand back to the caller; ``job`` is not
    changed."""
    # No select_related here: PostgreSQL re-checks a row locked after a wait against the
    # joined rows it read before the wait, so a job whose stage was changed concurrently
    # would vanish from the query (tests/jobs/test_concurrency.py caught exactly that).
    locked = Job.objects.select_for_update().get(pk=job.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleJob()
    # Instead, the stages, customer and owner the caller already read are handed on when the
    # locked row still points at the same ones (a move otherwise reads them all again).
    for name in SHARED_RELATIONS:
        field = Job._meta.get_field(name)
        if field.is_cached(job) and getattr(locked, field.attname) == getattr(job, field.attname):
            field.set_cached_value(locked, field.get_cached_value(job))
    return locked


def job_touch(job: Job, *, at: dt.datetime, fields: Iterable[str] = ()) -> None:
    """Record a change to a locked job: a new version, the activity time, the changed fields."""
    job.version += 1
    job.last_activity_at = at
    job.save(update_fields=["version", "last_activity_at", *fields])


def log(
    *,
    job: Job,
    payload: activity.Payload,
    actor: User | None,
    visibility: Visibility = Visibility.INTERNAL,
    actor_kind: ActorKind | str | None = None,
    message: Message | None = None,
    attachment: Attachment | None = None,
    stage: Stage | None = None,
    at: dt.datetime | None = None,
) -> Activity:
    """The one way feed entries are written: the payload's kind and typed data, in the
    caller's transaction. Every handler of hooks.py hears of it in the same transaction."""
    entry = Activity.objects.create(
        workspace_id=job.workspace_id,
        job=job,
        kind=payload.KIND,
        actor=actor,
        actor_kind=actor_kind or (ActorKind.STAFF if actor else ActorKind.SYSTEM),
        visibility=visibility,
        data=payload.to_data(),
        message=message,
        attachment=attachment,
        stage=stage if payload.KIND in STAGE_ENTRY_KINDS else None,
        created_at=at or timezone.now(),
    )
    entry.payload = payload  # already typed: readers need not parse it again
    hooks.activity_logged(entry)
    return entry
