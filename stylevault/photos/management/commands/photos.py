"""`stylevault photos purge`: deletes every photo past its retention period (and its unpicked
variants), each deletion recorded in the provenance log."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from stylevault.photos import services


class Command(BaseCommand):
    help = "Photo studio maintenance: `purge` deletes photos past their 30 days."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["purge"])

    def handle(self, *args, action: str, **options):
        deleted = services.purge_expired()
        self.stdout.write(f"{deleted} photo(s) deleted")
