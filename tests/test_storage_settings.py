"""How the settings wire the stores: SQLite's journal and durability, and the optional shared
cache that sessions are read from (README "Settings")."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, Cast
from tests.test_security import production_env, run_python, strong_key

REDIS = ("127.0.0.1", 6379)

PRINT_STORES = """
import json
import django
django.setup()
from django.conf import settings
from django.db import connection
with connection.cursor() as cursor:
    pragmas = {}
    if connection.vendor == "sqlite":
        for name in ("journal_mode", "synchronous"):
            cursor.execute(f"PRAGMA {name}")
            pragmas[name] = cursor.fetchone()[0]
print(json.dumps({
    "pragmas": pragmas,
    "session_engine": settings.SESSION_ENGINE,
    "cache": settings.CACHES["default"]["BACKEND"],
}))
"""


def stores(tmp_path: Path, **extra: str) -> dict[str, Any]:
    env = production_env(
        DJANGO_SECRET_KEY=strong_key(),
        ALLOWED_HOSTS="jobline.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'jobline.sqlite3'}",
        **extra,
    )
    for knob in ("JOBLINE_CACHE_URL", "JOBLINE_SQLITE_SYNCHRONOUS"):
        if knob not in extra:  # the developer's own shell may set them
            env.pop(knob, None)
    result = run_python(["-c", PRINT_STORES], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_sqlite_logs_ahead_and_commits_without_waiting_for_the_disk(tmp_path: Path) -> None:
    found = stores(tmp_path)
    # synchronous: 1 = NORMAL, 2 = FULL (SQLite's numbering).
    assert found["pragmas"] == {"journal_mode": "wal", "synchronous": 1}
    assert found["session_engine"] == "jobline.accounts.session_store"
    assert found["cache"] == "django.core.cache.backends.locmem.LocMemCache"


def test_sqlite_can_be_told_to_wait_for_the_disk_on_every_commit(tmp_path: Path) -> None:
    found = stores(tmp_path, JOBLINE_SQLITE_SYNCHRONOUS="full")
    assert found["pragmas"] == {"journal_mode": "wal", "synchronous": 2}


def test_an_unknown_durability_setting_is_refused(tmp_path: Path) -> None:
    env = production_env(
        DJANGO_SECRET_KEY=strong_key(),
        DATABASE_URL=f"sqlite:///{tmp_path / 'jobline.sqlite3'}",
        JOBLINE_SQLITE_SYNCHRONOUS="OFF",
    )
    result = run_python(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "JOBLINE_SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA" in result.stderr


def test_a_configured_cache_holds_the_sessions_in_front_of_the_database(tmp_path: Path) -> None:
    found = stores(tmp_path, JOBLINE_CACHE_URL="redis://127.0.0.1:6379/15")
    assert found["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert found["session_engine"] == "django.contrib.sessions.backends.cached_db"


def test_a_cache_url_that_is_not_redis_is_refused(tmp_path: Path) -> None:
    env = production_env(DJANGO_SECRET_KEY=strong_key(), JOBLINE_CACHE_URL="memcached://x:11211")
    result = run_python(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "JOBLINE_CACHE_URL must be a redis://" in result.stderr


def redis_is_up() -> bool:
    try:
        socket.create_connection(REDIS, timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.fixture
def redis_sessions(settings: Any) -> Any:
    if not redis_is_up():
        pytest.skip("needs Redis on 127.0.0.1:6379 (the development machine and CI have one)")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # A database of each suite's own: CI runs the SQLite and PostgreSQL suites side by
            # side, and clearing the cache empties the whole Redis database.
            "LOCATION": f"redis://127.0.0.1:6379/{15 if connection.vendor == 'sqlite' else 14}",
            "KEY_PREFIX": "jobline-tests",
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    caches["default"].clear()
    yield caches["default"]
    caches["default"].clear()


def sign_in(cast: Cast) -> Client:
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": cast.staff.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    return client


def test_with_the_cache_a_sign_out_holds_on_every_app_server(
    cast: Cast, redis_sessions: Any
) -> None:
    browser = sign_in(cast)
    stolen = Client()  # the same cookie, sent to another app server
    stolen.cookies = browser.cookies
    assert stolen.get("/dashboard/").status_code == 200
    assert browser.post(reverse("accounts:logout")).status_code == 302
    assert stolen.get("/dashboard/").status_code == 302  # to the sign-in page


def test_with_the_cache_a_flush_signs_nobody_out(cast: Cast, redis_sessions: Any) -> None:
    browser = sign_in(cast)
    assert Session.objects.count() == 1  # written through to the database
    redis_sessions.clear()  # a restarted or flushed Redis
    assert browser.get("/dashboard/").status_code == 200


POSTGRES = ("127.0.0.1", 5432)

COUNT_PREPARED = """
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    for _ in range(3):  # a page's query, as a kept-open connection runs it request after request
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname = %s", ["pg_type"])
    cursor.execute("SELECT count(*) FROM pg_prepared_statements")
    print(cursor.fetchone()[0])
"""


def prepared_statements(tmp_path: Path, **extra: str) -> int:
    env = production_env(
        DJANGO_SECRET_KEY=strong_key(),
        ALLOWED_HOSTS="jobline.example.com",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
        **extra,
    )
    if "DATABASE_PREPARED_STATEMENTS" not in extra:
        env.pop("DATABASE_PREPARED_STATEMENTS", None)
    result = run_python(["-c", COUNT_PREPARED], env)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip().splitlines()[-1])


# In the PostgreSQL suite only: beside it, that suite restarts the server (test_worker_process).
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
def test_postgresql_plans_a_repeated_statement_once_unless_switched_off(tmp_path: Path) -> None:
    try:
        socket.create_connection(POSTGRES, timeout=1).close()
    except OSError:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    assert prepared_statements(tmp_path) >= 1
    # Behind a pooler that cannot keep them (README "Settings"): nothing is prepared.
    assert prepared_statements(tmp_path, DATABASE_PREPARED_STATEMENTS="0") == 0
