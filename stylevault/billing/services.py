"""Billing writes: checkouts, fulfilment, provider webhooks, subscriptions, payouts.

Money moves only through the ledger (stylevault.ledger.services), always with an
idempotency key derived from the provider's own id, so a payment is credited once whatever
happens. Each webhook event is recorded (unique provider + event id) in the same transaction
as its effect: a redelivery finds the row and changes nothing. Effects are keyed by stable
ids (checkout, invoice) and subscription snapshots are applied newest-first, so events that
arrive out of order still end in one correct state.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from stylevault.billing import catalog, gateway
from stylevault.billing.models import (
    BillingCustomer,
    Checkout,
    CheckoutKind,
    CheckoutStatus,
    GrantPeriod,
    Payout,
    PayoutBatch,
    PayoutProfile,
    PayoutStatus,
    Provider,
    Settlement,
    Subscription,
    SubscriptionStatus,
    WebhookEvent,
)
from stylevault.core import errors
from stylevault.ledger import services as ledger
from stylevault.ledger.models import AccountKind, TransferKind

log = logging.getLogger(__name__)

GRACE_PERIOD = timedelta(days=3)
DEV_PERIOD = timedelta(days=30)
PAYOUT_PROVIDER = "stripe_connect"


def _field_error(name: str, message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(message, details={"fields": {name: [message]}})


def _provider_for_checkout() -> str:
    if gateway.stripe_enabled():
        return Provider.STRIPE
    if gateway.dev_payments_enabled():
        return Provider.DEV
    raise gateway.PaymentsUnavailable(_("Payments are not set up on this server yet."))


def _dev_url(checkout: Checkout) -> str:
    return reverse("billing:dev-checkout", args=[checkout.pk])


# --------------------------------------------------------------------------------------------
# Credit packs


def start_pack_checkout(
    *, user, pack_id, currency: str | None = None, success_url: str, cancel_url: str
) -> Checkout:
    """Opens a checkout for a credit pack; its ``url`` is where the buyer pays. Credits arrive
    only when the provider confirms payment (signed webhook), or on the development page."""
    pack = catalog.credit_pack(pack_id)
    if pack is None:
        raise _field_error("pack_id", _("There is no credit pack with this id."))
    if currency is not None and not isinstance(currency, str):
        raise _field_error("currency", _("Give the currency as a three-letter code."))
    price = pack.price(currency)
    if price is None:
        raise _field_error(
            "currency", _("This pack is not sold in %(currency)s.") % {"currency": currency}
        )
    currency, amount = price
    provider = _provider_for_checkout()
    checkout = Checkout.objects.create(
        user=user,
        provider=provider,
        kind=CheckoutKind.PACK,
        pack_id=pack.id,
        credits=pack.credits,
        currency=currency,
        amount=amount,
    )
    ids = {"checkout_id": str(checkout.pk), "user_id": str(user.pk), "pack_id": pack.id}
    return _open_checkout(
        checkout,
        lambda: {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount,
                        "product_data": {"name": f"{pack.credits:,} StyleVault credits"},
                    },
                }
            ],
            "client_reference_id": str(checkout.pk),
            "metadata": ids,
            "payment_intent_data": {"metadata": ids},
            "success_url": success_url,
            "cancel_url": cancel_url,
        },
    )


def _open_checkout(checkout: Checkout, session_params: Callable[[], dict]) -> Checkout:
    """Gives the checkout its payment page: the local development page, or a Stripe Checkout
    session (marked failed when Stripe refuses, so no half-open checkout lingers)."""
    if checkout.provider == Provider.DEV:
        checkout.url = _dev_url(checkout)
    else:
        try:
            session = gateway.create_checkout_session(
                session_params(), idempotency_key=f"checkout-{checkout.pk}"
            )
        except errors.DomainError:
            Checkout.objects.filter(pk=checkout.pk).update(status=CheckoutStatus.FAILED)
            raise
        checkout.provider_ref, checkout.url = session.get("id"), session.get("url") or ""
    checkout.save(update_fields=["provider_ref", "url"])
    return checkout


def _parse_checkout_id(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


@transaction.atomic
def fulfil_pack_checkout(
    *,
    checkout_id,
    provider: str,
    provider_ref: str | None = None,
    paid_amount: int | None = None,
    paid_currency: str | None = None,
) -> Checkout | None:
    """Credits a paid pack, exactly once (ledger key ``checkout:<id>``). The amount and
    currency paid must be the ones quoted at checkout; otherwise nothing is credited."""
    checkout_uuid = _parse_checkout_id(checkout_id)
    if checkout_uuid is None:
        return None
    checkout = Checkout.objects.select_for_update().filter(pk=checkout_uuid).first()
    if checkout is None or checkout.provider != provider or checkout.kind != CheckoutKind.PACK:
        return None
    if checkout.status == CheckoutStatus.COMPLETED:
        return checkout
    if paid_amount is not None and (
        paid_amount != checkout.amount or (paid_currency or "").upper() != checkout.currency
    ):
        log.warning(
            "checkout %s paid %s %s, quoted %s %s: not credited",
            checkout.pk, paid_amount, paid_currency, checkout.amount, checkout.currency,
        )  # fmt: skip
        checkout.status = CheckoutStatus.FAILED
        checkout.save(update_fields=["status"])
        return checkout
    ledger.post(
        postings=[
            ledger.Posting(
                debit=ledger.provider(provider, checkout.currency),
                credit=ledger.wallet(checkout.user_id),
                amount=checkout.credits,
                kind=TransferKind.PURCHASE,
                description=f"{checkout.credits} credits ({checkout.pack_id})",
                metadata={
                    "checkout": str(checkout.pk),
                    "amount": checkout.amount,
                    "currency": checkout.currency,
                },
            )
        ],
        idempotency_key=f"checkout:{checkout.pk}",
    )
    checkout.status = CheckoutStatus.COMPLETED
    checkout.completed_at = timezone.now()
    if provider_ref and not checkout.provider_ref:
        checkout.provider_ref = provider_ref
    checkout.save(update_fields=["status", "completed_at", "provider_ref"])
    return checkout


def confirm_dev_checkout(*, user, checkout_id) -> Checkout:
    """The development provider's "payment": only without Stripe and outside production."""
    if not gateway.dev_payments_enabled():
        raise errors.NotFound()
    checkout_uuid = _parse_checkout_id(checkout_id)
    checkout = Checkout.objects.filter(pk=checkout_uuid, user=user, provider=Provider.DEV).first()
    if checkout_uuid is None or checkout is None:
        raise errors.NotFound(_("No such checkout."))
    if checkout.kind == CheckoutKind.PACK:
        return fulfil_pack_checkout(checkout_id=checkout.pk, provider=Provider.DEV)
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout.pk)
        if checkout.status == CheckoutStatus.COMPLETED:
            return checkout
        now = timezone.now()
        tier = catalog.tier(checkout.tier)
        if tier is None:
            raise errors.Conflict(_("This plan is no longer offered."))
        apply_subscription_payment(
            user=checkout.user,
            tier=tier,
            provider=Provider.DEV,
            subscription_ref=f"dev-{checkout.pk}",
            payment_ref=f"dev:checkout:{checkout.pk}",
            period_start=now,
            period_end=now + DEV_PERIOD,
            currency="USD",
        )
        checkout.status = CheckoutStatus.COMPLETED
        checkout.completed_at = now
        checkout.save(update_fields=["status", "completed_at"])
        return checkout


