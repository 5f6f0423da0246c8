"""Refunds and disputes of bought credits, and the debt they can leave.

A reversal takes a purchase's credits back: what is still in the wallet leaves it; what was
already spent becomes a debt (a ledger account negative by what is owed, never a negative
wallet), which blocks new holds (ledger.reserve: PAYMENT_REQUIRED) until a purchase pays it or
an operator writes it off (platform losses). Royalties the artists earned from the spent
credits stay theirs: the platform bears that loss. A dispute the platform wins gives back
what its dispute took. Every step runs once: its Reversal row's reference and its ledger key
both come from the provider's event.
"""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from stylevault.billing.models import (
    Checkout,
    CheckoutKind,
    CheckoutStatus,
    Reversal,
    ReversalCause,
)
from stylevault.core import errors
from stylevault.ledger import services as ledger
from stylevault.ledger.models import TransferKind
from stylevault.mail import services as mail

log = logging.getLogger(__name__)


def checkout_paid_by(provider: str, payment_ref) -> Checkout | None:
    """The completed pack checkout of a provider's payment id, locked."""
    if not isinstance(payment_ref, str) or not payment_ref:
        return None
    return (
        Checkout.objects.select_for_update()
        .filter(provider=provider, payment_ref=payment_ref, kind=CheckoutKind.PACK)
        .first()
    )


def _owed(user_id: int) -> int:
    row = ledger.lock_accounts([ledger.debt(user_id)])[ledger.debt(user_id).code]
    return max(-row.posted, 0)


def reverse_purchase(
    *, checkout: Checkout, reversed_amount: int, cause: str, reference: str, note: str = ""
) -> str:
    """Takes back the credits of ``reversed_amount`` (minor units, the total refunded or
    disputed so far for this payment) that are not taken back yet."""
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout.pk)
        if checkout.status != CheckoutStatus.COMPLETED or checkout.kind != CheckoutKind.PACK:
            return "not a paid pack"
        if Reversal.objects.filter(reference=reference).exists():
            return "already reversed"
        share = min(max(int(reversed_amount), 0), checkout.amount)
        target = checkout.credits * share // checkout.amount if checkout.amount else 0
        credits = target - checkout.reversed_credits
        if credits <= 0:
            return "already reversed"
        wallet, debt = ledger.wallet(checkout.user_id), ledger.debt(checkout.user_id)
        rows = ledger.lock_accounts([wallet, debt])
        from_wallet = min(credits, max(rows[wallet.code].available, 0))
        to_debt = credits - from_wallet
        source = ledger.provider(checkout.provider, checkout.currency)
        meta = {"checkout": str(checkout.pk), "cause": cause, "reference": reference}
        ledger.post(
            postings=[
                ledger.Posting(debit=wallet, credit=source, amount=from_wallet,
                               kind=TransferKind.PAYMENT_REVERSAL, metadata=meta,
                               description=f"{cause}: {from_wallet} unspent credits back"),
                ledger.Posting(debit=debt, credit=source, amount=to_debt,
                               kind=TransferKind.PAYMENT_REVERSAL, metadata=meta,
                               description=f"{cause}: {to_debt} spent credits owed"),
            ],
            idempotency_key=f"reversal:{reference}",
        )  # fmt: skip
        Reversal.objects.create(
            user_id=checkout.user_id, checkout=checkout, cause=cause, credits=credits,
            from_wallet=from_wallet, to_debt=to_debt, reference=reference[:255], note=note[:500],
        )  # fmt: skip
        checkout.reversed_credits += credits
        checkout.save(update_fields=["reversed_credits"])
        _tell(checkout, cause, credits, to_debt)
        log.warning(
            "purchase %s reversed (%s): %s credits back, %s owed by user %s",
            checkout.pk, cause, from_wallet, to_debt, checkout.user_id,
        )  # fmt: skip
        return "reversed"


