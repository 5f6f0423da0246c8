"""Artist payouts: batches out of the earnings accounts, Stripe Connect transfers, returns."""

from __future__ import annotations

import logging
import math
from datetime import date
from decimal import Decimal

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from stylevault.billing import selectors
from stylevault.billing.clients import stripe as stripe_api
from stylevault.billing.models import Payout, PayoutBatch, PayoutProfile, PayoutStatus
from stylevault.billing.services._errors import field_error
from stylevault.core import errors
from stylevault.ledger import services as ledger
from stylevault.ledger.models import Account, AccountKind, TransferKind
from stylevault.mail import services as mail

log = logging.getLogger(__name__)

PAYOUT_PROVIDER = "stripe_connect"


def payout_rate() -> Decimal:
    return Decimal(str(settings.STYLEVAULT_PAYOUT_USD_CENTS_PER_CREDIT))


def payout_value_cents(credits: int) -> int:
    return math.floor(Decimal(credits) * payout_rate())


def create_payout_batch(*, created_by=None) -> PayoutBatch | None:
    """Takes every artist's earnings worth at least the minimum payout (20 USD by default) out
    of their earnings account into a payout; smaller balances carry over to the next batch."""
    rate, minimum = payout_rate(), int(settings.STYLEVAULT_PAYOUT_MINIMUM_USD_CENTS)
    if rate <= 0:
        return None
    candidates = list(
        Account.objects.filter(kind=AccountKind.ARTIST_EARNINGS, posted__gt=0, owner__isnull=False)
        .order_by("owner_id")
        .values_list("owner_id", flat=True)
    )
    batch = PayoutBatch.objects.create(created_by=created_by)
    made = 0
    for artist_id in candidates:
        with transaction.atomic():
            spec = ledger.artist_earnings(artist_id)
            available = ledger.lock_accounts([spec])[spec.code].available
            cents = payout_value_cents(available)
            if cents < max(minimum, 1):
                continue  # carried over
            credits = min(available, math.ceil(Decimal(cents) / rate))
            payout = Payout.objects.create(
                batch=batch, artist_id=artist_id, credits=credits, amount=cents, currency="USD"
            )
            ledger.post(
                postings=[
                    ledger.Posting(
                        debit=spec,
                        credit=ledger.provider(PAYOUT_PROVIDER, "USD"),
                        amount=credits,
                        kind=TransferKind.PAYOUT,
                        beneficiary_id=artist_id,
                        description=f"payout #{payout.pk}",
                        metadata={"payout": payout.pk, "amount_cents": cents},
                    )
                ],
                idempotency_key=f"payout:{payout.pk}",
            )
            made += 1
    if not made:
        batch.delete()
        return None
    return batch


def reverse_payout(*, payout_id: int, reason: str, refused_by_stripe: bool = False) -> Payout:
    """A payout that cannot be made: its credits go back to the artist's earnings, once.

    A payout being sent is only reversed on Stripe's explicit refusal: otherwise the transfer
    may exist and the artist would be paid twice."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().filter(pk=payout_id).first()
        if payout is None:
            raise errors.NotFound(_("No such payout."))
        if payout.status == PayoutStatus.REVERSED:
            return payout
        if payout.status == PayoutStatus.SENT:
            raise errors.Conflict(_("This payout was already sent."))
        if payout.status == PayoutStatus.SENDING and not refused_by_stripe:
            raise errors.Conflict(
                _("This payout is being sent through Stripe; check the transfer there first.")
            )
        ledger.post(
            postings=[
                ledger.Posting(
                    debit=ledger.provider(PAYOUT_PROVIDER, payout.currency),
                    credit=ledger.artist_earnings(payout.artist_id),
                    amount=payout.credits,
                    kind=TransferKind.PAYOUT_REVERSAL,
                    beneficiary_id=payout.artist_id,
                    description=f"payout #{payout.pk} returned",
                )
            ],
            idempotency_key=f"payout-reversal:{payout.pk}",
        )
        payout.status = PayoutStatus.REVERSED
        payout.error = reason[:500]
        payout.save(update_fields=["status", "error"])
        return payout


def mark_payout_sent(*, payout_id: int, reference: str = "") -> Payout:
    """For payouts made by hand from the CSV export."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().filter(pk=payout_id).first()
        if payout is None:
            raise errors.NotFound(_("No such payout."))
        if payout.status == PayoutStatus.REVERSED:
            raise errors.Conflict(_("This payout was returned to the artist."))
        if payout.status in (PayoutStatus.PENDING, PayoutStatus.SENDING):
            payout.status = PayoutStatus.SENT
            payout.sent_at = timezone.now()
            payout.stripe_transfer_id = payout.stripe_transfer_id or reference[:255]
            payout.save(update_fields=["status", "sent_at", "stripe_transfer_id"])
            mail.queue(
                user_id=payout.artist_id,
                kind="payout_sent",
                key=f"payout-sent:{payout.pk}",
                context={"amount": payout.amount_display},
            )
        return payout


