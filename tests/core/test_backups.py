"""``manage.py backup`` and ``manage.py restore`` round trips, run as a self-hoster runs them
(separate processes, the real database, the real media folder): the restored copy has the
same rows, the same job page, the same file bytes, the append-only feed still guarded, and
an outbox that holds what was waiting."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from jobline.core.backups import Manifest
from jobline.jobs import services, uploads
from jobline.jobs.models import Attachment, Job
from jobline.notifications.models import EmailStatus, OutgoingEmail
from jobline.notifications.services import hold_outbox_after_restore
from tests.conftest import Cast
from tests.jobs.upload_helpers import PDF_BYTES, image_bytes, upload
from tests.mail_and_processes import database_url, job_with_customer_reply
from tests.test_security import PROJECT_ROOT

pytestmark = pytest.mark.django_db(transaction=True)

INSPECT = """
import hashlib, json, sys
import django
django.setup()
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test import Client
from jobline.accounts.models import User
from jobline.core.backups import _count, _tables
from jobline.jobs.models import Activity
from jobline.notifications.models import OutgoingEmail
number, email = int(sys.argv[1]), sys.argv[2]
with connection.cursor() as cursor:
    counts = _count(cursor, _tables(), connection.ops.quote_name)
client = Client()
client.force_login(User.objects.get(email=email))
page = client.get(f"/jobs/{number}/").content.decode()
files = {}
for path in sorted(p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()):
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    files[str(path.relative_to(settings.MEDIA_ROOT))] = digest
guarded = None
if connection.vendor == "postgresql":
    try:
        with transaction.atomic():
            Activity.objects.update(data={})
        guarded = False
    except DatabaseError:
        guarded = True
outbox = sorted(OutgoingEmail.objects.values_list("status", flat=True))
print(json.dumps({"counts": counts, "page": page, "files": files, "guarded": guarded,
                  "outbox": outbox}))
"""


def manage(*args: str, database: str, media: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database,
        JOBLINE_MEDIA_ROOT=str(media),
        DJANGO_SETTINGS_MODULE="jobline.settings",
        JOBLINE_ENV="development",
        DJANGO_DEBUG="0",
    )
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def inspect(job: Job, cast: Cast, *, database: str, media: Path) -> dict[str, Any]:
    result = manage(
        "-c", INSPECT, str(job.number), cast.admin.email, database=database, media=media
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    # Each page carries a fresh CSRF token and one-time form tokens; nothing else may differ.
    page = re.sub(r"\b[A-Za-z0-9]{64}\b", "csrf", found["page"])
    found["page"] = re.sub(r'name="one_time_token" value="[^"]*"', "one-time", page)
    return found


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """Where the restore goes: a new SQLite file, or a new PostgreSQL database."""
    if connection.vendor == "sqlite":
        yield database_url(str(tmp_path / "restored.sqlite3"))
        return
    name = f"{connection.settings_dict['NAME']}_restored"
    params = {"host": connection.settings_dict["HOST"], "user": "postgres", "dbname": "postgres"}
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield database_url(name)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def busy_job(cast: Cast) -> Job:
    """A job with a feed, a photo and a PDF, and a customer e-mail waiting in its digest."""
    job = job_with_customer_reply(
        cast, "We have your phone", title="Cracked screen", owner=cast.staff
    )
    services.message_add(
        job=job, body="Internal: order part", visibility="internal", actor=cast.admin
    )
    uploads.attachments_add(
        job=job,
        uploads=[
            upload("screen.jpg", image_bytes("JPEG", size=(800, 600)), "image/jpeg"),
            upload("quote.pdf", PDF_BYTES, "application/pdf"),
        ],
        visibility="customer",
        actor=cast.admin,
    )
    services.message_add(
        job=job, body="Parts arrive Monday", visibility="customer", actor=cast.admin
    )
    assert OutgoingEmail.objects.filter(status=EmailStatus.WAITING).exists()
    return job


def test_a_backup_restores_into_an_empty_database_as_it_was(
    cast: Cast, busy_job: Job, tmp_path: Path, empty_database: str
) -> None:
    media = Path(settings.MEDIA_ROOT)
    original = inspect(busy_job, cast, database=database_url(), media=media)
    assert len(original["files"]) == 3  # the photo, its thumbnail and the PDF

    made = manage("manage.py", "backup", str(tmp_path / "backups"), database=database_url(),
                  media=media)  # fmt: skip
    assert made.returncode == 0, made.stderr
    [folder] = (tmp_path / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["database"] == connection.vendor
    assert manifest["counts"]["jobs.Job"] == 1 and manifest["media_files"] == 3

    restored_media = tmp_path / "restored-media"
    done = manage("manage.py", "restore", str(folder), database=empty_database,
                  media=restored_media)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 e-mail(s) that were waiting are held" in done.stdout

    copy = inspect(busy_job, cast, database=empty_database, media=restored_media)
    assert copy["counts"] == manifest["counts"]
    # The same rows as the original, but for the session the first inspection signed in with.
    assert {**original["counts"], "sessions.Session": 1} == manifest["counts"]
    assert copy["files"] == original["files"]
    assert copy["page"] == original["page"]
    assert "Parts arrive Monday" in copy["page"]
    if connection.vendor == "postgresql":
        assert copy["guarded"] is True  # the feed is still append-only
    # The original sends its e-mail; the copy holds it for an Admin.
    assert original["outbox"] == [EmailStatus.WAITING]
    assert copy["outbox"] == [EmailStatus.HELD]


def test_a_restore_never_overwrites(cast: Cast, busy_job: Job, tmp_path: Path) -> None:
    media = Path(settings.MEDIA_ROOT)
    made = manage("manage.py", "backup", str(tmp_path), database=database_url(), media=media)
    assert made.returncode == 0, made.stderr
    [folder] = tmp_path.glob("jobline-backup-*")
    again = manage("manage.py", "restore", str(folder), database=database_url(), media=media)
    assert again.returncode != 0
    assert "The database is not empty" in again.stderr
    assert Job.objects.filter(pk=busy_job.pk).exists() and Attachment.objects.count() == 2


def test_a_folder_that_is_not_a_backup_is_refused(tmp_path: Path, empty_database: str) -> None:
    result = manage("manage.py", "restore", str(tmp_path), database=empty_database,
                    media=tmp_path / "media")  # fmt: skip
    assert result.returncode != 0
    assert "is not a Jobline backup" in result.stderr


def test_held_emails_wait_for_an_admin_who_sends_them(
    cast: Cast, busy_job: Job, as_admin: Client, as_manager: Client
) -> None:
    hold_outbox_after_restore(
        Manifest(
            created_at=dt.datetime(2026, 11, 30, 22, 0, tzinfo=dt.UTC), database="sqlite",
            jobline_version="0", counts={}, media_files=0, media_bytes=0,
        )
    )  # fmt: skip
    page = as_admin.get("/notifications/email/").text
    assert "1 e-mail held after a restore." in page
    assert "restored from a backup of 30 Nov 2026 22:00 UTC" in page
    assert as_manager.post("/notifications/email/release-held/").status_code in (403, 404)
    assert OutgoingEmail.objects.get().status == EmailStatus.HELD

    response = as_admin.post("/notifications/email/release-held/")
    assert response.status_code == 302
    email = OutgoingEmail.objects.get()
    assert email.status == EmailStatus.RETRYING and email.attempts == 0
    assert "held after a restore" not in as_admin.get("/notifications/email/").text
    assert cast.workspace.audit_log.filter(action="email.released").exists()
