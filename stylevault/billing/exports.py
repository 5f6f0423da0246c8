"""Payout batch export for the provider (CSV)."""

from __future__ import annotations

import csv
import io

from stylevault.billing.models import Payout, PayoutProfile

COLUMNS = [
    "payout_id", "artist_id", "artist", "stripe_account_id", "credits", "amount_cents",
    "currency", "status", "stripe_transfer_id",
]  # fmt: skip


def payout_batch_csv(batch_id: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    payouts = Payout.objects.filter(batch_id=batch_id).select_related("artist").order_by("pk")
    accounts = dict(
        PayoutProfile.objects.filter(user_id__in=[p.artist_id for p in payouts]).values_list(
            "user_id", "stripe_account_id"
        )
    )
    for p in payouts:
        writer.writerow(
            [
                p.pk,
                p.artist_id,
                _safe(p.artist.username),
                accounts.get(p.artist_id, ""),
                p.credits,
                p.amount,
                p.currency,
                p.status,
                p.stripe_transfer_id,
            ]
        )
    return out.getvalue()


def _safe(value: str) -> str:
    """Spreadsheet formula injection guard."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
