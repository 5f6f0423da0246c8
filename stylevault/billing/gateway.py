"""The payment providers' wire: Stripe through the official library, Lemon Squeezy's HMAC.

Nothing here touches the database; services decide what a payment means.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import stripe
from django.conf import settings
from django.utils.translation import gettext as _

from stylevault.core import errors


class PaymentsUnavailable(errors.DomainError):
    code, status = "CONFLICT", 409


def stripe_enabled() -> bool:
    return bool(settings.STYLEVAULT_STRIPE_SECRET_KEY)


def dev_payments_enabled() -> bool:
    """The development provider: embedded mode without Stripe, never in production."""
    return not stripe_enabled() and not settings.PRODUCTION


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
