"""Periodic jobs (core/schedule.py): declared once, run at most once per interval however
many schedulers run, one failure never stopping the others."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from jobline.core import schedule
from jobline.core.models import PeriodicRun, ProcessHeartbeat
from tests.concurrency import run_together


@pytest.fixture
def only_these_jobs(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, schedule.PeriodicJob]]:
    jobs: dict[str, schedule.PeriodicJob] = {}
    monkeypatch.setattr(schedule, "JOBS", jobs)
    yield jobs


def declare(jobs: dict, name: str, every_minutes: float, calls: list[str]) -> None:
    def run() -> str:
        calls.append(name)
        return f"{name} ran"

    jobs[name] = schedule.PeriodicJob(name=name, every=dt.timedelta(minutes=every_minutes), run=run)


def test_the_apps_declare_the_outbox_safety_net_and_the_worker_watch() -> None:
    assert {"send_due_emails", "watch_worker"} <= set(schedule.JOBS)
    assert schedule.JOBS["send_due_emails"].every <= dt.timedelta(minutes=5)


@pytest.mark.django_db
def test_a_job_runs_once_per_interval(only_these_jobs: dict) -> None:
    calls: list[str] = []
    declare(only_these_jobs, "tidy", 10, calls)
    now = timezone.now()
    assert [r.name for r in schedule.run_due(process_id="a", now=now)] == ["tidy"]
    # Another scheduler, or the same one a moment later: not due again.
    assert schedule.run_due(process_id="b", now=now + dt.timedelta(minutes=9)) == []
    assert calls == ["tidy"]
    schedule.run_due(process_id="b", now=now + dt.timedelta(minutes=10))
    assert calls == ["tidy", "tidy"]
    row = PeriodicRun.objects.get(name="tidy")
    assert row.last_run_by == "b" and row.last_outcome == "tidy ran"


@pytest.mark.django_db
def test_a_failing_job_is_logged_and_the_others_still_run(only_these_jobs: dict) -> None:
    calls: list[str] = []

    def broken() -> str:
        raise RuntimeError("the disk is on fire")

    only_these_jobs["broken"] = schedule.PeriodicJob(
        name="broken", every=dt.timedelta(minutes=1), run=broken
    )
    declare(only_these_jobs, "fine", 1, calls)
    reports = {r.name: r for r in schedule.run_due(process_id="a")}
    assert not reports["broken"].ok and "the disk is on fire" in reports["broken"].outcome
    assert reports["fine"].ok and calls == ["fine"]
    assert "RuntimeError" in PeriodicRun.objects.get(name="broken").last_outcome


@pytest.mark.skipif(connection.vendor != "postgresql", reason="schedulers truly at once")
@pytest.mark.django_db(transaction=True)
def test_a_job_run_by_many_schedulers_at_once_runs_once(only_these_jobs: dict) -> None:
    calls: list[str] = []
    declare(only_these_jobs, "remind", 5, calls)
    now = timezone.now()
    results = run_together(
        [lambda i=i: schedule.run_due(process_id=f"s{i}", now=now) for i in range(8)]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert calls == ["remind"]
    assert sum(len(r) for r in results) == 1


@pytest.mark.django_db
def test_run_scheduler_once_runs_what_is_due_and_says_it_is_alive(
    only_these_jobs: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[str] = []
    declare(only_these_jobs, "tidy", 10, calls)
    call_command("run_scheduler", once=True, scheduler_id="cron-1")
    assert calls == ["tidy"]
    assert "tidy: tidy ran" in capsys.readouterr().out
    assert ProcessHeartbeat.objects.get(process_id="cron-1").kind == "scheduler"
