"""Background processes that stay up: heartbeats, a worker that waits out a lost database,
and tasks handed back when the worker that claimed them died.

django-tasks' own ``db_worker`` exits on the first database error and leaves a task it was
running ``RUNNING`` for ever if it is killed. ``manage.py run_worker`` runs the same tasks
through the library's own claim and run steps, and adds:

- a heartbeat row per process (core.models.ProcessHeartbeat), every JOBLINE_HEARTBEAT_SECONDS;
- on a lost database: a log line, a wait that doubles up to a minute, and a reconnect;
- tasks ``RUNNING`` under a worker silent for longer than JOBLINE_TASK_LEASE_SECONDS go back
  to ``READY`` and run again. Tasks must therefore be safe to run twice; the e-mail delivery
  is (notifications/delivery.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django.db.models import Max
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from jobline.core.models import ProcessHeartbeat, ProcessKind

logger = logging.getLogger("jobline.background")

# What a lost or restarting database raises (OperationalError and InterfaceError are both
# DatabaseErrors); anything else is a bug and stops the process for its supervisor to see.
DATABASE_DOWN = (DatabaseError,)


def beat(process_id: str, kind: ProcessKind) -> None:
    """Record that this process is alive now."""
    now = timezone.now()
    updated = ProcessHeartbeat.objects.filter(process_id=process_id).update(last_seen_at=now)
    if not updated:
        # A new process: forget those not heard of for a week (each start has a new id).
        ProcessHeartbeat.objects.filter(last_seen_at__lt=now - dt.timedelta(days=7)).delete()
        ProcessHeartbeat.objects.create(
            process_id=process_id,
            kind=kind,
            hostname=socket.gethostname()[:255],
            pid=os.getpid(),
            started_at=now,
            last_seen_at=now,
        )


def last_seen(kind: ProcessKind) -> dt.datetime | None:
    """When any process of this kind was last alive (None: never)."""
    return ProcessHeartbeat.objects.filter(kind=kind).aggregate(at=Max("last_seen_at"))["at"]


def seconds_since(moment: dt.datetime | None, *, now: dt.datetime | None = None) -> int | None:
    if moment is None:
        return None
    return max(0, int(((now or timezone.now()) - moment).total_seconds()))


def is_fresh(kind: ProcessKind, *, now: dt.datetime | None = None) -> bool:
    age = seconds_since(last_seen(kind), now=now)
    return age is not None and age <= settings.JOBLINE_BACKGROUND_STALE_SECONDS


def recover_abandoned_tasks(*, now: dt.datetime | None = None) -> int:
    """Hand back tasks whose worker died: ``RUNNING``, started longer than the lease ago, and
    claimed by a worker with no heartbeat inside the lease. Returns how many."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.JOBLINE_TASK_LEASE_SECONDS)
    alive = set(
        ProcessHeartbeat.objects.filter(
            kind=ProcessKind.WORKER, last_seen_at__gte=cutoff
        ).values_list("process_id", flat=True)
    )
    recovered = 0
    for task in DBTaskResult.objects.running().filter(started_at__lt=cutoff):
        claimed_by = task.worker_ids[-1] if task.worker_ids else ""
        if claimed_by in alive:
            continue
        # Conditional on the row being as read: two recovering workers hand it back once.
        recovered += DBTaskResult.objects.filter(
            pk=task.pk, status=task.status, started_at=task.started_at
        ).update(status="READY", started_at=None)
        logger.warning(
            "Task %s (%s) was running under worker %s, silent for over %s s: run again",
            task.pk,
            task.task_path,
            claimed_by or "?",
            settings.JOBLINE_TASK_LEASE_SECONDS,
        )
    return recovered


def release_own_tasks(worker_id: str) -> int:
    """A worker that lost the database mid-task runs no task now: its ``RUNNING`` ones go
    back to the queue at once (no lease to wait out)."""
    released = 0
    for task in DBTaskResult.objects.running():
        if task.worker_ids and task.worker_ids[-1] == worker_id:
            released += DBTaskResult.objects.filter(pk=task.pk, status=task.status).update(
                status="READY", started_at=None
            )
    if released:
        logger.warning("Handed back %s task(s) interrupted by the database outage", released)
    return released


@dataclass
class Backoff:
    """Waits of 1, 2, 4 … seconds, at most ``ceiling``, until reset."""

    first: float = 1.0
    ceiling: float = 60.0
    failures: int = 0

    def next_wait(self) -> float:
        self.failures += 1
        return min(self.ceiling, self.first * 2 ** (self.failures - 1))

    def reset(self) -> None:
        self.failures = 0


def close_all_connections() -> None:
    for connection in connections.all(initialized_only=True):
        with contextlib.suppress(DatabaseError):  # it is gone already
            connection.close()


def stay_up(
    step: Callable[[], None],
    *,
    is_running: Callable[[], bool],
    name: str,
    on_recovery: Callable[[], None] = lambda: None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Call ``step`` until ``is_running()`` is false; a lost database is waited out with
    backoff (and logged), then ``on_recovery`` runs before the next step."""
    backoff = Backoff()
    while is_running():
        try:
            if backoff.failures:
                on_recovery()
            step()
            if backoff.failures:
                logger.warning("%s: the database is back", name)
            backoff.reset()
        except DATABASE_DOWN as error:
            wait = backoff.next_wait()
            logger.warning(
                "%s: the database is unavailable (%s: %s); trying again in %.0f s",
                name,
                type(error).__name__,
                str(error).strip().splitlines()[0] if str(error).strip() else "",
                wait,
            )
            close_all_connections()
            sleep(wait)


class SupervisedWorker(Worker):
    """django-tasks' database worker, kept up through database outages, with a heartbeat
    and the recovery of tasks abandoned by dead workers."""

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.sleep = sleep
        self.next_beat = 0.0

    def run(self) -> None:
        logger.info("Worker %s started (queues %s)", self.worker_id, ",".join(self.queue_names))
        stay_up(
            self.step,
            is_running=lambda: self.running,
            name=f"Worker {self.worker_id}",
            on_recovery=lambda: release_own_tasks(self.worker_id),
            sleep=self.sleep,
        )

    def housekeeping(self) -> None:
        if time.monotonic() < self.next_beat:
            return
        beat(self.worker_id, ProcessKind.WORKER)
        recover_abandoned_tasks()
        self.next_beat = time.monotonic() + settings.JOBLINE_HEARTBEAT_SECONDS

    def step(self) -> None:
        """One turn of the library's loop: claim the next ready task and run it, or wait."""
        close_old_connections()
        self.housekeeping()
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        task_result = None
        with exclusive_transaction(tasks.db):
            try:
                task_result = tasks.get_locked()
                if task_result is not None:
                    task_result.claim(self.worker_id)
            except DatabaseError as error:
                if not is_locked_database_exception(error):
                    raise
        if task_result is not None:
            self.run_task(task_result)
            # run_task records a database failure as the task's own failure when it can;
            # when it cannot, the error surfaces here and stay_up waits it out.
        elif self.running:
            self.sleep(self.interval)
