"""Which payment providers this server has keys for, and the error when none fits."""

from __future__ import annotations

from django.conf import settings

from stylevault.core import errors


class PaymentsUnavailable(errors.DomainError):
    code, status = "CONFLICT", 409


def stripe_enabled() -> bool:
    return bool(settings.STYLEVAULT_STRIPE_SECRET_KEY)


def lemonsqueezy_enabled() -> bool:
    return bool(
        settings.STYLEVAULT_LEMONSQUEEZY_API_KEY and settings.STYLEVAULT_LEMONSQUEEZY_STORE_ID
    )


def toss_enabled() -> bool:
    return bool(settings.STYLEVAULT_TOSS_CLIENT_KEY and settings.STYLEVAULT_TOSS_SECRET_KEY)


def dev_payments_enabled() -> bool:
    """The development provider: embedded mode without any provider, never in production."""
    return not configured_providers() and not settings.PRODUCTION


def configured_providers() -> list[str]:
    """Providers with keys, in the order a checkout without a named provider tries them."""
    enabled = (("stripe", stripe_enabled), ("lemonsqueezy", lemonsqueezy_enabled),
               ("toss", toss_enabled))  # fmt: skip
    return [name for name, check in enabled if check()]