def send_payout_batch(*, batch_id: int) -> dict:
    """Pays the batch's payouts with Stripe Connect transfers, one idempotency key per payout.

    Each payout is marked `sending` (committed) before Stripe is asked, so an operator cannot
    return its credits while the money may be on its way. Refused transfers are reversed;
    network failures stay `sending` and are retried with the same key on the next run; artists
    without a Connect account stay pending for a manual payout."""
    result = {"sent": 0, "reversed": 0, "pending": 0, "errors": 0}
    open_payouts = Payout.objects.filter(
        batch_id=batch_id, status__in=(PayoutStatus.PENDING, PayoutStatus.SENDING)
    )
    for payout_id in open_payouts.values_list("pk", flat=True):
        try:
            payout, account = _claim_payout_for_sending(payout_id)
            if payout is None:
                result["pending"] += 1
                continue
            transfer = stripe_api.create_transfer(
                {
                    "amount": payout.amount,
                    "currency": payout.currency.lower(),
                    "destination": account,
                    "transfer_group": f"payout-batch-{batch_id}",
                    "metadata": {"payout_id": str(payout.pk), "artist_id": str(payout.artist_id)},
                },
                idempotency_key=f"payout-{payout.pk}",
            )
        except stripe.APIConnectionError:
            result["pending"] += 1
            continue
        except stripe_api.TransferFailed as exc:
            reverse_payout(payout_id=payout_id, reason=str(exc), refused_by_stripe=True)
            result["reversed"] += 1
            continue
        except errors.DomainError:  # e.g. reversed meanwhile by an operator: skip it
            log.warning("payout %s skipped", payout_id, exc_info=True)
            result["errors"] += 1
            continue
        mark_payout_sent(payout_id=payout_id, reference=transfer.get("id", ""))
        result["sent"] += 1
    return result


def _claim_payout_for_sending(payout_id: int) -> tuple[Payout | None, str]:
    """Marks the payout `sending` in its own committed transaction, before Stripe is called."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().filter(pk=payout_id).first()
        if payout is None or payout.status not in (PayoutStatus.PENDING, PayoutStatus.SENDING):
            return None, ""
        profile = PayoutProfile.objects.filter(user_id=payout.artist_id).first()
        if profile is None or not profile.stripe_account_id:
            return None, ""
        if payout.status == PayoutStatus.PENDING:
            payout.status = PayoutStatus.SENDING
            payout.save(update_fields=["status"])
        return payout, profile.stripe_account_id


def set_payout_account(*, artist, stripe_account_id: str) -> PayoutProfile:
    value = (stripe_account_id or "").strip()
    if value and not value.startswith("acct_"):
        raise field_error("stripe_account_id", _("A Stripe Connect account id starts with acct_."))
    profile, _created = PayoutProfile.objects.update_or_create(
        user=artist, defaults={"stripe_account_id": value}
    )
    return profile


def send_artist_statements(*, month: date) -> int:
    """Queues each artist's statement of ``month`` (once per artist and month)."""
    artists = Account.objects.filter(
        kind=AccountKind.ARTIST_EARNINGS, owner__isnull=False
    ).values_list("owner_id", flat=True)
    sent = 0
    for artist_id in artists:
        summary = selectors.statement(artist_id, month)
        if not (summary["earned"] or summary["closing"] or summary["paid_out"]):
            continue
        with transaction.atomic():
            mail.queue(
                user_id=artist_id,
                kind="artist_statement",
                key=f"statement:{artist_id}:{month:%Y-%m}",
                context={"month": f"{month:%Y-%m}", **{
                    k: summary[k] for k in ("opening", "earned", "paid_out", "closing")
                }},
            )  # fmt: skip
        sent += 1
    return sent