# --------------------------------------------------------------------------------------------
# Webhooks


def _once(provider: str, event_id: str, event_type: str, handler: Callable[[], str]) -> str:
    """Runs ``handler`` at most once per (provider, event id), in one transaction with the
    event's row. Returns the outcome, or "duplicate"."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = WebhookEvent.objects.create(
                    provider=provider, event_id=event_id[:255], event_type=event_type[:100]
                )
        except IntegrityError:
            return "duplicate"
        outcome = handler() or "ignored"
        event.outcome = outcome[:200]
        event.save(update_fields=["outcome"])
        return outcome


def handle_stripe_webhook(*, payload: bytes, signature: str) -> str:
    event = gateway.verify_stripe_event(payload, signature)
    return _once(
        Provider.STRIPE, event["id"], str(event.get("type", "")), lambda: _stripe_event(event)
    )


def handle_lemonsqueezy_webhook(*, payload: bytes, signature: str) -> str:
    event = gateway.verify_lemonsqueezy_event(payload, signature)
    meta, data = event.get("meta") or {}, event.get("data") or {}
    name = str(meta.get("event_name", ""))
    event_id = f"{name}:{data.get('type', '')}:{data.get('id', '')}"
    return _once(Provider.LEMONSQUEEZY, event_id, name, lambda: _lemonsqueezy_event(event))


def _lemonsqueezy_event(event: dict) -> str:
    meta, data = event.get("meta") or {}, event.get("data") or {}
    if meta.get("event_name") != "order_created":
        return "ignored"
    attributes = data.get("attributes") or {}
    if attributes.get("status") != "paid":
        return "not paid"
    custom = meta.get("custom_data") or {}
    done = fulfil_pack_checkout(
        checkout_id=custom.get("checkout_id"),
        provider=Provider.LEMONSQUEEZY,
        provider_ref=f"ls-order-{data.get('id')}",
        paid_amount=attributes.get("total"),
        paid_currency=attributes.get("currency"),
    )
    return "credited" if done and done.status == CheckoutStatus.COMPLETED else "no such checkout"


def _stripe_event(event: dict) -> str:
    kind = event.get("type")
    obj = (event.get("data") or {}).get("object") or {}
    if not isinstance(obj, dict):
        return "ignored"
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        return _stripe_checkout_completed(obj)
    if kind in ("invoice.paid", "invoice.payment_succeeded"):
        return _stripe_invoice_paid(obj)
    if kind == "invoice.payment_failed":
        return _stripe_invoice_failed(obj)
    if kind in (
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ):
        created = event.get("created")
        return _stripe_subscription_snapshot(
            obj,
            created=created if isinstance(created, int) else 0,
            deleted=kind.endswith("deleted"),
        )
    return "ignored"


def _stripe_checkout_completed(session: dict) -> str:
    metadata = session.get("metadata") or {}
    checkout_id = metadata.get("checkout_id") or session.get("client_reference_id")
    if session.get("mode") == "subscription":
        checkout_uuid = _parse_checkout_id(checkout_id)
        checkout = (
            Checkout.objects.select_for_update()
            .filter(pk=checkout_uuid, provider=Provider.STRIPE)
            .first()
            if checkout_uuid
            else None
        )
        if checkout is None:
            return "no such checkout"
        if isinstance(session.get("customer"), str):
            _link_customer(checkout.user, Provider.STRIPE, session["customer"])
        if checkout.status != CheckoutStatus.COMPLETED:
            checkout.status = CheckoutStatus.COMPLETED
            checkout.completed_at = timezone.now()
            checkout.provider_ref = checkout.provider_ref or session.get("id")
            checkout.save(update_fields=["status", "completed_at", "provider_ref"])
        return "subscription checkout completed"
    if session.get("payment_status") != "paid":
        return "awaiting payment"
    done = fulfil_pack_checkout(
        checkout_id=checkout_id,
        provider=Provider.STRIPE,
        provider_ref=session.get("id"),
        paid_amount=session.get("amount_total"),
        paid_currency=session.get("currency"),
    )
    if done is None:
        return "no such checkout"
    return "credited" if done.status == CheckoutStatus.COMPLETED else "amount mismatch"


def _link_customer(user, provider: str, customer_id: str) -> None:
    if not BillingCustomer.objects.filter(provider=provider, customer_id=customer_id).exists():
        try:
            with transaction.atomic():
                BillingCustomer.objects.create(
                    user=user, provider=provider, customer_id=customer_id
                )
        except IntegrityError:
            pass  # already linked (this user has another customer id): the first one stays


def _subscriber(customer_id, metadata: dict | None):
    from django.contrib.auth import get_user_model

    link = (
        BillingCustomer.objects.select_related("user")
        .filter(provider=Provider.STRIPE, customer_id=customer_id)
        .first()
        if isinstance(customer_id, str)
        else None
    )
    if link is not None:
        return link.user
    user_id = (metadata or {}).get("user_id")
    if isinstance(user_id, str) and user_id.isdigit():
        return get_user_model().objects.filter(pk=int(user_id)).first()
    return None


def _ts(value) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None


def _line_price_id(line: dict) -> str | None:
    price = line.get("price")
    if isinstance(price, dict) and isinstance(price.get("id"), str):
        return price["id"]
    details = (line.get("pricing") or {}).get("price_details") or {}
    price = details.get("price")
    return price if isinstance(price, str) else (price or {}).get("id")


def _invoice_subscription(invoice: dict) -> tuple[str | None, dict]:
    """(subscription id, its metadata at invoice time), in old and new API shapes."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    legacy = invoice.get("subscription_details") or {}
    sub = invoice.get("subscription") or details.get("subscription")
    if isinstance(sub, dict):
        sub = sub.get("id")
    metadata = details.get("metadata") or legacy.get("metadata") or {}
    return (sub if isinstance(sub, str) else None), metadata


