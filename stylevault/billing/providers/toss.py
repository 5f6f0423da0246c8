"""Toss Payments (payment widget flow) turned into billing services.

The browser pays on Toss's widget and comes back to the success redirect with paymentKey,
orderId (our checkout id) and amount; only the server's confirm call takes the money, and
only when the amount is the order's. The PAYMENT_STATUS_CHANGED webhook is unsigned, so it is
a hint: the payment is read again from Toss's API before anything happens. Every effect comes
from one function, ``apply_payment``, applied once per (paymentKey, status, balance): a grant
for DONE, a reversal for what is cancelled, whichever of redirect, webhook and retries come
first and however often.
"""

from __future__ import annotations

import json

from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from stylevault.billing import gateway
from stylevault.billing.clients import toss as toss_api
from stylevault.billing.models import (
    Checkout,
    CheckoutKind,
    CheckoutStatus,
    Provider,
    ReversalCause,
)
from stylevault.billing.services import refunds
from stylevault.billing.services.packs import fulfil_pack_checkout
from stylevault.billing.services.webhooks import once
from stylevault.core import errors

CANCELLED = ("CANCELED", "PARTIAL_CANCELED")


def _order(order_id) -> Checkout | None:
    checkout_uuid = Checkout.parse_id(order_id)
    if checkout_uuid is None:
        return None
    return Checkout.objects.filter(
        pk=checkout_uuid, provider=Provider.TOSS, kind=CheckoutKind.PACK
    ).first()


def customer_key(user_id: int) -> str:
    """The widget's customerKey of a buyer: Toss ties saved payment methods to it and asks for
    a value nobody can guess from the user (so never the bare id)."""
    digest = salted_hmac("stylevault.billing.toss.customer", str(user_id), algorithm="sha256")
    return f"sv-{digest.hexdigest()[:40]}"


def apply_payment(payment: dict) -> str:
    """Applies a payment as Toss's API returned it (never as a client said it)."""
    key, status = payment.get("paymentKey"), payment.get("status")
    checkout = _order(payment.get("orderId"))
    if checkout is None or not isinstance(key, str) or not isinstance(status, str):
        return "no such order"
    if status != "DONE" and status not in CANCELLED:
        return f"status {status}"  # not paid yet (or expired, aborted): nothing to do
    state = f"{key}:{status}:{payment.get('balanceAmount')}"
    return once(Provider.TOSS, state, f"payment.{status}", lambda: _apply(checkout, payment))


def _grant(checkout: Checkout, payment: dict) -> str:
    total, vat = payment.get("totalAmount"), payment.get("vat")
    done = fulfil_pack_checkout(
        checkout_id=checkout.pk,
        provider=Provider.TOSS,
        payment_ref=payment["paymentKey"],
        paid_amount=total if isinstance(total, int) else -1,
        paid_currency=payment.get("currency") or "KRW",
        tax_amount=vat if isinstance(vat, int) else None,
    )
    return "credited" if done and done.status == CheckoutStatus.COMPLETED else "amount mismatch"


def _apply(checkout: Checkout, payment: dict) -> str:
    key, status = payment["paymentKey"], payment["status"]
    total, balance = payment.get("totalAmount"), payment.get("balanceAmount")
    if status == "DONE":
        return _grant(checkout, payment)
    if status in CANCELLED and isinstance(total, int) and isinstance(balance, int):
        # Toss cancels only paid payments. One whose DONE we have not applied yet (its confirm
        # answer still on the way, or lost) is granted first, then reversed: a late DONE then
        # finds the order completed, and a partial cancel leaves the part that was kept.
        if Checkout.objects.get(pk=checkout.pk).status != CheckoutStatus.COMPLETED:
            granted = _grant(checkout, payment)
            if granted != "credited":
                return granted
        checkout = Checkout.objects.get(pk=checkout.pk)
        return refunds.reverse_purchase(
            checkout=checkout, reversed_amount=total - balance, cause=ReversalCause.REFUND,
            reference=f"toss:{key}:{balance}",
        )  # fmt: skip
    return f"status {status}"


def confirm_redirect(*, payment_key, order_id, amount) -> Checkout:
    """The success redirect: confirms the payment with Toss if the amount is the order's."""
    checkout = _order(order_id)
    if checkout is None or not isinstance(payment_key, str) or not payment_key:
        raise errors.NotFound(_("No such order."))
    if str(amount) != str(checkout.amount):
        raise errors.ValidationFailed(
            _("The amount paid is not the order's amount; nothing was charged or credited."),
            details={"fields": {"amount": ["mismatch"]}},
        )
    if checkout.status != CheckoutStatus.COMPLETED:
        try:
            payment = toss_api.confirm(
                payment_key=payment_key, order_id=str(checkout.pk), amount=checkout.amount
            )
        except toss_api.PaymentRefused as exc:
            if exc.code != "ALREADY_PROCESSED_PAYMENT":
                raise errors.ValidationFailed(
                    _("Toss Payments refused the payment; nothing was credited."),
                    details={"provider": "toss", "reason": exc.code},
                ) from exc
            payment = toss_api.payment(payment_key)
        apply_payment(payment)
        checkout.refresh_from_db()
    return checkout


def handle_webhook(*, payload: bytes) -> str:
    """PAYMENT_STATUS_CHANGED (and the cancel/deposit events): read the payment again."""
    if not gateway.toss_enabled():
        raise gateway.PaymentsUnavailable(_("Toss Payments is not configured on this server."))
    try:
        event = json.loads(payload)
    except ValueError:
        raise errors.ValidationFailed(_("The webhook body is not JSON.")) from None
    data = event.get("data") if isinstance(event, dict) else None
    key = data.get("paymentKey") if isinstance(data, dict) else None
    if not isinstance(key, str) or not key:
        raise errors.ValidationFailed(_("This is not a Toss Payments event."))
    try:
        payment = toss_api.payment(key)
    except toss_api.PaymentRefused as exc:
        if exc.code == "NOT_FOUND_PAYMENT":
            return "unknown payment"  # a made-up key: nothing to retry
        # Our key refused (rotated, wrong): answer an error so that Toss delivers it again.
        raise gateway.PaymentsUnavailable(
            _("The payment provider did not accept the request. Please try again later."),
            details={"provider": "toss", "reason": exc.code},
        ) from exc
    return apply_payment(payment)


def refund(*, checkout: Checkout, reason: str, amount: int | None = None) -> str:
    """An operator's refund: Toss cancels the payment (all, or ``amount`` KRW of it), and the
    cancelled payment it returns is applied like any other."""
    if checkout.provider != Provider.TOSS or not checkout.payment_ref:
        raise errors.Conflict(_("This purchase was not paid through Toss Payments."))
    try:
        payment = toss_api.cancel(
            payment_key=checkout.payment_ref, reason=reason, amount=amount,
            key=f"cancel-{checkout.pk}-{checkout.reversed_credits}-{amount or 'all'}",
        )  # fmt: skip
    except toss_api.PaymentRefused as exc:
        raise errors.Conflict(
            _("Toss Payments refused the cancellation."), details={"reason": exc.code}
        ) from exc
    return apply_payment(payment)
