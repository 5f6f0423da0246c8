"""`stylevault ledger check` re-derives every balance from the transfers (exit 1 on any break);
`stylevault ledger expire-holds` releases holds past their expiry."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from stylevault.ledger.selectors import check_books
from stylevault.ledger.services import expire_holds


class Command(BaseCommand):
    help = "Ledger maintenance: check the books, expire holds."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("check", help="Re-derive every balance; exit 1 if the books are wrong.")
        sub.add_parser("expire-holds", help="Release holds past their expiry.")

    def handle(self, *args, action, **options):
        if action == "expire-holds":
            self.stdout.write(f"expired {expire_holds()} holds")
            return

        report = check_books()
        for problem in report.problems:
            self.stderr.write(f"ledger: {problem}")
        if report.problems:
            raise CommandError(
                f"ledger check FAILED: {len(report.problems)} problem(s) in "
                f"{report.accounts} accounts and {report.transfers} transfers",
                returncode=1,
            )
        self.stdout.write(
            f"ledger check OK: {report.accounts} accounts, {report.transfers} transfers, "
            "the books sum to zero and no balance is below zero"
        )