def _stripe_invoice_paid(invoice: dict) -> str:
    subscription_id, metadata = _invoice_subscription(invoice)
    if subscription_id is None:
        return "not a subscription invoice"
    user = _subscriber(invoice.get("customer"), metadata)
    if user is None:
        return "unknown customer"
    lines = [
        line for line in ((invoice.get("lines") or {}).get("data") or []) if isinstance(line, dict)
    ]
    best = None
    for line in lines:
        if (line.get("amount") or 0) < 0:
            continue  # proration credit for the old plan
        found = catalog.tier_for_price(_line_price_id(line)) or catalog.tier(
            (line.get("metadata") or {}).get("tier")
        )
        if found and (best is None or found.rank > best[0].rank):
            best = (found, line)
    if best is None:
        found = catalog.tier(metadata.get("tier"))
        best = (found, lines[0] if lines else {}) if found else None
    if best is None or best[0].is_free:
        return "unknown plan"
    tier, line = best
    period = line.get("period") or {}
    start = _ts(period.get("start")) or _ts(invoice.get("period_start")) or timezone.now()
    end = _ts(period.get("end")) or _ts(invoice.get("period_end"))
    return apply_subscription_payment(
        user=user,
        tier=tier,
        provider=Provider.STRIPE,
        subscription_ref=subscription_id,
        payment_ref=f"stripe:invoice:{invoice.get('id')}",
        period_start=start,
        period_end=end,
        currency=str(invoice.get("currency") or "usd").upper(),
    )


