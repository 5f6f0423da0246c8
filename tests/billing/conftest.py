"""Billing fixtures: the fake Stripe and signed webhook deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
LEMON_SECRET = "lemon-secret"


@pytest.fixture
def stripe_server(settings):
    from tests.billing.fake_stripe import FakeStripe

    fake = FakeStripe()
    settings.STYLEVAULT_STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STYLEVAULT_STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET
    settings.STYLEVAULT_STRIPE_API_BASE = fake.url
    yield fake
    fake.close()


def stripe_signature(
    payload: bytes, *, secret: str = STRIPE_WEBHOOK_SECRET, at: int | None = None
) -> str:
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def stripe_event(kind: str, obj: dict, *, event_id: str, created: int | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": kind,
            "created": int(time.time()) if created is None else created,
            "data": {"object": obj},
        }
    ).encode()


@pytest.fixture
def deliver_stripe(settings):
    """Posts a signed Stripe event to the webhook endpoint, as Stripe would."""
    from rest_framework.test import APIClient

    settings.STYLEVAULT_STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET

    def deliver(kind: str, obj: dict, *, event_id: str, created: int | None = None, signature=None):
        payload = stripe_event(kind, obj, event_id=event_id, created=created)
        client = APIClient(enforce_csrf_checks=True)
        return client.post(
            "/api/v1/webhooks/stripe",
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature if signature is not None else stripe_signature(payload),
        )

    return deliver


def lemon_signature(payload: bytes, secret: str = LEMON_SECRET) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
