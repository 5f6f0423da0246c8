"""Subscriptions: a paid period sets the plan and resets the month's credits (unused ones
expire and the month is settled to the artists); changes, cancellation, grace and lapse.

Each payment grants once (GrantPeriod.source_ref is the provider's payment id); snapshots of
the provider's subscription are applied by billing.providers, newest first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from stylevault.billing import catalog
from stylevault.billing.clients import stripe as stripe_api
from stylevault.billing.models import (
    BillingCustomer,
    GrantPeriod,
    Provider,
    Settlement,
    Subscription,
    SubscriptionStatus,
)
from stylevault.billing.services._errors import field_error
from stylevault.core import errors
from stylevault.ledger import services as ledger
from stylevault.ledger.models import TransferKind
from stylevault.mail import services as mail

GRACE_PERIOD = timedelta(days=3)
DEV_PERIOD = timedelta(days=30)


def link_customer(user, provider: str, customer_id: str) -> None:
    if not BillingCustomer.objects.filter(provider=provider, customer_id=customer_id).exists():
        try:
            with transaction.atomic():
                BillingCustomer.objects.create(
                    user=user, provider=provider, customer_id=customer_id
                )
        except IntegrityError:
            pass  # already linked (this user has another customer id): the first one stays


def locked_subscription(user, provider: str) -> Subscription:
    subscription = Subscription.objects.select_for_update().filter(user=user).first()
    if subscription is None:
        try:
            with transaction.atomic():
                Subscription.objects.create(user=user, provider=provider)
        except IntegrityError:
            pass  # created concurrently
        subscription = Subscription.objects.select_for_update().get(user=user)
    return subscription


def apply_subscription_payment(
    *,
    user,
    tier: catalog.Tier,
    provider: str,
    subscription_ref: str,
    payment_ref: str,
    period_start: datetime,
    period_end: datetime | None,
    currency: str,
) -> str:
    """A paid subscription period (first, renewal or upgrade): the plan becomes ``tier`` and the
    monthly credits are reset — unused ones expire, the new grant is added. Once per payment."""
    with transaction.atomic():
        subscription = locked_subscription(user, provider)
        if GrantPeriod.objects.filter(source_ref=payment_ref).exists():
            return "already granted"
        if (
            subscription.provider_subscription_id == subscription_ref
            and subscription.status == SubscriptionStatus.CANCELED
        ):
            return "subscription already ended"  # a late invoice after the cancellation
        if (
            subscription.provider_subscription_id == subscription_ref
            and subscription.current_period_start
            and period_start < subscription.current_period_start
        ):
            return "older period"  # a late invoice of a period already replaced
        renewal = (
            subscription.provider_subscription_id == subscription_ref
            and subscription.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
        )
        subscription.tier = tier.name
        subscription.provider = provider
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.grace_until = None
        subscription.next_tier = ""
        if subscription.provider_subscription_id != subscription_ref:
            subscription.provider_subscription_id = subscription_ref
            subscription.cancel_at_period_end = False
        subscription.current_period_start = period_start
        if period_end is not None:
            subscription.current_period_end = period_end
        subscription.save()
        _reset_grant(
            user=user,
            tier=tier,
            source_ref=payment_ref,
            starts_at=period_start,
            ends_at=period_end,
            provider=provider,
            currency=currency,
        )
        _tell(
            subscription,
            "subscription_renewed" if renewal else "subscription_started",
            key=f"plan:{payment_ref}",
            period_end=_day(period_end),
        )
        return "granted"


def dev_payment(*, user, tier, subscription_ref: str, payment_ref: str, start: datetime) -> str:
    """The development provider's charge: a paid month from ``start``, in USD."""
    return apply_subscription_payment(
        user=user,
        tier=tier,
        provider=Provider.DEV,
        subscription_ref=subscription_ref,
        payment_ref=payment_ref,
        period_start=start,
        period_end=start + DEV_PERIOD,
        currency="USD",
    )