def _locked_subscription(user, provider: str) -> Subscription:
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
        subscription = _locked_subscription(user, provider)
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
        return "granted"


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


def _stripe_invoice_failed(invoice: dict) -> str:
    subscription_id, metadata = _invoice_subscription(invoice)
    user = _subscriber(invoice.get("customer"), metadata)
    if subscription_id is None or user is None:
        return "ignored"
    subscription = Subscription.objects.select_for_update().filter(user=user).first()
    if subscription is None or subscription.provider_subscription_id != subscription_id:
        return "unknown subscription"
    if subscription.status != SubscriptionStatus.ACTIVE:
        return "not active"
    _start_grace(subscription)
    return "grace period started"


def _start_grace(subscription: Subscription) -> None:
    subscription.status = SubscriptionStatus.PAST_DUE
    if subscription.grace_until is None:
        subscription.grace_until = timezone.now() + GRACE_PERIOD
    subscription.save(update_fields=["status", "grace_until", "updated_at"])


_STRIPE_STATUS = {
    "active": SubscriptionStatus.ACTIVE,
    "trialing": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.PAST_DUE,
    "canceled": SubscriptionStatus.CANCELED,
    "incomplete_expired": SubscriptionStatus.CANCELED,
    "incomplete": SubscriptionStatus.INCOMPLETE,
    "paused": SubscriptionStatus.PAST_DUE,
}


