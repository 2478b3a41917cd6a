"""Backups a self-hoster can trust: ``manage.py backup DIR`` and ``manage.py restore DIR``.

A backup is a folder holding the database (``pg_dump`` on PostgreSQL; SQLite's online backup
API, so pages keep working meanwhile), the media files and ``manifest.json``: the Jobline
version, the time, the database kind and the rows of every table, counted in the very snapshot
that was dumped. The database goes first and the media after: files are written before the
rows that point at them and never changed, so every file the snapshot names is copied.

A restore goes into an empty database and an empty media folder only, checks the counts
against the manifest, and then runs each app's restore step (``on_restored``): the outbox
holds every e-mail that was still waiting, because the original may have sent it after the
backup was taken (notifications/services.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from jobline.core.models import ProcessHeartbeat

MANIFEST = "manifest.json"
FORMAT = 1
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
MEDIA = "media"

RestoreStep = Callable[["Manifest"], str]
_RESTORE_STEPS: list[RestoreStep] = []


class BackupError(Exception):
    """Something a self-hoster must fix before a backup or restore can go on."""


def on_restored(step: RestoreStep) -> RestoreStep:
    """Register an app's step after a restore (from its ready()); it returns a summary."""
    if step not in _RESTORE_STEPS:
        _RESTORE_STEPS.append(step)
    return step


@dataclass(frozen=True)
class Manifest:
    created_at: dt.datetime
    database: str
    jobline_version: str
    counts: dict[str, int]
    media_files: int
    media_bytes: int

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "created_at": self.created_at.isoformat(),
                "database": self.database,
                "jobline_version": self.jobline_version,
                "counts": self.counts,
                "media_files": self.media_files,
                "media_bytes": self.media_bytes,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        if not path.exists():
            raise BackupError(f"{folder} is not a Jobline backup: it has no {MANIFEST}.")
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise BackupError(f"{path} has format {data.get('format')!r}; expected {FORMAT}.")
        return cls(
            created_at=dt.datetime.fromisoformat(data["created_at"]),
            database=data["database"],
            jobline_version=data["jobline_version"],
            counts={k: int(v) for k, v in data["counts"].items()},
            media_files=int(data["media_files"]),
            media_bytes=int(data["media_bytes"]),
        )


def jobline_version() -> str:
    try:
        return version("jobline")
    except PackageNotFoundError:
        return "unknown"


def _tables() -> dict[str, str]:
    """Every table of the installed apps (Jobline's, Django's, the task queue's), by label."""
    return {
        model._meta.label: model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if not model._meta.proxy and model._meta.managed
    }


def _count(cursor: Any, tables: dict[str, str], quote: Callable[[str], str]) -> dict[str, int]:
    counts = {}
    for label, table in sorted(tables.items()):
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")  # our own table names
        counts[label] = int(cursor.fetchone()[0])
    return counts


def _media_size(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    return len(files), sum(p.stat().st_size for p in files)


def _pg_env() -> tuple[list[str], dict[str, str]]:
    """libpq connection arguments and environment for pg_dump / pg_restore."""
    db = settings.DATABASES["default"]
    args = ["--dbname", db["NAME"]]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _run(command: list[str], env: dict[str, str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (it comes with PostgreSQL's client).")
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()}")


def backup(into: Path) -> tuple[Path, Manifest]:
    """Write a backup folder under ``into``; returns it and its manifest."""
    created_at = timezone.now()
    folder = into / f"jobline-backup-{created_at:%Y%m%d-%H%M%S}"
    folder.mkdir(parents=True, exist_ok=False)
    tables = _tables()
    if connection.vendor == "postgresql":
        counts = _backup_postgresql(folder / PG_DUMP, tables)
    elif connection.vendor == "sqlite":
        counts = _backup_sqlite(folder / SQLITE_COPY, tables)
    else:
        raise BackupError(f"Backups of {connection.vendor} are not supported.")
    media_root = Path(settings.MEDIA_ROOT)
    if media_root.exists():
        shutil.copytree(media_root, folder / MEDIA)
    else:
        (folder / MEDIA).mkdir()
    files, size = _media_size(folder / MEDIA)
    manifest = Manifest(
        created_at=created_at,
        database=connection.vendor,
        jobline_version=jobline_version(),
        counts=counts,
        media_files=files,
        media_bytes=size,
    )
    (folder / MANIFEST).write_text(manifest.to_json())
    return folder, manifest


def _backup_postgresql(target: Path, tables: dict[str, str]) -> dict[str, int]:
    """pg_dump of the snapshot the counts were made in (an exported snapshot)."""
    args, env = _pg_env()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        counts = _count(cursor, tables, connection.ops.quote_name)
        _run(
            ["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--file", str(target), *args],
            env,
        )
    return counts


def _backup_sqlite(target: Path, tables: dict[str, str]) -> dict[str, int]:
    """SQLite's online backup API: a consistent copy while the app keeps writing."""
    source = sqlite3.connect(settings.DATABASES["default"]["NAME"])
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
            return _count(copy.cursor(), tables, lambda name: f'"{name}"')
        finally:
            copy.close()
    finally:
        source.close()


def _is_empty_database() -> bool:
    return not connection.introspection.table_names()


def restore(folder: Path) -> tuple[Manifest, list[str]]:
    """Restore a backup folder into the configured (empty) database and media folder."""
    manifest = Manifest.read(folder)
    if manifest.database != connection.vendor:
        raise BackupError(
            f"This backup is of a {manifest.database} database; this Jobline is configured "
            f"for {connection.vendor}. Point DATABASE_URL at an empty {manifest.database} one."
        )
    if not _is_empty_database():
        raise BackupError(
            "The database is not empty. Restore into a new, empty database (do not run "
            "migrate first): a restore never overwrites data."
        )
    media_root = Path(settings.MEDIA_ROOT)
    if media_root.exists() and any(media_root.iterdir()):
        raise BackupError(f"The media folder {media_root} is not empty; restore into an empty one.")
    if manifest.database == "postgresql":
        args, env = _pg_env()
        _run(
            ["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", *args,
             str(folder / PG_DUMP)],
            env,
        )  # fmt: skip
    else:
        _restore_sqlite(folder / SQLITE_COPY)
    connection.close()  # the restored schema, seen afresh
    if (folder / MEDIA).exists():
        shutil.copytree(folder / MEDIA, media_root, dirs_exist_ok=True)
    _check_counts(manifest)
    # The processes that were alive are the original's, not this copy's.
    ProcessHeartbeat.objects.all().delete()
    return manifest, [step(manifest) for step in _RESTORE_STEPS]


def _restore_sqlite(source_path: Path) -> None:
    connection.close()
    source = sqlite3.connect(source_path)
    try:
        target = sqlite3.connect(settings.DATABASES["default"]["NAME"])
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def _check_counts(manifest: Manifest) -> None:
    tables = {label: table for label, table in _tables().items() if label in manifest.counts}
    with connection.cursor() as cursor:
        restored = _count(cursor, tables, connection.ops.quote_name)
    wrong = {
        label: (count, restored.get(label))
        for label, count in manifest.counts.items()
        if restored.get(label) != count
    }
    if wrong:
        raise BackupError(f"The restored rows differ from the manifest: {wrong}")
    files, size = _media_size(Path(settings.MEDIA_ROOT))
    if (files, size) != (manifest.media_files, manifest.media_bytes):
        raise BackupError(
            f"The restored media differ: {files} files, {size} bytes; the manifest says "
            f"{manifest.media_files} files, {manifest.media_bytes} bytes."
        )