def restore_disputed(*, checkout: Checkout, reference: str) -> str:
    """A dispute won: the credits its dispute took come back, first clearing the debt it made."""
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout.pk)
        if Reversal.objects.filter(reference=reference).exists():
            return "already restored"
        steps = Reversal.objects.filter(
            checkout=checkout, cause__in=(ReversalCause.DISPUTE, ReversalCause.DISPUTE_WON)
        )
        credits = int(steps.aggregate(n=Sum("credits"))["n"] or 0)
        if credits <= 0:
            return "nothing disputed"
        wallet, debt = ledger.wallet(checkout.user_id), ledger.debt(checkout.user_id)
        to_debt = min(credits, _owed(checkout.user_id))
        # A debt written off meanwhile was the platform's loss; the payment standing after all,
        # the loss is undone first (the credits are not given a second time).
        to_losses = min(credits - to_debt, _written_off(checkout.user_id))
        to_wallet = credits - to_debt - to_losses
        source = ledger.provider(checkout.provider, checkout.currency)
        meta = {"checkout": str(checkout.pk), "cause": "dispute_won", "reference": reference}
        ledger.post(
            postings=[
                ledger.Posting(debit=source, credit=debt, amount=to_debt,
                               kind=TransferKind.PAYMENT_RESTORED, metadata=meta,
                               description="dispute won: debt cleared"),
                ledger.Posting(debit=source, credit=ledger.platform_losses(), amount=to_losses,
                               kind=TransferKind.PAYMENT_RESTORED, metadata=meta,
                               description="dispute won: written-off debt recovered"),
                ledger.Posting(debit=source, credit=wallet, amount=to_wallet,
                               kind=TransferKind.PAYMENT_RESTORED, metadata=meta,
                               description="dispute won: credits back"),
            ],
            idempotency_key=f"restore:{reference}",
        )  # fmt: skip
        Reversal.objects.create(
            user_id=checkout.user_id, checkout=checkout, cause=ReversalCause.DISPUTE_WON,
            credits=-credits, from_wallet=-to_wallet, to_debt=-to_debt,
            reference=reference[:255],
        )  # fmt: skip
        if to_losses:
            Reversal.objects.create(
                user_id=checkout.user_id, checkout=checkout, cause=ReversalCause.WRITE_OFF,
                credits=0, to_debt=to_losses, reference=f"recovered:{reference}"[:255],
                note="recovered by a dispute won",
            )  # fmt: skip
        checkout.reversed_credits -= credits
        checkout.save(update_fields=["reversed_credits"])
        _tell(checkout, ReversalCause.DISPUTE_WON, credits, 0)
        return "restored"


def _written_off(user_id: int) -> int:
    """What the platform wrote off of the user's debts and has not recovered since (write-off
    rows hold it negative, recoveries positive)."""
    rows = Reversal.objects.filter(user_id=user_id, cause=ReversalCause.WRITE_OFF)
    return max(-int(rows.aggregate(n=Sum("to_debt"))["n"] or 0), 0)


def pay_debt_from_wallet(*, user_id: int, reference: str) -> int:
    """After a purchase: what the wallet can cover of the debt leaves it for the debt."""
    with transaction.atomic():
        wallet, debt = ledger.wallet(user_id), ledger.debt(user_id)
        rows = ledger.lock_accounts([wallet, debt])
        paid = min(max(-rows[debt.code].posted, 0), max(rows[wallet.code].available, 0))
        if paid <= 0 or Reversal.objects.filter(reference=reference).exists():
            return 0
        ledger.post(
            postings=[
                ledger.Posting(debit=wallet, credit=debt, amount=paid,
                               kind=TransferKind.DEBT_PAYMENT, description="debt paid")
            ],
            idempotency_key=f"debt-payment:{reference}",
        )  # fmt: skip
        Reversal.objects.create(
            user_id=user_id, cause=ReversalCause.DEBT_PAID, credits=0, from_wallet=paid,
            to_debt=-paid, reference=reference[:255],
        )  # fmt: skip
        return paid


@transaction.atomic(durable=True)
def write_off_debt(*, user, operator, note: str = "") -> int:
    """An operator forgives the user's debt: the platform records it as a loss."""
    if operator is None or not getattr(operator, "is_operator", False):
        raise errors.Forbidden()
    owed = _owed(user.pk)
    if owed <= 0:
        raise errors.Conflict(_("This account owes nothing."))
    reference = f"write-off:{user.pk}:{uuid.uuid4()}"
    ledger.post(
        postings=[
            ledger.Posting(debit=ledger.platform_losses(), credit=ledger.debt(user.pk),
                           amount=owed, kind=TransferKind.DEBT_WRITE_OFF,
                           description=f"debt written off by {operator.username}")
        ],
        idempotency_key=reference,
    )  # fmt: skip
    Reversal.objects.create(
        user=user, cause=ReversalCause.WRITE_OFF, credits=0, to_debt=-owed,
        reference=reference, note=note[:500], created_by=operator,
    )  # fmt: skip
    log.info("debt of user %s (%s credits) written off by %s", user.pk, owed, operator.pk)
    return owed


def _tell(checkout: Checkout, cause: str, credits: int, to_debt: int) -> None:
    """The buyer hears of it by e-mail, sent after the commit (stylevault.mail)."""
    mail.queue(
        user_id=checkout.user_id,
        kind="refund",
        key=f"refund:{checkout.pk}:{cause}:{checkout.reversed_credits}",
        context={"cause": cause, "credits": credits, "debt": to_debt,
                 "amount": checkout.amount_display, "checkout": str(checkout.pk)},
    )  # fmt: skip