def _stripe_subscription_snapshot(obj: dict, *, created: int, deleted: bool) -> str:
    subscription_id = obj.get("id")
    user = _subscriber(obj.get("customer"), obj.get("metadata"))
    if not isinstance(subscription_id, str) or user is None:
        return "unknown customer"
    subscription = _locked_subscription(user, Provider.STRIPE)
    ended = (
        subscription.provider_subscription_id == subscription_id
        and subscription.status == SubscriptionStatus.CANCELED
    )
    if subscription.provider_subscription_id not in (None, subscription_id):
        if deleted or subscription.status != SubscriptionStatus.CANCELED:
            return "another subscription"  # an older subscription of this user
        subscription.provider_subscription_id = subscription_id
        subscription.last_event_at = 0
    if created < subscription.last_event_at:
        return "older snapshot"
    if ended and not deleted:
        # Cancellation is final at Stripe: a same-second update seen later must not revive it.
        return "subscription already ended"
    subscription.last_event_at = created
    subscription.provider = Provider.STRIPE
    subscription.provider_subscription_id = subscription_id
    status = SubscriptionStatus.CANCELED if deleted else _STRIPE_STATUS.get(obj.get("status"))
    items = [i for i in ((obj.get("items") or {}).get("data") or []) if isinstance(i, dict)]
    period_end = _ts(obj.get("current_period_end")) or (
        _ts(items[0].get("current_period_end")) if items else None
    )
    if period_end is not None and status != SubscriptionStatus.CANCELED:
        subscription.current_period_end = period_end
    subscription.cancel_at_period_end = bool(obj.get("cancel_at_period_end"))
    priced = [catalog.tier_for_price(_line_price_id(i)) for i in items]
    planned = next((t for t in priced if t), None) or catalog.tier(
        (obj.get("metadata") or {}).get("tier")
    )
    current = catalog.tier(subscription.tier) or catalog.free_tier()
    if planned and planned.rank < current.rank and not current.is_free:
        subscription.next_tier = planned.name  # downgrades apply at the next renewal
    if status == SubscriptionStatus.CANCELED:
        _downgrade_to_free(subscription)
        return "cancelled"
    if status == SubscriptionStatus.PAST_DUE:
        if subscription.status == SubscriptionStatus.ACTIVE:
            _start_grace(subscription)
        subscription.status = SubscriptionStatus.PAST_DUE
    elif status == SubscriptionStatus.ACTIVE:
        if subscription.status == SubscriptionStatus.PAST_DUE:
            subscription.grace_until = None
        # a plan is active once paid: the invoice sets the tier; here only the state follows
        if subscription.status != SubscriptionStatus.INCOMPLETE or not current.is_free:
            subscription.status = SubscriptionStatus.ACTIVE
    subscription.save()
    return "updated"


def _downgrade_to_free(subscription: Subscription, now: datetime | None = None) -> None:
    close_grant_period(user=subscription.user, now=now)
    subscription.tier = catalog.FREE
    subscription.next_tier = ""
    subscription.status = SubscriptionStatus.CANCELED
    subscription.cancel_at_period_end = False
    subscription.grace_until = None
    subscription.save()


# --------------------------------------------------------------------------------------------
# Subscriptions: start, change, cancel, periodic


def _ensure_stripe_customer(user) -> str:
    link = BillingCustomer.objects.filter(user=user, provider=Provider.STRIPE).first()
    if link is not None:
        return link.customer_id
    customer = gateway.create_customer(
        user_id=user.pk,
        username=user.username,
        email=user.email,
        idempotency_key=f"customer-{user.pk}",
    )
    _link_customer(user, Provider.STRIPE, customer["id"])
    return BillingCustomer.objects.get(user=user, provider=Provider.STRIPE).customer_id


