"""Billing reads: the plan and limits of a user (used by other apps), packs, earnings."""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta

from django.db.models import Q, Sum
from django.utils import timezone

from stylevault.billing import catalog
from stylevault.billing.catalog import Tier
from stylevault.billing.models import (
    Checkout,
    CheckoutStatus,
    Payout,
    PayoutProfile,
    Subscription,
    SubscriptionStatus,
)
from stylevault.core import sqlrows
from stylevault.core.readcache import ReadCache
from stylevault.ledger import services as ledger
from stylevault.ledger.models import Account, Transfer, TransferKind, TransferState

LIVE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
# Plans by user id (users without one kept as no rows), in web servers that hear of changes
# pushed by the database (stylevault.core.readcache): GET /me and every limit check read one.
SUBSCRIPTIONS = ReadCache("subscriptions", seconds=60.0, entries=4096, pushed_only=True)


@functools.cache
def _subscription_sql() -> str:
    return (
        f"SELECT {sqlrows.columns(Subscription, 's')} FROM {sqlrows.table(Subscription)} s "
        "WHERE s.user_id = %s"
    )


def subscription_of(user) -> Subscription | None:
    """Read on every request that checks limits or shows the plan: SQL written once."""
    if user is None or not getattr(user, "is_authenticated", True):
        return None
    rows = SUBSCRIPTIONS.get(user.pk, lambda: sqlrows.rows(_subscription_sql(), [user.pk]))
    return sqlrows.instances(rows[0], Subscription)[0] if rows else None


def subscriptions_changed(**kwargs) -> None:
    """Receives every write of subscriptions (billing.apps, SubscriptionQuerySet.update)."""
    SUBSCRIPTIONS.changed()


def tier_of(user) -> Tier:
    """The tier whose limits apply to the user now: their plan while it is active or in its
    grace period after a failed payment, Free otherwise. Other apps read queue_priority,
    max_concurrent_jobs, max_images_per_job and max_steps from it."""
    subscription = subscription_of(user)
    if subscription is not None and subscription.status in LIVE:
        found = catalog.tier(subscription.tier)
        if found is not None:
            return found
    return catalog.free_tier()


def tiers() -> list[Tier]:
    return catalog.tiers()


def credit_packs() -> list[catalog.CreditPack]:
    return catalog.credit_packs()


def checkout_of(user, checkout_id) -> Checkout | None:
    checkout_uuid = Checkout.parse_id(checkout_id)
    if checkout_uuid is None:
        return None
    return Checkout.objects.filter(pk=checkout_uuid, user=user).first()


def receipts_of(user):
    """The user's paid purchases, newest first."""
    return Checkout.objects.filter(user=user, status=CheckoutStatus.COMPLETED).order_by(
        "-completed_at"
    )


def receipt(viewer, checkout_id) -> Checkout | None:
    """A paid purchase, for its buyer or an operator."""
    checkout_uuid = Checkout.parse_id(checkout_id)
    if checkout_uuid is None:
        return None
    found = (
        Checkout.objects.select_related("user")
        .filter(pk=checkout_uuid, status=CheckoutStatus.COMPLETED)
        .first()
    )
    if found is None or (found.user_id != viewer.pk and not viewer.is_operator):
        return None
    return found


def receipt_amounts(checkout: Checkout) -> dict:
    """Total, tax included and the amount before tax, each for display in its currency."""
    net = checkout.amount - checkout.tax_amount
    return {
        "total": catalog.minor_to_display(checkout.amount, checkout.currency),
        "tax": catalog.minor_to_display(checkout.tax_amount, checkout.currency),
        "net": catalog.minor_to_display(net, checkout.currency),
        "reference": checkout.payment_ref or checkout.provider_ref or "",
    }


def subscription_payload(user) -> dict:
    subscription = subscription_of(user)
    tier = tier_of(user)
    live = subscription is not None and subscription.status in LIVE
    return {
        "tier": tier.name,
        "status": subscription.status if subscription else "none",
        "provider": subscription.provider if subscription else None,
        "current_period_end": subscription.current_period_end if live else None,
        "cancel_at_period_end": bool(subscription and subscription.cancel_at_period_end),
        "next_tier": (subscription.next_tier or None) if live else None,
        "grace_until": subscription.grace_until if live else None,
        "limits": tier.as_dict(),
    }


# --------------------------------------------------------------------------------------------
# Artist earnings


def payout_profile(artist) -> PayoutProfile | None:
    return PayoutProfile.objects.filter(user=artist).first()


def payouts_of(artist):
    return Payout.objects.filter(artist=artist).select_related("batch")


def _month_start(day: date) -> datetime:
    return timezone.make_aware(
        datetime.combine(day.replace(day=1), time.min), timezone.get_default_timezone()
    )


def statement(artist, month: date) -> dict:
    """The artist's monthly statement in credits: opening balance, earned (per image, from
    subscriptions, from the reserve pool), paid out, returned, closing balance."""
    start = _month_start(month)
    end = _month_start((start + timedelta(days=32)).date())
    account = Account.objects.filter(code=ledger.artist_earnings(artist).code).first()
    empty = {"month": start.date(), "opening": 0, "earned": 0, "from_subscriptions": 0,
             "from_reserve": 0, "paid_out": 0, "returned": 0, "closing": 0}  # fmt: skip
    if account is None:
        return empty
    posted = Transfer.objects.filter(state=TransferState.POSTED).exclude(kind=TransferKind.HOLD)

    def total(qs) -> int:
        return int(qs.aggregate(n=Sum("amount"))["n"] or 0)

    opening = total(posted.filter(credit=account, created_at__lt=start)) - total(
        posted.filter(debit=account, created_at__lt=start)
    )
    month = posted.filter(created_at__gte=start, created_at__lt=end)
    incoming = month.filter(credit=account)
    earned = total(incoming.exclude(kind=TransferKind.PAYOUT_REVERSAL))
    returned = total(incoming.filter(kind=TransferKind.PAYOUT_REVERSAL))
    paid_out = total(month.filter(debit=account))
    return {
        **empty,
        "opening": opening,
        "earned": earned,
        "from_subscriptions": total(incoming.filter(kind=TransferKind.SETTLEMENT)),
        "from_reserve": total(incoming.filter(kind=TransferKind.RESERVE_SHARE)),
        "paid_out": paid_out,
        "returned": returned,
        "closing": opening + earned + returned - paid_out,
    }


def statements(artist, *, months: int = 6, today: date | None = None) -> list[dict]:
    today = today or timezone.localdate()
    result, day = [], today.replace(day=1)
    for _ in range(months):
        result.append(statement(artist, day))
        day = (day - timedelta(days=1)).replace(day=1)
    return result


def earnings_transfers(artist):
    account = Account.objects.filter(code=ledger.artist_earnings(artist).code).first()
    if account is None:
        return Transfer.objects.none()
    return Transfer.objects.filter(
        Q(credit=account) | Q(debit=account), state=TransferState.POSTED
    ).exclude(kind=TransferKind.HOLD)
