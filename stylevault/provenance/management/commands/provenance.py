"""`stylevault provenance verify` re-checks the whole event log (exit 1 on any break);
`stylevault provenance sign-head` signs a tree head over the events recorded so far."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from stylevault.provenance.selectors import verify_log
from stylevault.provenance.services import sign_tree_head


class Command(BaseCommand):
    help = "Provenance log: verify everything, sign a tree head."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "verify",
            help="Recompute every leaf hash, head root, signature and consistency proof; "
            "exit 1 on any break.",
        )
        sub.add_parser("sign-head", help="Sign a tree head over every event (if any is new).")

    def handle(self, *args, action, **options):
        if action == "sign-head":
            head = sign_tree_head()
            self.stdout.write(
                f"tree head: size {head.tree_size}, root {head.root_hash}, key {head.key_id}"
            )
            return

        report = verify_log()
        for problem in report.problems:
            self.stderr.write(f"provenance: BROKEN: {problem}")
        if report.problems:
            raise CommandError(
                f"provenance verify FAILED: {len(report.problems)} problem(s) in "
                f"{report.events} events and {report.heads} signed heads",
                returncode=1,
            )
        uncovered = report.events - report.covered
        self.stdout.write(
            f"provenance verify OK: {report.events} events, {report.heads} signed heads; "
            f"every leaf hash, root, signature and consistency proof checks out"
            + (f"; {uncovered} newer events are not under a signed head yet" if uncovered else "")
        )
