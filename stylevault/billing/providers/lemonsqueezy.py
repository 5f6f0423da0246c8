"""Lemon Squeezy's events turned into billing services: a paid order credits its pack
(our checkout id rides in ``meta.custom_data``), a refunded order reverses it."""

from __future__ import annotations

from stylevault.billing.clients import lemonsqueezy as lemonsqueezy_api
from stylevault.billing.models import CheckoutStatus, Provider
from stylevault.billing.services.packs import fulfil_pack_checkout
from stylevault.billing.services.webhooks import once


def handle_webhook(*, payload: bytes, signature: str) -> str:
    event = lemonsqueezy_api.verify_lemonsqueezy_event(payload, signature)
    meta, data = event.get("meta") or {}, event.get("data") or {}
    name = str(meta.get("event_name", ""))
    event_id = f"{name}:{data.get('type', '')}:{data.get('id', '')}"
    return once(Provider.LEMONSQUEEZY, event_id, name, lambda: _lemonsqueezy_event(event))


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
