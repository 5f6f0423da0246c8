"""A provider event's effect, exactly once per (provider, event id)."""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, transaction

from stylevault.billing.models import WebhookEvent


def once(provider: str, event_id: str, event_type: str, handler: Callable[[], str]) -> str:
    """Runs ``handler`` at most once per (provider, event id), in one transaction with the
    event's row (a redelivery finds the row and changes nothing). Returns the outcome, or
    "duplicate"."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = WebhookEvent.objects.create(
                    provider=provider, event_id=event_id[:255], event_type=event_type[:100]
                )
        except IntegrityError:
            return "duplicate"
        outcome = handler() or "ignored"
        event.outcome = outcome[:200]
        event.save(update_fields=["outcome"])
        return outcome
