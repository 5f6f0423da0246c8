"""Lemon Squeezy's events turned into billing services: a paid order credits its pack
(our checkout id rides in ``meta.custom_data``), a refunded order reverses it."""

from __future__ import annotations

from stylevault.billing.clients import lemonsqueezy as lemonsqueezy_api
from stylevault.billing.models import CheckoutStatus, Provider, ReversalCause
from stylevault.billing.services import refunds
from stylevault.billing.services.packs import fulfil_pack_checkout
from stylevault.billing.services.webhooks import once


def handle_webhook(*, payload: bytes, signature: str) -> str:
    event = lemonsqueezy_api.verify_lemonsqueezy_event(payload, signature)
    meta, data = event.get("meta") or {}, event.get("data") or {}
    name = str(meta.get("event_name", ""))
    event_id = f"{name}:{data.get('type', '')}:{data.get('id', '')}"
    if name == "order_refunded":  # each partial refund is its own event: its total names it
        event_id += f":{(data.get('attributes') or {}).get('refunded_amount')}"
    return once(Provider.LEMONSQUEEZY, event_id, name, lambda: _lemonsqueezy_event(event))


def _lemonsqueezy_event(event: dict) -> str:
    meta, data = event.get("meta") or {}, event.get("data") or {}
    attributes = data.get("attributes") or {}
    if meta.get("event_name") == "order_refunded":
        return _order_refunded(data, attributes)
    if meta.get("event_name") != "order_created":
        return "ignored"
    if attributes.get("status") != "paid":
        return "not paid"
    custom = meta.get("custom_data") or {}
    done = fulfil_pack_checkout(
        checkout_id=custom.get("checkout_id"),
        provider=Provider.LEMONSQUEEZY,
        provider_ref=f"ls-order-{data.get('id')}",
        payment_ref=f"ls-order-{data.get('id')}",
        tax_amount=attributes.get("tax") if isinstance(attributes.get("tax"), int) else None,
        paid_amount=attributes.get("total"),
        paid_currency=attributes.get("currency"),
    )
    return "credited" if done and done.status == CheckoutStatus.COMPLETED else "no such checkout"


def _order_refunded(data: dict, attributes: dict) -> str:
    checkout = refunds.checkout_paid_by(Provider.LEMONSQUEEZY, f"ls-order-{data.get('id')}")
    refunded = attributes.get("refunded_amount")
    if checkout is None or not isinstance(refunded, int):
        return "no such payment"
    return refunds.reverse_purchase(
        checkout=checkout,
        reversed_amount=refunded,
        cause=ReversalCause.REFUND,
        reference=f"lemonsqueezy:order_refunded:{data.get('id')}:{refunded}",
    )
