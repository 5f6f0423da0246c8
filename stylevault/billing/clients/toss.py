"""Toss Payments' wire (core API v1, JSON over HTTPS): confirm, read and cancel a payment.

Every call is authenticated with HTTP Basic (the secret key as user, no password); writes
carry an Idempotency-Key, so a retried confirm or cancel is answered once by Toss."""

from __future__ import annotations

import functools
from urllib.parse import quote

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from stylevault.billing.gateway import PaymentsUnavailable

TIMEOUT = httpx.Timeout(30.0, connect=5.0)


@functools.cache
def _client() -> httpx.Client:
    """One pooled client per process: building one loads the TLS trust store (~0.1 s)."""
    return httpx.Client(timeout=TIMEOUT)


class PaymentRefused(Exception):
    """Toss answered with an error (amount mismatch, already processed, not found, ...)."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(f"{code}: {message}")


def _request(method: str, path: str, *, json: dict | None = None, key: str | None = None) -> dict:
    headers = {"Idempotency-Key": key} if key else {}
    try:
        response = _client().request(
            method,
            settings.STYLEVAULT_TOSS_API_URL.rstrip("/") + path,
            json=json,
            headers=headers,
            auth=(settings.STYLEVAULT_TOSS_SECRET_KEY, ""),
        )
    except httpx.HTTPError as exc:
        raise PaymentsUnavailable(
            _("The payment provider did not answer. Please try again later."),
            details={"provider": "toss"},
        ) from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 500 or not isinstance(body, dict):
        # Toss always answers a JSON object: anything else came from something in between.
        reason = body.get("code", "") if isinstance(body, dict) else response.status_code
        raise PaymentsUnavailable(
            _("The payment provider did not accept the request. Please try again later."),
            details={"provider": "toss", "reason": str(reason)},
        )
    if response.status_code >= 400:
        raise PaymentRefused(str(body.get("code", response.status_code)), str(body.get("message")))
    return body


def confirm(*, payment_key: str, order_id: str, amount: int) -> dict:
    """POST /v1/payments/confirm: Toss takes the money only now (within 10 minutes of the
    buyer's approval)."""
    return _request(
        "POST",
        "/v1/payments/confirm",
        json={"paymentKey": payment_key, "orderId": order_id, "amount": amount},
        key=f"confirm-{order_id}",
    )


def payment(payment_key: str) -> dict:
    """GET /v1/payments/{paymentKey}: the payment as Toss has it now."""
    return _request("GET", f"/v1/payments/{quote(payment_key, safe='')}")


def cancel(*, payment_key: str, reason: str, amount: int | None, key: str) -> dict:
    """POST /v1/payments/{paymentKey}/cancel: all of it, or ``amount`` of it."""
    body = {"cancelReason": reason[:200]} | ({"cancelAmount": amount} if amount else {})
    return _request(
        "POST", f"/v1/payments/{quote(payment_key, safe='')}/cancel", json=body, key=key
    )
