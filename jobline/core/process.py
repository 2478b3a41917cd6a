"""What a serving process does once it has loaded the app.

Everything loaded at start (Django, every app's models, views, forms and URL patterns) lives as
long as the process. Python's garbage collector still walked all of it in each full
collection, which came every few requests on a busy page: one collection took 78 ms on the
calendar's busiest week, so one request in ten or twenty took 100 ms or more (bench/README.md,
"Garbage collection"). ``gc.freeze()`` moves what is loaded out of the collector's view; what
requests make is collected as before.
"""

from __future__ import annotations

import gc
from importlib import import_module

from django.conf import settings


def freeze_loaded_objects() -> int:
    """Load the URLconf (and with it every view) now rather than on the first request, then
    freeze what is loaded. Returns how many objects are frozen."""
    import_module(settings.ROOT_URLCONF)
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
