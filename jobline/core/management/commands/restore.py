"""``manage.py restore DIR``: a backup folder into an empty database and media folder, checked
against its manifest; e-mails that were waiting are held for an Admin (core/backups.py)."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jobline.core.backups import BackupError, restore


class Command(BaseCommand):
    help = "Restore a backup folder (made by `manage.py backup`) into an empty database."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("directory", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            manifest, notes = restore(options["directory"])
        except BackupError as error:
            raise CommandError(str(error)) from error
        taken = manifest.created_at
        self.stdout.write(
            f"Restored the backup of {taken.day} {taken:%b %Y %H:%M} UTC "
            f"({sum(manifest.counts.values()):,} rows, {manifest.media_files:,} files)."
        )
        for note in notes:
            self.stdout.write(note)
