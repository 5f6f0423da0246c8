"""`stylevault createuser NAME --password P [--artist] [--operator] [--credits N]`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from stylevault.accounts import services
from stylevault.core import errors
from stylevault.ledger.services import grant_credits


class Command(BaseCommand):
    help = "Create a ready account (for operators and tests)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--artist", action="store_true")
        parser.add_argument("--operator", action="store_true")
        parser.add_argument("--credits", type=int, default=0)

    def handle(self, *args, username, password, artist, operator, credits, **options):
        if credits < 0:
            raise CommandError("--credits must be zero or more")
        try:
            user = services.create_user(
                username=username, password=password, artist=artist, operator=operator
            )
            if credits:
                grant_credits(user=user, amount=credits, reason="createuser")
        except errors.DomainError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(f"created {user.username} ({user.role})")
