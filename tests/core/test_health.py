"""/health/: 200 or 503 with a short JSON body, no sign-in, nothing about anyone's data."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from jobline.core.background import beat
from jobline.core.models import ProcessHeartbeat, ProcessKind
from tests.conftest import Cast
from tests.test_security import production_env, run_python, strong_key

ALL_OK = {"database": "ok", "migrations": "ok", "worker": "ok", "scheduler": "ok"}


@pytest.mark.django_db
def test_healthy_when_the_database_answers_and_the_background_is_alive(cast: Cast) -> None:
    beat("w1", ProcessKind.WORKER)
    beat("s1", ProcessKind.SCHEDULER)
    response = Client().get("/health/")  # nobody signed in
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": ALL_OK}
    assert "no-store" in response["Cache-Control"]
    assert cast.workspace.name not in response.text and cast.admin.email not in response.text


@pytest.mark.django_db
def test_a_stale_worker_or_a_missing_scheduler_is_a_503(settings) -> None:
    settings.JOBLINE_BACKGROUND_STALE_SECONDS = 180
    beat("w1", ProcessKind.WORKER)
    ProcessHeartbeat.objects.update(last_seen_at=timezone.now() - dt.timedelta(seconds=181))
    response = Client().get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        **ALL_OK, "worker": "not seen lately", "scheduler": "not seen lately",
    }  # fmt: skip


@pytest.mark.django_db
def test_only_reading_is_allowed() -> None:
    assert Client().post("/health/").status_code == 405


HEALTH_IN_A_FRESH_PROCESS = """
import json
import django
django.setup()
from django.test import Client
response = Client().get("/health/", secure=False)
print(json.dumps({"status": response.status_code, "body": json.loads(response.content)}))
"""


def health_of(database_url: str) -> dict:
    env = production_env(
        DJANGO_SECRET_KEY=strong_key(),
        ALLOWED_HOSTS="testserver",
        DATABASE_URL=database_url,
        DATABASE_CONN_MAX_AGE="0",
    )
    result = run_python(["-c", HEALTH_IN_A_FRESH_PROCESS], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_database_that_is_down_is_a_503_over_plain_http() -> None:
    # Production settings redirect to HTTPS, except /health/ (a monitor asks over HTTP).
    found = health_of("postgres://postgres@127.0.0.1:1/jobline")
    assert found["status"] == 503
    assert found["body"]["checks"]["database"] == "unavailable"


def test_an_unmigrated_database_is_a_503(tmp_path: Path) -> None:
    found = health_of(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert found["status"] == 503
    assert found["body"]["checks"] == {
        "database": "ok", "migrations": "not applied", "worker": "unknown", "scheduler": "unknown",
    }  # fmt: skip
