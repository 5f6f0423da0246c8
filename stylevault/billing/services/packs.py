"""Credit packs: a confirmed payment credits the wallet, exactly once."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from stylevault.billing.models import Checkout, CheckoutKind, CheckoutStatus
from stylevault.billing.services import refunds
from stylevault.ledger import services as ledger
from stylevault.ledger.models import TransferKind
from stylevault.mail import services as mail

log = logging.getLogger(__name__)


@transaction.atomic
def fulfil_pack_checkout(
    *,
    checkout_id,
    provider: str,
    provider_ref: str | None = None,
    payment_ref: str | None = None,
    paid_amount: int | None = None,
    paid_currency: str | None = None,
    tax_amount: int | None = None,
) -> Checkout | None:
    """Credits a paid pack, exactly once (ledger key ``checkout:<id>``). The amount and
    currency paid must be the ones quoted at checkout; otherwise nothing is credited."""
    checkout_uuid = Checkout.parse_id(checkout_id)
    if checkout_uuid is None:
        return None
    checkout = Checkout.objects.select_for_update().filter(pk=checkout_uuid).first()
    if checkout is None or checkout.provider != provider or checkout.kind != CheckoutKind.PACK:
        return None
    if checkout.status == CheckoutStatus.COMPLETED:
        return checkout
    if paid_amount is not None and (
        paid_amount != checkout.amount or (paid_currency or "").upper() != checkout.currency
    ):
        log.warning(
            "checkout %s paid %s %s, quoted %s %s: not credited",
            checkout.pk, paid_amount, paid_currency, checkout.amount, checkout.currency,
        )  # fmt: skip
        checkout.status = CheckoutStatus.FAILED
        checkout.save(update_fields=["status"])
        return checkout
    ledger.post(
        postings=[
            ledger.Posting(
                debit=ledger.provider(provider, checkout.currency),
                credit=ledger.wallet(checkout.user_id),
                amount=checkout.credits,
                kind=TransferKind.PURCHASE,
                description=f"{checkout.credits} credits ({checkout.pack_id})",
                metadata={
                    "checkout": str(checkout.pk),
                    "amount": checkout.amount,
                    "currency": checkout.currency,
                },
            )
        ],
        idempotency_key=f"checkout:{checkout.pk}",
    )
    checkout.status = CheckoutStatus.COMPLETED
    checkout.completed_at = timezone.now()
    if provider_ref and not checkout.provider_ref:
        checkout.provider_ref = provider_ref
    if payment_ref and not checkout.payment_ref:
        checkout.payment_ref = payment_ref
    if tax_amount:
        checkout.tax_amount = tax_amount
    checkout.save(
        update_fields=["status", "completed_at", "provider_ref", "payment_ref", "tax_amount"]
    )
    refunds.pay_debt_from_wallet(user_id=checkout.user_id, reference=f"debt-paid:{checkout.pk}")
    _tell_paid(checkout)
    return checkout


def _tell_paid(checkout: Checkout) -> None:
    mail.queue(
        user_id=checkout.user_id,
        kind="receipt",
        key=f"receipt:{checkout.pk}",
        context={"credits": checkout.credits, "amount": checkout.amount_display,
                 "checkout": str(checkout.pk)},
    )  # fmt: skip
