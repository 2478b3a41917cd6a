"""``manage.py backup DIR``: a consistent snapshot of the database and the media files, with a
manifest (core/backups.py). docs/deploy.md says how to schedule it and where to keep it."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jobline.core.backups import BackupError, backup


class Command(BaseCommand):
    help = "Back up the database and the media files into a new folder under DIR."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("directory", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            folder, manifest = backup(options["directory"])
        except BackupError as error:
            raise CommandError(str(error)) from error
        rows = sum(manifest.counts.values())
        self.stdout.write(
            f"Backed up {rows:,} rows and {manifest.media_files:,} files "
            f"({manifest.media_bytes:,} bytes) into {folder}"
        )
