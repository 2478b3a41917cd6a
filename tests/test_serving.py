"""What a running server does for itself: static files with DEBUG off, kept-open database
connections that survive a database restart (docs/deploy.md)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from django.core.signals import request_started
from django.db import OperationalError, connection

from jobline.jobs.models import Job
from tests.test_security import production_env, run_python, strong_key

FETCH_STATIC = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client
response = Client().get("/static/jobline/app.css")
body = b"".join(response.streaming_content) if response.streaming else response.content
print(json.dumps({
    "status": response.status_code,
    "is_css": b"{" in body,
    "debug": settings.DEBUG,
    "health_checks": settings.DATABASES["default"]["CONN_HEALTH_CHECKS"],
}))
"""


def fetch_static(env: dict[str, str]) -> dict[str, object]:
    result = run_python(["-c", FETCH_STATIC], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_an_app_server_freezes_what_it_loaded_out_of_the_garbage_collectors_view(
    tmp_path: Path,
) -> None:
    """jobline/wsgi.py, as gunicorn loads it: Django, the apps and every view (the URLconf is
    loaded at start) are frozen, so a full collection on some request does not walk them."""
    env = production_env(
        JOBLINE_ENV="development",
        DJANGO_DEBUG="0",
        DATABASE_URL=f"sqlite:///{tmp_path / 'jobline.sqlite3'}",
    )
    probe = (
        "import gc, sys; import jobline.wsgi; "
        "print(gc.get_freeze_count(), 'jobline.jobs.views' in sys.modules, len(gc.get_objects()))"
    )
    result = run_python(["-c", probe], env)
    assert result.returncode == 0, result.stderr
    frozen, views_loaded, tracked = result.stdout.split()
    assert views_loaded == "True"  # loaded at start, so frozen with the rest
    assert int(frozen) > 50_000
    assert int(tracked) < int(frozen) // 10


def test_static_files_are_served_with_debug_off_outside_production(tmp_path: Path) -> None:
    env = production_env(
        JOBLINE_ENV="development",
        DJANGO_DEBUG="0",
        DATABASE_URL=f"sqlite:///{tmp_path / 'jobline.sqlite3'}",
    )
    found = fetch_static(env)
    assert found == {"status": 200, "is_css": True, "debug": False, "health_checks": True}


def test_static_files_are_served_in_production_once_collected(tmp_path: Path) -> None:
    env = production_env(
        DJANGO_SECRET_KEY=strong_key(),
        ALLOWED_HOSTS="testserver",
        JOBLINE_SSL_REDIRECT="0",
        JOBLINE_STATIC_ROOT=str(tmp_path / "static"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'jobline.sqlite3'}",
    )
    collected = run_python(["manage.py", "collectstatic", "--noinput", "-v", "0"], env)
    assert collected.returncode == 0, collected.stderr
    found = fetch_static(env)
    assert found == {"status": 200, "is_css": True, "debug": False, "health_checks": True}


@pytest.fixture
def kept_open_connection():
    """The connection as production keeps it between requests (settings: 60 s)."""
    saved = {k: connection.settings_dict[k] for k in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 60
    yield connection.settings_dict
    connection.settings_dict.update(saved)
    connection.close()


def cut_the_connection_from_the_server() -> None:
    """What a database restart does to every kept-open connection."""
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a server to restart")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("health_checks", [True, False])
def test_a_request_after_a_database_restart_reconnects(
    kept_open_connection: dict, health_checks: bool
) -> None:
    kept_open_connection["CONN_HEALTH_CHECKS"] = health_checks
    request_started.send(sender=None)  # the first request opens the connection
    Job.objects.count()
    cut_the_connection_from_the_server()
    request_started.send(sender=None)  # the next request, as Django's handler starts it
    if health_checks:
        assert Job.objects.count() == 0
    else:  # what the settings prevent: the first request on each worker failed
        with pytest.raises(OperationalError):
            Job.objects.count()
