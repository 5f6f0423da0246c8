"""Periodic billing work. Run `stylevault billing tick` from cron (every few minutes) or let
the jobs app schedule `periodic()`; every step is idempotent."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from stylevault.billing import services
from stylevault.ledger import services as ledger


def periodic(now: datetime | None = None) -> dict:
    """Expire stale holds, renew development plans, drop lapsed plans to Free."""
    now = now or timezone.now()
    return {
        "holds_expired": ledger.expire_holds(now),
        "dev_renewed": services.renew_dev_subscriptions(now),
        "downgraded": services.downgrade_lapsed_subscriptions(now),
    }
