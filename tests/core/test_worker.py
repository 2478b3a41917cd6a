"""The worker's own rules, in-process (core/background.py): it waits out a lost database
with backoff, says it is alive, and hands back the tasks of workers that died."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from jobline.core import background
from jobline.core.models import ProcessHeartbeat, ProcessKind
from jobline.notifications import delivery
from jobline.notifications.models import EmailStatus, OutgoingEmail
from jobline.notifications.tasks import deliver_email
from tests.conftest import Cast
from tests.mail_and_processes import job_with_customer_reply


def test_a_lost_database_is_waited_out_with_growing_pauses_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes = [OperationalError("terminating connection due to administrator command")] * 3
    steps: list[str] = []
    waits: list[float] = []
    recoveries: list[int] = []

    def step() -> None:
        if outcomes:
            raise outcomes.pop(0)
        steps.append("ran")

    with caplog.at_level(logging.WARNING, logger="jobline.background"):
        background.stay_up(
            step,
            is_running=lambda: len(steps) < 2,
            name="Worker w1",
            on_recovery=lambda: recoveries.append(1),
            sleep=waits.append,
        )
    assert waits == [1, 2, 4]
    assert steps == ["ran", "ran"]
    # Before each try after a failure (handing back its own tasks needs the database too).
    assert recoveries == [1, 1, 1]
    assert "the database is unavailable (OperationalError: terminating connection" in caplog.text
    assert "Worker w1: the database is back" in caplog.text


def test_the_backoff_stops_growing_at_a_minute() -> None:
    backoff = background.Backoff()
    assert [backoff.next_wait() for _ in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_a_bug_is_not_mistaken_for_an_outage() -> None:
    def step() -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        background.stay_up(step, is_running=lambda: True, name="w", sleep=lambda s: None)


def running_task(worker_id: str, started_minutes_ago: float) -> DBTaskResult:
    result = deliver_email.enqueue(1)
    row = DBTaskResult.objects.get(pk=result.id)
    row.claim(worker_id)
    DBTaskResult.objects.filter(pk=row.pk).update(
        started_at=timezone.now() - dt.timedelta(minutes=started_minutes_ago)
    )
    return row


def heartbeat(worker_id: str, minutes_ago: float) -> None:
    ProcessHeartbeat.objects.create(
        process_id=worker_id,
        kind=ProcessKind.WORKER,
        last_seen_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
    )


@pytest.mark.django_db
def test_only_tasks_of_silent_workers_past_the_lease_are_handed_back(settings: Any) -> None:
    settings.JOBLINE_TASK_LEASE_SECONDS = 300
    heartbeat("dead", minutes_ago=30)
    heartbeat("alive", minutes_ago=0.1)
    of_dead = running_task("dead", started_minutes_ago=20)
    of_live = running_task("alive", started_minutes_ago=20)  # a long task, still beating
    just_started = running_task("dead", started_minutes_ago=1)  # inside the lease
    of_unknown = running_task("never-beat", started_minutes_ago=20)  # e.g. old db_worker

    assert background.recover_abandoned_tasks() == 2
    status = dict(DBTaskResult.objects.values_list("pk", "status"))
    assert status[of_dead.pk] == "READY" and status[of_unknown.pk] == "READY"
    assert status[of_live.pk] == "RUNNING" and status[just_started.pk] == "RUNNING"
    # Handed back once: a second recovering worker finds nothing.
    assert background.recover_abandoned_tasks() == 0


@pytest.mark.django_db
def test_after_an_outage_a_worker_hands_back_its_own_interrupted_task() -> None:
    mine = running_task("me", started_minutes_ago=0)
    theirs = running_task("other", started_minutes_ago=0)
    assert background.release_own_tasks("me") == 1
    assert DBTaskResult.objects.get(pk=mine.pk).status == "READY"
    assert DBTaskResult.objects.get(pk=theirs.pk).status == "RUNNING"


@pytest.mark.django_db
def test_a_heartbeat_is_one_row_per_process_kept_fresh(settings: Any) -> None:
    settings.JOBLINE_BACKGROUND_STALE_SECONDS = 180
    assert not background.is_fresh(ProcessKind.WORKER)  # never seen
    background.beat("w1", ProcessKind.WORKER)
    background.beat("w1", ProcessKind.WORKER)
    assert ProcessHeartbeat.objects.filter(process_id="w1").count() == 1
    assert background.is_fresh(ProcessKind.WORKER)
    assert not background.is_fresh(ProcessKind.SCHEDULER)
    later = timezone.now() + dt.timedelta(seconds=181)
    assert not background.is_fresh(ProcessKind.WORKER, now=later)
    # Every start is a new process id; a week-old one is forgotten when the next starts.
    ProcessHeartbeat.objects.update(last_seen_at=timezone.now() - dt.timedelta(days=8))
    background.beat("w2", ProcessKind.WORKER)
    assert list(ProcessHeartbeat.objects.values_list("process_id", flat=True)) == ["w2"]


@pytest.mark.django_db
def test_a_send_claimed_inside_its_lease_is_looked_at_again_when_the_lease_ends(
    settings: Any, cast: Cast
) -> None:
    # The task of a worker that died a moment after claiming the e-mail can be handed back
    # before the e-mail's own lease is over: the re-run must come back, not give up.
    settings.JOBLINE_TASK_LEASE_SECONDS = 300
    email = waiting_email(cast)
    claimed = timezone.now() - dt.timedelta(seconds=10)
    OutgoingEmail.objects.filter(pk=email.pk).update(status=EmailStatus.SENDING, claimed_at=claimed)
    outcome = delivery.deliver(email.pk)
    assert outcome.status == "being sent"
    assert outcome.retry_at == claimed + dt.timedelta(seconds=300)
    later = delivery.deliver(email.pk, now=claimed + dt.timedelta(seconds=301))
    assert later.status == "sent"


def waiting_email(cast: Cast) -> OutgoingEmail:
    email = OutgoingEmail.objects.get(job=job_with_customer_reply(cast, "Ready"))
    OutgoingEmail.objects.filter(pk=email.pk).update(send_after=timezone.now())
    return email