def _stripe_price(tier: catalog.Tier, product: str | None = None) -> dict:
    if tier.stripe_price_id:
        return {"price": tier.stripe_price_id}
    price_data = {
        "currency": "usd",
        "unit_amount": tier.price_usd_cents,
        "recurring": {"interval": "month"},
    }
    if product:
        price_data["product"] = product
    else:
        price_data["product_data"] = {"name": f"StyleVault {tier.name}"}
    return {"price_data": price_data}


def _self_serve_tier(name) -> catalog.Tier:
    tier = catalog.tier(name)
    if tier is None:
        raise _field_error("tier", _("There is no such plan."))
    if not tier.self_serve:
        raise _field_error("tier", _("This plan cannot be bought here; contact us."))
    return tier


def _is_live(subscription: Subscription | None) -> bool:
    return bool(
        subscription
        and subscription.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
        and subscription.tier != catalog.FREE
    )


def start_subscription_checkout(*, user, tier, success_url: str, cancel_url: str) -> Checkout:
    chosen = _self_serve_tier(tier)
    if _is_live(Subscription.objects.filter(user=user).first()):
        raise errors.Conflict(_("You already have a plan: change it instead."))
    provider = _provider_for_checkout()
    checkout = Checkout.objects.create(
        user=user,
        provider=provider,
        kind=CheckoutKind.SUBSCRIPTION,
        tier=chosen.name,
        credits=chosen.monthly_credits,
        currency="USD",
        amount=chosen.price_usd_cents,
    )
    ids = {"checkout_id": str(checkout.pk), "user_id": str(user.pk), "tier": chosen.name}
    return _open_checkout(
        checkout,
        lambda: {
            "mode": "subscription",
            "customer": _ensure_stripe_customer(user),
            "line_items": [{"quantity": 1, **_stripe_price(chosen)}],
            "client_reference_id": str(checkout.pk),
            "metadata": ids,
            "subscription_data": {"metadata": {"user_id": str(user.pk), "tier": chosen.name}},
            "success_url": success_url,
            "cancel_url": cancel_url,
        },
    )


def change_tier(*, user, tier) -> Subscription:
    """Upgrades take effect at once with the new month of credits (Stripe invoices the
    difference; the paid invoice brings the grant). Downgrades apply at the next renewal."""
    chosen = _self_serve_tier(tier)
    subscription = Subscription.objects.filter(user=user).first()
    if not _is_live(subscription):
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
        apply_subscription_payment(
            user=user,
            tier=chosen,
            provider=Provider.DEV,
            subscription_ref=subscription.provider_subscription_id or f"dev-{user.pk}",
            payment_ref=f"dev:upgrade:{subscription.pk}:{now.isoformat()}",
            period_start=now,
            period_end=now + DEV_PERIOD,
            currency="USD",
        )
    else:
        Subscription.objects.filter(pk=subscription.pk).update(next_tier=chosen.name)
    subscription.refresh_from_db()
    return subscription


def _set_stripe_tier(subscription: Subscription, *, user, tier, prorate: bool) -> None:
    """Moves the Stripe subscription to the tier's price; its metadata names the tier that
    the next paid invoice grants."""
    remote = gateway.retrieve_subscription(subscription.provider_subscription_id)
    item = ((remote.get("items") or {}).get("data") or [{}])[0]
    product = ((item.get("price") or {}).get("product")) if isinstance(item, dict) else None
    gateway.update_subscription(
        subscription.provider_subscription_id,
        {
            "items": [{"id": item.get("id"), **_stripe_price(tier, product)}],
            "proration_behavior": "always_invoice" if prorate else "none",
            "metadata": {"user_id": str(user.pk), "tier": tier.name},
        },
        idempotency_key=f"tier-{subscription.pk}-{tier.name}-{timezone.now():%Y%m%d%H%M}",
    )


