"""`stylevault restore DIR`: a backup into this (empty) data directory and database."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from stylevault.core import errors
from stylevault.ops import backup


class Command(BaseCommand):
    help = _("Restore a backup made by `stylevault backup` into an empty data directory.")

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)

    def handle(self, *args, folder: Path, **options):
        try:
            manifest = backup.restore(folder)
        except errors.DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"restored the {manifest['database']} database and {manifest['media_files']} media "
            "files; check it with `stylevault ledger check` and `stylevault provenance verify`"
        )
