"""`stylevault billing tick|payouts|send-payouts|export-payouts|distribute-reserve`.

`payouts` (monthly) also e-mails every artist their statement of the month before."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "Billing maintenance: periodic tick, payout batches, reserve pool distribution."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("tick", help="Expire holds, renew dev plans, downgrade lapsed plans.")
        sub.add_parser("payouts", help="Create a payout batch of artists above the minimum.")
        send = sub.add_parser("send-payouts", help="Pay a batch with Stripe Connect transfers.")
        send.add_argument("batch", type=int)
        export = sub.add_parser("export-payouts", help="Print a batch as CSV.")
        export.add_argument("batch", type=int)
        reserve = sub.add_parser("distribute-reserve", help="Share the reserve pool.")
        reserve.add_argument("--since", required=True, help="YYYY-MM-DD (inclusive)")
        reserve.add_argument("--until", required=True, help="YYYY-MM-DD (exclusive)")

    def handle(self, *args, action, **options):
        from stylevault.billing import exports, services, tasks
        from stylevault.ledger import services as ledger

        if action == "tick":
            self.stdout.write(str(tasks.periodic()))
        elif action == "payouts":
            batch = services.create_payout_batch()
            self.stdout.write(f"payout batch #{batch.pk}" if batch else "nobody to pay")
            last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
            sent = services.send_artist_statements(month=last_month)
            self.stdout.write(f"{sent} statements of {last_month:%Y-%m} queued")
        elif action == "send-payouts":
            self.stdout.write(str(services.send_payout_batch(batch_id=options["batch"])))
        elif action == "export-payouts":
            self.stdout.write(exports.payout_batch_csv(options["batch"]), ending="")
        else:

            def day(value: str) -> datetime:
                try:
                    parsed = datetime.strptime(value, "%Y-%m-%d").date()
                except ValueError:
                    raise CommandError(f"not a date: {value!r}") from None
                return timezone.make_aware(datetime.combine(parsed, time.min))

            since, until = day(options["since"]), day(options["until"])
            shares = ledger.distribute_reserve_pool(
                since=since,
                until=until,
                idempotency_key=f"reserve:{since:%Y-%m-%d}:{until:%Y-%m-%d}",
            )
            self.stdout.write(f"shared {sum(shares.values())} credits among {len(shares)} artists")
