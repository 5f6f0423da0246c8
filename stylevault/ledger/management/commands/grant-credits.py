"""`stylevault grant-credits NAME N --reason TEXT`: a transfer from the platform to a user."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from stylevault.core import errors
from stylevault.ledger import selectors, services


class Command(BaseCommand):
    help = "Grant credits to a user (a ledger transfer from the platform's grants account)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("amount", type=int)
        parser.add_argument("--reason", required=True)
        parser.add_argument(
            "--idempotency-key", default=None, help="Repeat-safe: the same key grants once."
        )

    def handle(self, *args, username, amount, reason, idempotency_key, **options):

        user = get_user_model().objects.filter(username__iexact=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        try:
            transfer = services.grant_credits(
                user=user, amount=amount, reason=reason, idempotency_key=idempotency_key
            )
        except errors.DomainError as exc:
            raise CommandError(str(exc.message)) from None
        balance = selectors.wallet_of(user)["balance"]
        self.stdout.write(
            f"granted {transfer.amount} credits to {user.username} (transfer #{transfer.pk}); "
            f"balance {balance}"
        )