def cancel_subscription(*, user) -> Subscription:
    """Cancels at the end of the paid period: the plan and its credits last until then."""
    subscription = Subscription.objects.filter(user=user).first()
    if not _is_live(subscription):
        raise errors.Conflict(_("You have no plan to cancel."))
    if subscription.provider == Provider.STRIPE:
        gateway.update_subscription(
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
                _downgrade_to_free(subscription, now)
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
        outcome = apply_subscription_payment(
            user=subscription.user,
            tier=tier,
            provider=Provider.DEV,
            subscription_ref=subscription.provider_subscription_id or f"dev-{subscription.user_id}",
            payment_ref=f"dev:renewal:{subscription.pk}:{start.isoformat()}",
            period_start=start,
            period_end=start + DEV_PERIOD,
            currency="USD",
        )
        count += outcome == "granted"
    return count


# --------------------------------------------------------------------------------------------
# Artist payouts


def payout_rate() -> Decimal:
    return Decimal(str(settings.STYLEVAULT_PAYOUT_USD_CENTS_PER_CREDIT))


def payout_value_cents(credits: int) -> int:
    return math.floor(Decimal(credits) * payout_rate())


def create_payout_batch(*, created_by=None) -> PayoutBatch | None:
    """Takes every artist's earnings worth at least the minimum payout (20 USD by default) out
    of their earnings account into a payout; smaller balances carry over to the next batch."""
    rate, minimum = payout_rate(), int(settings.STYLEVAULT_PAYOUT_MINIMUM_USD_CENTS)
    if rate <= 0:
        return None
    from stylevault.ledger.models import Account

    candidates = list(
        Account.objects.filter(kind=AccountKind.ARTIST_EARNINGS, posted__gt=0, owner__isnull=False)
        .order_by("owner_id")
        .values_list("owner_id", flat=True)
    )
    batch = PayoutBatch.objects.create(created_by=created_by)
    made = 0
    for artist_id in candidates:
        with transaction.atomic():
            spec = ledger.artist_earnings(artist_id)
            available = ledger.lock_accounts([spec])[spec.code].available
            cents = payout_value_cents(available)
            if cents < max(minimum, 1):
                continue  # carried over
            credits = min(available, math.ceil(Decimal(cents) / rate))
            payout = Payout.objects.create(
                batch=batch, artist_id=artist_id, credits=credits, amount=cents, currency="USD"
            )
            ledger.post(
                postings=[
                    ledger.Posting(
                        debit=spec,
                        credit=ledger.provider(PAYOUT_PROVIDER, "USD"),
                        amount=credits,
                        kind=TransferKind.PAYOUT,
                        beneficiary_id=artist_id,
                        description=f"payout #{payout.pk}",
                        metadata={"payout": payout.pk, "amount_cents": cents},
                    )
                ],
                idempotency_key=f"payout:{payout.pk}",
            )
            made += 1
    if not made:
        batch.delete()
        return None
    return batch


def reverse_payout(*, payout_id: int, reason: str, refused_by_stripe: bool = False) -> Payout:
    """A payout that cannot be made: its credits go back to the artist's earnings, once.

    A payout being sent is only reversed on Stripe's explicit refusal: otherwise the transfer
    may exist and the artist would be paid twice."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().filter(pk=payout_id).first()
        if payout is None:
            raise errors.NotFound(_("No such payout."))
        if payout.status == PayoutStatus.REVERSED:
            return payout
        if payout.status == PayoutStatus.SENT:
            raise errors.Conflict(_("This payout was already sent."))
        if payout.status == PayoutStatus.SENDING and not refused_by_stripe:
            raise errors.Conflict(
                _("This payout is being sent through Stripe; check the transfer there first.")
            )
        ledger.post(
            postings=[
                ledger.Posting(
                    debit=ledger.provider(PAYOUT_PROVIDER, payout.currency),
                    credit=ledger.artist_earnings(payout.artist_id),
                    amount=payout.credits,
                    kind=TransferKind.PAYOUT_REVERSAL,
                    beneficiary_id=payout.artist_id,
                    description=f"payout #{payout.pk} returned",
                )
            ],
            idempotency_key=f"payout-reversal:{payout.pk}",
        )
        payout.status = PayoutStatus.REVERSED
        payout.error = reason[:500]
        payout.save(update_fields=["status", "error"])
        return payout


def mark_payout_sent(*, payout_id: int, reference: str = "") -> Payout:
    """For payouts made by hand from the CSV export."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().filter(pk=payout_id).first()
        if payout is None:
            raise errors.NotFound(_("No such payout."))
        if payout.status == PayoutStatus.REVERSED:
            raise errors.Conflict(_("This payout was returned to the artist."))
        if payout.status in (PayoutStatus.PENDING, PayoutStatus.SENDING):
            payout.status = PayoutStatus.SENT
            payout.sent_at = timezone.now()
            payout.stripe_transfer_id = payout.stripe_transfer_id or reference[:255]
            payout.save(update_fields=["status", "sent_at", "stripe_transfer_id"])
        return payout


def send_payout_batch(*, batch_id: int) -> dict:
    """Pays the batch's payouts with Stripe Connect transfers, one idempotency key per payout.

    Each payout is marked `sending` (committed) before Stripe is asked, so an operator cannot
    return its credits while the money may be on its way. Refused transfers are reversed;
    network failures stay `sending` and are retried with the same key on the next run; artists
    without a Connect account stay pending for a manual payout."""
    import stripe

    result = {"sent": 0, "reversed": 0, "pending": 0, "errors": 0}
    open_payouts = Payout.objects.filter(
        batch_id=batch_id, status__in=(PayoutStatus.PENDING, PayoutStatus.SENDING)
    )
    for payout_id in open_payouts.values_list("pk", flat=True):
        try:
            payout, account = _claim_payout_for_sending(payout_id)
            if payout is None:
                result["pending"] += 1
                continue
            transfer = gateway.create_transfer(
                {
                    "amount": payout.amount,
                    "currency": payout.currency.lower(),
                    "destination": account,
                    "transfer_group": f"payout-batch-{batch_id}",
                    "metadata": {"payout_id": str(payout.pk), "artist_id": str(payout.artist_id)},
                },
                idempotency_key=f"payout-{payout.pk}",
            )
        except stripe.APIConnectionError:
            result["pending"] += 1
            continue
        except gateway.TransferFailed as exc:
            reverse_payout(payout_id=payout_id, reason=str(exc), refused_by_stripe=True)
            result["reversed"] += 1
            continue
        except errors.DomainError:  # e.g. reversed meanwhile by an operator: skip it
            log.warning("payout %s skipped", payout_id, exc_info=True)
            result["errors"] += 1
            continue
        mark_payout_sent(payout_id=payout_id, reference=transfer.get("id", ""))
        result["sent"] += 1
    return result


def _claim_payout_for_sending(payout_id: int) -> tuple[Payout | None, str]:
    """Marks the payout `sending` in its own committed transaction, before Stripe is called."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().filter(pk=payout_id).first()
        if payout is None or payout.status not in (PayoutStatus.PENDING, PayoutStatus.SENDING):
            return None, ""
        profile = PayoutProfile.objects.filter(user_id=payout.artist_id).first()
        if profile is None or not profile.stripe_account_id:
            return None, ""
        if payout.status == PayoutStatus.PENDING:
            payout.status = PayoutStatus.SENDING
            payout.save(update_fields=["status"])
        return payout, profile.stripe_account_id


def set_payout_account(*, artist, stripe_account_id: str) -> PayoutProfile:
    value = (stripe_account_id or "").strip()
    if value and not value.startswith("acct_"):
        raise _field_error("stripe_account_id", _("A Stripe Connect account id starts with acct_."))
    profile, _created = PayoutProfile.objects.update_or_create(
        user=artist, defaults={"stripe_account_id": value}
    )
    return profile
