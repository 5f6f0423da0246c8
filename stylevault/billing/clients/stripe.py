"""Stripe's wire, through the official library: sessions, customers, subscriptions,
transfers, refunds, and the webhook signature check. Nothing here touches the database."""

from __future__ import annotations

import json
from typing import Any

import stripe
from django.conf import settings
from django.utils.translation import gettext as _

from stylevault.billing.gateway import PaymentsUnavailable
from stylevault.core import errors


def _client() -> stripe.StripeClient:
    base = settings.STYLEVAULT_STRIPE_API_BASE
    return stripe.StripeClient(
        settings.STYLEVAULT_STRIPE_SECRET_KEY,
        base_addresses={"api": base} if base else None,
        max_network_retries=2,
    )


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except stripe.StripeError as exc:
        raise PaymentsUnavailable(
            _("The payment provider did not accept the request. Please try again later."),
            details={"provider": "stripe", "reason": str(getattr(exc, "user_message", "") or "")},
        ) from exc


def to_dict(obj: Any) -> dict:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def create_checkout_session(params: dict, *, idempotency_key: str) -> dict:
    client = _client()
    session = _call(
        client.v1.checkout.sessions.create, params, {"idempotency_key": idempotency_key}
    )
    return to_dict(session)


def create_customer(*, user_id: int, username: str, email: str, idempotency_key: str) -> dict:
    params = {"metadata": {"user_id": str(user_id)}, "name": username}
    if email:
        params["email"] = email
    customer = _call(_client().v1.customers.create, params, {"idempotency_key": idempotency_key})
    return to_dict(customer)


def retrieve_subscription(subscription_id: str) -> dict:
    return to_dict(_call(_client().v1.subscriptions.retrieve, subscription_id))


def update_subscription(subscription_id: str, params: dict, *, idempotency_key: str) -> dict:
    subscription = _call(
        _client().v1.subscriptions.update,
        subscription_id,
        params,
        {"idempotency_key": idempotency_key},
    )
    return to_dict(subscription)


class TransferFailed(Exception):
    """Stripe refused a payout transfer for good (not a network problem)."""


def create_transfer(params: dict, *, idempotency_key: str) -> dict:
    """A Stripe Connect transfer. Network trouble raises stripe.APIConnectionError (retry later
    with the same key); a refusal raises TransferFailed."""
    try:
        transfer = _client().v1.transfers.create(params, {"idempotency_key": idempotency_key})
    except stripe.APIConnectionError:
        raise
    except stripe.StripeError as exc:
        raise TransferFailed(str(getattr(exc, "user_message", None) or exc)) from exc
    return to_dict(transfer)


def verify_stripe_event(payload: bytes, signature: str) -> dict:
    """Checks Stripe-Signature with the official check (HMAC, 5-minute tolerance); returns the
    event as plain JSON. Raises errors.ValidationFailed on a forged or stale signature."""
    secret = settings.STYLEVAULT_STRIPE_WEBHOOK_SECRET
    if not secret:
        raise PaymentsUnavailable(_("Stripe webhooks are not configured on this server."))
    try:
        stripe.Webhook.construct_event(payload, signature or "", secret)
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError, AttributeError, TypeError) as exc:
        raise errors.ValidationFailed(
            _("The webhook signature is not valid."), details={"signature": "invalid"}
        ) from exc
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise errors.ValidationFailed(_("This is not a Stripe event."))
    return event


def price(tier, product: str | None = None) -> dict:
    """A subscription line's price: the tier's Stripe price, or inline monthly price data."""
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
