"""Lemon Squeezy's wire: the webhook HMAC and checkout creation (JSON:API over HTTPS)."""

from __future__ import annotations

import hashlib
import hmac
import json

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
