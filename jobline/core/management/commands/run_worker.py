"""Run the background worker: the queued tasks (e-mail deliveries), kept up through database
outages, with a heartbeat, handing back the tasks of workers that died (core/background.py).
Use it instead of django-tasks' ``db_worker``; docs/deploy.md has a systemd unit for it."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME

from jobline.core.background import SupervisedWorker


class Command(BaseCommand):
    help = "Run the background worker (tasks), staying up through database outages."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--queue-name", default=DEFAULT_TASK_QUEUE_NAME)
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds between looks at an empty queue"
        )
        parser.add_argument(
            "--worker-id",
            default="",
            help="unique across the workers (default: generated); at most 64 characters",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker = SupervisedWorker(
            queue_names=options["queue_name"].split(","),
            interval=max(0.0, options["interval"]),
            batch=False,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=False,
            max_tasks=None,
            worker_id=(options["worker_id"] or f"worker-{get_random_string(24)}")[:64],
            excluded_queue_names=[],
        )
        worker.configure_signals()
        worker.run()
