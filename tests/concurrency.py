"""Running requests or services truly at once, for the tests of row locks (PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def run_together(tasks: list[Callable[[], Any]]) -> list[Any]:
    """Start every task at the same moment, each on its own connection; collect results or
    the exceptions they raised."""
    barrier = threading.Barrier(len(tasks))
    results: list[Any] = [None] * len(tasks)

    def worker(index: int, task: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = task()
        except Exception as error:  # collected for the assertions
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, t)) for i, t in enumerate(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
