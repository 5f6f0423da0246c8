"""Lemon Squeezy's wire: the webhook HMAC and checkout creation (JSON:API over HTTPS)."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from stylevault.billing.gateway import PaymentsUnavailable
from stylevault.core import errors


def verify_lemonsqueezy_event(payload: bytes, signature: str) -> dict:
    """X-Signature is the hex HMAC-SHA256 of the raw body with the webhook secret."""
    secret = settings.STYLEVAULT_LEMONSQUEEZY_WEBHOOK_SECRET
    if not secret:
        raise PaymentsUnavailable(_("Lemon Squeezy webhooks are not configured on this server."))
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    received = (signature or "").strip().lower().encode("utf-8", "replace")
    if not received or not hmac.compare_digest(expected.encode(), received):
        raise errors.ValidationFailed(
            _("The webhook signature is not valid."), details={"signature": "invalid"}
        )
    try:
        event = json.loads(payload)
    except ValueError:
        raise errors.ValidationFailed(_("The webhook body is not JSON.")) from None
    if not isinstance(event, dict) or not isinstance(event.get("meta"), dict):
        raise errors.ValidationFailed(_("This is not a Lemon Squeezy event."))
    return event


def create_checkout(*, checkout_id: str, amount: int, name: str, redirect_url: str) -> str:
    """POST /v1/checkouts (JSON:API): a hosted checkout of the store's credit variant at our
    price, carrying our checkout id in ``checkout_data.custom`` (the order_created webhook
    brings it back in ``meta.custom_data``). Returns the checkout's URL."""
    body = {
        "data": {
            "type": "checkouts",
            "attributes": {
                "custom_price": amount,
                "product_options": {"name": name, "redirect_url": redirect_url},
                "checkout_data": {"custom": {"checkout_id": checkout_id}},
            },
            "relationships": {
                "store": {
                    "data": {"type": "stores", "id": settings.STYLEVAULT_LEMONSQUEEZY_STORE_ID}
                },
                "variant": {
                    "data": {"type": "variants", "id": settings.STYLEVAULT_LEMONSQUEEZY_VARIANT_ID}
                },
            },
        }
    }
    try:
        response = httpx.post(
            settings.STYLEVAULT_LEMONSQUEEZY_API_URL.rstrip("/") + "/v1/checkouts",
            json=body,
            headers={
                "Accept": "application/vnd.api+json",
                "Content-Type": "application/vnd.api+json",
                "Authorization": f"Bearer {settings.STYLEVAULT_LEMONSQUEEZY_API_KEY}",
            },
            timeout=httpx.Timeout(30.0, connect=5.0),
        )
        url = response.json()["data"]["attributes"]["url"] if response.status_code == 201 else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        url = None
    if not isinstance(url, str) or not url:
        raise PaymentsUnavailable(
            _("The payment provider did not accept the request. Please try again later."),
            details={"provider": "lemonsqueezy"},
        )
    return url
