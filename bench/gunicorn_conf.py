"""Gunicorn settings file for the HTTP benchmark (bench/http_mode.py passes ``--config``).

Everything else (workers, bind, log level, the checkout on the path) is on the command line;
this file only adds a hook that leaves a marker per worker: which ``jobline`` package and which
settings the worker really loaded. The bench refuses to time a server whose marker names
another checkout, or settings that are not production's (DEBUG on, Secure cookies over plain
HTTP, short-lived database connections).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def post_worker_init(worker: Any) -> None:
    # Runs after the worker has loaded jobline.wsgi, so settings are configured.
    marker_dir = os.environ.get("BENCH_HTTP_MARKER_DIR")
    if not marker_dir:
        return
    import django
    from django.conf import settings

    import jobline

    database = settings.DATABASES["default"]
    facts = {
        "pid": os.getpid(),
        "jobline_file": str(Path(jobline.__file__).resolve()),
        "django_file": str(Path(django.__file__).resolve()),
        "settings_module": settings.SETTINGS_MODULE,
        "jobline_env": getattr(settings, "JOBLINE_ENV", None),
        "debug": settings.DEBUG,
        "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
        "csrf_cookie_secure": settings.CSRF_COOKIE_SECURE,
        "ssl_redirect": getattr(settings, "SECURE_SSL_REDIRECT", False),
        "conn_max_age": database.get("CONN_MAX_AGE"),
        "database": str(database.get("NAME")),
        "engine": database.get("ENGINE"),
        "static_root": str(settings.STATIC_ROOT),
        "sys_path": sys.path[:4],
    }
    path = Path(marker_dir) / f"worker-{os.getpid()}.json"
    path.write_text(json.dumps(facts, indent=2))
