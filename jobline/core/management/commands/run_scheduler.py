"""Run the periodic jobs (core/schedule.py) as they fall due: in a loop that stays up through
database outages, or once (``--once``, for cron). Any number may run; each job still runs at
most once per interval. docs/deploy.md has a systemd unit and a crontab line."""

from __future__ import annotations

import signal
import time
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils.crypto import get_random_string

from jobline.core import schedule
from jobline.core.background import beat, stay_up
from jobline.core.models import ProcessKind


class Command(BaseCommand):
    help = "Run the periodic jobs as they fall due (--once: run what is due now, then exit)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="run what is due, then exit")
        parser.add_argument(
            "--interval", type=float, default=5.0, help="seconds between looks at the schedule"
        )
        parser.add_argument("--scheduler-id", default="", help="default: generated")

    def handle(self, *args: Any, **options: Any) -> None:
        process_id = (options["scheduler_id"] or f"scheduler-{get_random_string(24)}")[:64]
        if options["once"]:
            beat(process_id, ProcessKind.SCHEDULER)
            for report in schedule.run_due(process_id=process_id):
                self.stdout.write(f"{report.name}: {report.outcome}")
            return
        self.running = True

        def stop(signum: int, frame: FrameType | None) -> None:
            self.running = False

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        interval = max(0.1, options["interval"])

        def step() -> None:
            close_old_connections()
            beat(process_id, ProcessKind.SCHEDULER)
            schedule.run_due(process_id=process_id)
            waited = 0.0
            while self.running and waited < min(interval, settings.JOBLINE_HEARTBEAT_SECONDS):
                time.sleep(0.1)
                waited += 0.1

        stay_up(step, is_running=lambda: self.running, name=f"Scheduler {process_id}")
