"""Stripe's events turned into billing services: paid checkouts credit packs, paid invoices
grant subscription periods, subscription snapshots set the plan's state (newest first), and
refunds and disputes reverse purchases. Each event once (webhooks.once on its id)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.utils import timezone

from stylevault.billing import catalog
from stylevault.billing.clients import stripe as stripe_api
from stylevault.billing.models import (
    BillingCustomer,
    Checkout,
    CheckoutStatus,
    Provider,
    ReversalCause,
    Subscription,
    SubscriptionStatus,
)
from stylevault.billing.services import refunds, subscriptions
from stylevault.billing.services.packs import fulfil_pack_checkout
from stylevault.billing.services.webhooks import once


def handle_webhook(*, payload: bytes, signature: str) -> str:
    event = stripe_api.verify_stripe_event(payload, signature)
    return once(
        Provider.STRIPE, event["id"], str(event.get("type", "")), lambda: _stripe_event(event)
    )


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
    if kind == "charge.refunded":
        return _charge_refunded(obj, event["id"])
    if kind == "charge.dispute.created":
        return _dispute(obj, event["id"], closed=False)
    if kind == "charge.dispute.closed":
        return _dispute(obj, event["id"], closed=True)
    return "ignored"


def _paid_checkout(obj: dict) -> Checkout | None:
    """The pack checkout a charge or dispute belongs to, by its payment intent."""
    intent = obj.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    return refunds.checkout_paid_by(Provider.STRIPE, intent)


def _charge_refunded(charge: dict, event_id: str) -> str:
    """Full and partial refunds: ``amount_refunded`` is the total refunded so far."""
    checkout = _paid_checkout(charge)
    refunded = charge.get("amount_refunded")
    if checkout is None or not isinstance(refunded, int):
        return "no such payment"
    return refunds.reverse_purchase(
        checkout=checkout, reversed_amount=refunded, cause=ReversalCause.REFUND,
        reference=f"stripe:{event_id}",
    )  # fmt: skip


def _dispute(dispute: dict, event_id: str, *, closed: bool) -> str:
    """A dispute takes the whole purchase back at once; won, it gives it back."""
    checkout = _paid_checkout(dispute)
    if checkout is None:
        return "no such payment"
    if not closed:
        return refunds.reverse_purchase(
            checkout=checkout, reversed_amount=checkout.amount, cause=ReversalCause.DISPUTE,
            reference=f"stripe:{event_id}", note=str(dispute.get("reason") or "")[:200],
        )  # fmt: skip
    if dispute.get("status") == "won":
        return refunds.restore_disputed(checkout=checkout, reference=f"stripe:{event_id}")
    return f"dispute {dispute.get('status') or 'closed'}"


def _stripe_checkout_completed(session: dict) -> str:
    metadata = session.get("metadata") or {}
    checkout_id = metadata.get("checkout_id") or session.get("client_reference_id")
    if session.get("mode") == "subscription":
        checkout_uuid = Checkout.parse_id(checkout_id)
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
            subscriptions.link_customer(checkout.user, Provider.STRIPE, session["customer"])
        if checkout.status != CheckoutStatus.COMPLETED:
            checkout.status = CheckoutStatus.COMPLETED
            checkout.completed_at = timezone.now()
            checkout.provider_ref = checkout.provider_ref or session.get("id")
            checkout.save(update_fields=["status", "completed_at", "provider_ref"])
        return "subscription checkout completed"
    if session.get("payment_status") != "paid":
        return "awaiting payment"
    intent = session.get("payment_intent")
    done = fulfil_pack_checkout(
        checkout_id=checkout_id,
        provider=Provider.STRIPE,
        provider_ref=session.get("id"),
        payment_ref=intent if isinstance(intent, str) else None,
        tax_amount=(session.get("total_details") or {}).get("amount_tax"),
        paid_amount=session.get("amount_total"),
        paid_currency=session.get("currency"),
    )
    if done is None:
        return "no such checkout"
    return "credited" if done.status == CheckoutStatus.COMPLETED else "amount mismatch"


def _subscriber(customer_id, metadata: dict | None):
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
    return subscriptions.apply_subscription_payment(
        user=user,
        tier=tier,
        provider=Provider.STRIPE,
        subscription_ref=subscription_id,
        payment_ref=f"stripe:invoice:{invoice.get('id')}",
        period_start=start,
        period_end=end,
        currency=str(invoice.get("currency") or "usd").upper(),
    )


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
    subscriptions.start_grace(subscription)
    return "grace period started"


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
    subscription = subscriptions.locked_subscription(user, Provider.STRIPE)
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
        subscriptions.downgrade_to_free(subscription)
        return "cancelled"
    if status == SubscriptionStatus.PAST_DUE:
        if subscription.status == SubscriptionStatus.ACTIVE:
            subscriptions.start_grace(subscription)
        subscription.status = SubscriptionStatus.PAST_DUE
    elif status == SubscriptionStatus.ACTIVE:
        if subscription.status == SubscriptionStatus.PAST_DUE:
            subscription.grace_until = None
        # a plan is active once paid: the invoice sets the tier; here only the state follows
        if subscription.status != SubscriptionStatus.INCOMPLETE or not current.is_free:
            subscription.status = SubscriptionStatus.ACTIVE
    subscription.save()
    return "updated"
