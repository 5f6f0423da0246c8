"""`stylevault backup DIR`: a consistent copy of this instance, taken while it runs."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from stylevault.core import errors
from stylevault.ops import backup


class Command(BaseCommand):
    help = _("Back up the database, media and keys of this instance into a new folder.")

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)

    def handle(self, *args, folder: Path, **options):
        try:
            report = backup.backup(folder)
        except errors.DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"backup of the {report.database} database, {report.media_files} media files and "
            f"keys {', '.join(report.key_files) or '(none)'} written to {folder}"
        )
        for name in report.environment_keys:
            self.stdout.write(
                f"{name} comes from the environment and is not in the backup: keep it with it"
            )
