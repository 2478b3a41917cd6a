"""Periodic jobs: each declared once (name, interval, what it does) by the app it belongs to,
run by ``manage.py run_scheduler`` (or from cron with ``--once``).

A job runs at most once per interval however many schedulers run: a scheduler first moves the
job's ``next_run_at`` on in one conditional UPDATE (``... WHERE next_run_at <= now``), and only
the one whose UPDATE changed the row runs it. A job that fails is logged and tried again at
its next interval; it never stops the others.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from jobline.core.models import PeriodicRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: dt.timedelta
    run: Callable[[], str]  # does the work; returns a one-line summary for the log and the row
    description: str = ""


JOBS: dict[str, PeriodicJob] = {}


def periodic(
    name: str, *, every: dt.timedelta, description: str = ""
) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Declare a periodic job (at import time of the app's ``periodic.py``, from its ready())."""

    def register(func: Callable[[], str]) -> Callable[[], str]:
        if name in JOBS and JOBS[name].run is not func:
            raise ValueError(f"Periodic job {name!r} is declared twice")
        JOBS[name] = PeriodicJob(name=name, every=every, run=func, description=description)
        return func

    return register


def _claim(job: PeriodicJob, *, now: dt.datetime, process_id: str) -> bool:
    """True when this process won the job's current run."""
    try:
        with transaction.atomic():
            PeriodicRun.objects.get_or_create(name=job.name, defaults={"next_run_at": now})
    except IntegrityError:  # another scheduler created the row a moment ago
        pass
    won = PeriodicRun.objects.filter(name=job.name, next_run_at__lte=now).update(
        next_run_at=now + job.every, last_started_at=now, last_run_by=process_id
    )
    return won == 1


@dataclass(frozen=True)
class RunReport:
    name: str
    outcome: str
    ok: bool


def run_due(*, process_id: str, now: dt.datetime | None = None) -> list[RunReport]:
    """Run every job that is due and that no other scheduler has taken; what each did."""
    reports = []
    for job in list(JOBS.values()):
        started = now or timezone.now()
        if not _claim(job, now=started, process_id=process_id):
            continue
        try:
            outcome, ok = job.run(), True
        except Exception as error:  # one failing job must not stop the others
            logger.exception("Periodic job %s failed", job.name)
            outcome, ok = f"failed: {type(error).__name__}: {error}", False
        PeriodicRun.objects.filter(name=job.name).update(
            last_finished_at=timezone.now(), last_outcome=outcome[:2000]
        )
        logger.debug("Periodic job %s: %s", job.name, outcome)  # the row keeps it too
        reports.append(RunReport(name=job.name, outcome=outcome, ok=ok))
    return reports