def _reset_grant(*, user, tier, source_ref, starts_at, ends_at, provider, currency) -> None:
    close_grant_period(user=user)
    GrantPeriod.objects.create(
        user=user,
        tier=tier.name,
        credits=tier.monthly_credits,
        source_ref=source_ref,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    if tier.monthly_credits:
        ledger.post(
            postings=[
                ledger.Posting(
                    debit=ledger.provider(provider, currency),
                    credit=ledger.subscription_grant(user),
                    amount=tier.monthly_credits,
                    kind=TransferKind.SUBSCRIPTION_GRANT,
                    description=f"{tier.name} monthly credits",
                )
            ],
            idempotency_key=f"grant:{source_ref}",
        )


def close_grant_period(*, user, now: datetime | None = None) -> GrantPeriod | None:
    """Ends the open credit period: unused subscription credits expire (they do not roll over)
    and the subscriber's month is settled to the artists."""
    with transaction.atomic():
        period = (
            GrantPeriod.objects.select_for_update()
            .filter(user=user, closed_at__isnull=True)
            .first()
        )
        if period is not None:
            period.expired_credits = ledger.expire_subscription_credits(
                user=user, idempotency_key=f"expire:period:{period.pk}"
            )
            period.closed_at = now or timezone.now()
            period.save(update_fields=["expired_credits", "closed_at"])
        settle_subscriber(user=user)
        return period


def settle_subscriber(*, user) -> Settlement | None:
    """Shares the subscriber's escrow out (see ledger.settle_subscription_escrow)."""
    with transaction.atomic():
        result = ledger.settle_subscription_escrow(user=user)
        if result is None:
            return None
        settlement, _created = Settlement.objects.get_or_create(
            user=user,
            through_transfer_id=result.through_transfer_id,
            defaults={
                "total": result.total,
                "to_artists": sum(result.to_artists.values()),
                "to_platform": result.to_platform,
                "to_reserve": result.to_reserve,
            },
        )
        return settlement


def start_grace(subscription: Subscription) -> None:
    subscription.status = SubscriptionStatus.PAST_DUE
    if subscription.grace_until is None:
        subscription.grace_until = timezone.now() + GRACE_PERIOD
    subscription.save(update_fields=["status", "grace_until", "updated_at"])
    _tell(
        subscription,
        "payment_failed",
        key=f"payment-failed:{subscription.pk}:{subscription.grace_until.isoformat()}",
        grace_until=_day(subscription.grace_until),
    )


def downgrade_to_free(subscription: Subscription, now: datetime | None = None) -> None:
    if subscription.tier != catalog.FREE:
        _tell(
            subscription,
            "subscription_downgraded",
            key=f"downgraded:{subscription.pk}:{subscription.current_period_start}",
        )
    close_grant_period(user=subscription.user, now=now)
    subscription.tier = catalog.FREE
    subscription.next_tier = ""
    subscription.status = SubscriptionStatus.CANCELED
    subscription.cancel_at_period_end = False
    subscription.grace_until = None
    subscription.save()


def ensure_stripe_customer(user) -> str:
    link = BillingCustomer.objects.filter(user=user, provider=Provider.STRIPE).first()
    if link is not None:
        return link.customer_id
    customer = stripe_api.create_customer(
        user_id=user.pk,
        username=user.username,
        email=user.email,
        idempotency_key=f"customer-{user.pk}",
    )
    link_customer(user, Provider.STRIPE, customer["id"])
    return BillingCustomer.objects.get(user=user, provider=Provider.STRIPE).customer_id


def self_serve_tier(name) -> catalog.Tier:
    tier = catalog.tier(name)
    if tier is None:
        raise field_error("tier", _("There is no such plan."))
    if not tier.self_serve:
        raise field_error("tier", _("This plan cannot be bought here; contact us."))
    return tier


def is_live(subscription: Subscription | None) -> bool:
    return bool(
        subscription
        and subscription.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
        and subscription.tier != catalog.FREE
    )


def change_tier(*, user, tier) -> Subscription:
    """Upgrades take effect at once with the new month of credits (Stripe invoices the
    difference; the paid invoice brings the grant). Downgrades apply at the next renewal."""
    chosen = self_serve_tier(tier)
    subscription = Subscription.objects.filter(user=user).first()
    if not is_live(subscription):
        raise errors.Conflict(_("You have no plan to change yet: subscribe first."))
    current = catalog.tier(subscription.tier) or catalog.free_tier()
    if chosen.name == current.name:
        if subscription.next_tier:  # undoes a pending downgrade, at Stripe too
            if subscription.provider == Provider.STRIPE:
                _set_stripe_tier(subscription, user=user, tier=current, prorate=False)
            Subscription.objects.filter(pk=subscription.pk).update(next_tier="")
            subscription.refresh_from_db()
        return subscription
    upgrade = chosen.rank > current.rank
    now = timezone.now()
    if subscription.provider == Provider.STRIPE:
        _set_stripe_tier(subscription, user=user, tier=chosen, prorate=upgrade)
        if not upgrade:
            Subscription.objects.filter(pk=subscription.pk).update(next_tier=chosen.name)
    elif upgrade:
        dev_payment(
            user=user,
            tier=chosen,
            subscription_ref=subscription.provider_subscription_id or f"dev-{user.pk}",
            payment_ref=f"dev:upgrade:{subscription.pk}:{now.isoformat()}",
            start=now,
        )
    else:
        Subscription.objects.filter(pk=subscription.pk).update(next_tier=chosen.name)
    subscription.refresh_from_db()
    return subscription


def _set_stripe_tier(subscription: Subscription, *, user, tier, prorate: bool) -> None:
    """Moves the Stripe subscription to the tier's price; its metadata names the tier that
    the next paid invoice grants."""
    remote = stripe_api.retrieve_subscription(subscription.provider_subscription_id)
    item = ((remote.get("items") or {}).get("data") or [{}])[0]
    product = ((item.get("price") or {}).get("product")) if isinstance(item, dict) else None
    stripe_api.update_subscription(
        subscription.provider_subscription_id,
        {
            "items": [{"id": item.get("id"), **stripe_api.price(tier, product)}],
            "proration_behavior": "always_invoice" if prorate else "none",
            "metadata": {"user_id": str(user.pk), "tier": tier.name},
        },
        idempotency_key=f"tier-{subscription.pk}-{tier.name}-{timezone.now():%Y%m%d%H%M}",
    )


def cancel_subscription(*, user) -> Subscription:
    """Cancels at the end of the paid period: the plan and its credits last until then."""
    subscription = Subscription.objects.filter(user=user).first()
    if not is_live(subscription):
        raise errors.Conflict(_("You have no plan to cancel."))
    if subscription.provider == Provider.STRIPE:
        stripe_api.update_subscription(
            subscription.provider_subscription_id,
            {"cancel_at_period_end": True},
            idempotency_key=f"cancel-{subscription.pk}-{subscription.current_period_end}",
        )
    Subscription.objects.filter(pk=subscription.pk).update(cancel_at_period_end=True)
    subscription.refresh_from_db()
    return subscription


def downgrade_lapsed_subscriptions(now: datetime | None = None) -> int:
    """Periodic: plans whose payment failed more than 3 days ago, that were cancelled and
    reached their period end, or whose renewal never arrived within the grace, drop to Free."""
    now = now or timezone.now()
    due = Q(status=SubscriptionStatus.PAST_DUE, grace_until__lte=now) | Q(
        cancel_at_period_end=True, current_period_end__lte=now
    )
    due |= Q(status=SubscriptionStatus.ACTIVE, current_period_end__lte=now - GRACE_PERIOD)
    count = 0
    for pk in (
        Subscription.objects.exclude(tier=catalog.FREE).filter(due).values_list("pk", flat=True)
    ):
        with transaction.atomic():
            subscription = (
                Subscription.objects.select_for_update()
                .exclude(tier=catalog.FREE)
                .filter(due, pk=pk)
                .first()
            )
            if subscription is not None:
                downgrade_to_free(subscription, now)
                count += 1
    return count


def renew_dev_subscriptions(now: datetime | None = None) -> int:
    """Periodic, development provider only: renews due plans as if the card was charged."""
    now = now or timezone.now()
    count = 0
    due = Subscription.objects.filter(
        provider=Provider.DEV,
        status=SubscriptionStatus.ACTIVE,
        cancel_at_period_end=False,
        current_period_end__lte=now,
    ).exclude(tier=catalog.FREE)
    for subscription in due:
        tier = catalog.tier(subscription.next_tier or subscription.tier)
        if tier is None or not tier.self_serve:
            continue
        start = subscription.current_period_end
        outcome = dev_payment(
            user=subscription.user,
            tier=tier,
            subscription_ref=subscription.provider_subscription_id or f"dev-{subscription.user_id}",
            payment_ref=f"dev:renewal:{subscription.pk}:{start.isoformat()}",
            start=start,
        )
        count += outcome == "granted"
    return count


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value else ""


def _tell(subscription: Subscription, kind: str, *, key: str, **context) -> None:
    """The subscriber hears of the plan's change by e-mail, sent after the commit."""
    label = catalog.tier(subscription.tier)
    mail.queue(
        user_id=subscription.user_id,
        kind=kind,
        key=key,
        context={"tier": str(label.label if label else subscription.tier), **context},
    )
