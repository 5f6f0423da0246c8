"""The credits ledger: accounts, immutable transfers, and holds (TigerBeetle's model).

Every movement of credits is a Transfer from a debit account to a credit account. Balances
are stored on the account rows for speed, changed only by ledger.services in the same
transaction as the transfer, and can always be re-derived from the transfers
(`stylevault ledger check`):

- ``posted``  = sum of posted transfers credited to the account - those debited from it;
- ``pending`` = sum of pending hold legs debited from the account (credits set aside).

An account that may not go negative satisfies ``posted - pending >= 0`` (a database CHECK
constraint, on top of the conditional UPDATE that makes concurrent spends safe).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class AccountKind(models.TextChoices):
    USER_WALLET = "user_wallet", _("Wallet")
    SUBSCRIPTION_GRANT = "subscription_grant", _("Subscription credits")
    SUBSCRIPTION_ESCROW = "subscription_escrow", _("Subscription usage awaiting settlement")
    ARTIST_EARNINGS = "artist_earnings", _("Artist earnings")
    PLATFORM_REVENUE = "platform_revenue", _("Platform revenue")
    PROVIDER = "provider", _("Payment provider")
    RESERVE_POOL = "reserve_pool", _("Reserve pool")
    PLATFORM_GRANTS = "platform_grants", _("Platform grants")
    # Credits spent from a purchase later refunded or disputed: negative by what the user owes.
    USER_DEBT = "user_debt", _("Debt")
    # Debts the platform wrote off: negative by the loss it bore.
    PLATFORM_LOSSES = "platform_losses", _("Platform losses")


class Account(models.Model):
    """One balance. ``code`` names it uniquely, e.g. ``user_wallet:42`` or ``provider:stripe:KRW``."""

    code = models.CharField(max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=AccountKind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
    )
    allow_negative = models.BooleanField(default=False)
    posted = models.BigIntegerField(default=0)
    pending = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(allow_negative=True) | Q(posted__gte=F("pending")),
                name="ledger_account_available_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(pending__gte=0), name="ledger_account_pending_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def available(self) -> int:
        return self.posted - self.pending


class TransferKind(models.TextChoices):
    HOLD = "hold", _("Reserved")
    CAPTURE = "capture", _("Spent")
    PLATFORM_FEE = "platform_fee", _("Platform fee")
    PURCHASE = "purchase", _("Bought")
    GRANT = "grant", _("Granted")
    SUBSCRIPTION_GRANT = "subscription_grant", _("Subscription credits")
    SUBSCRIPTION_EXPIRY = "subscription_expiry", _("Unused subscription credits expired")
    SETTLEMENT = "settlement", _("Subscription royalties")
    RESERVE = "reserve", _("To the reserve pool")
    RESERVE_SHARE = "reserve_share", _("From the reserve pool")
    REFUND = "refund", _("Refunded")
    PAYOUT = "payout", _("Paid out")
    PAYOUT_REVERSAL = "payout_reversal", _("Payout returned")
    PAYMENT_REVERSAL = "payment_reversal", _("Payment refunded or disputed")
    PAYMENT_RESTORED = "payment_restored", _("Dispute won, credits restored")
    DEBT_PAYMENT = "debt_payment", _("Debt paid")
    DEBT_WRITE_OFF = "debt_write_off", _("Debt written off")


class TransferState(models.TextChoices):
    PENDING = "pending", _("Pending")
    POSTED = "posted", _("Posted")
    VOIDED = "voided", _("Voided")


class Transfer(models.Model):
    """An immutable movement of ``amount`` credits from ``debit`` to ``credit``.

    Only hold legs (kind ``hold``) change, once: ``pending`` → ``posted`` (captured; the
    capture's own transfers carry the postings) or ``voided`` (released or expired). Hold legs
    never count in ``posted`` balances, only in ``pending``. A database trigger refuses any
    other change.
    """

    # Indexed together with the id below (history, re-derivation), not alone.
    debit = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False)
    # A pending hold leg has no destination yet: the capture's transfers name them.
    credit = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    amount = models.BigIntegerField()
    kind = models.CharField(max_length=32, choices=TransferKind.choices)
    state = models.CharField(
        max_length=8, choices=TransferState.choices, default=TransferState.POSTED
    )
    hold = models.ForeignKey(
        "Hold", null=True, blank=True, on_delete=models.PROTECT, related_name="transfers"
    )
    # The artist a movement is attributed to (royalties, subscription usage, payouts).
    beneficiary = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    idempotency_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    description = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        indexes = [
            models.Index(fields=["debit", "-id"], name="ledger_tr_debit_idx"),
            models.Index(fields=["credit", "-id"], name="ledger_tr_credit_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="ledger_transfer_amount_positive"
            ),
            models.CheckConstraint(
                condition=~Q(debit=F("credit")), name="ledger_transfer_distinct_accounts"
            ),
            models.CheckConstraint(
                condition=Q(state="posted") | Q(kind="hold"),
                name="ledger_transfer_only_holds_pending",
            ),
            models.CheckConstraint(
                condition=Q(credit__isnull=False) | Q(kind="hold"),
                name="ledger_transfer_credit_required",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.amount}"


class HoldState(models.TextChoices):
    PENDING = "pending", _("Reserved")
    CAPTURED = "captured", _("Captured")
    RELEASED = "released", _("Released")
    EXPIRED = "expired", _("Expired")


class Hold(models.Model):
    """Credits reserved for a job: one pending leg per funding account (grant first, then
    wallet). Ends exactly once: captured (in full or part; the rest is released), released,
    or expired."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    state = models.CharField(max_length=10, choices=HoldState.choices, default=HoldState.PENDING)
    captured = models.BigIntegerField(default=0)
    # How much of ``amount`` the subscription-credit leg holds (the rest is on the wallet).
    from_grant = models.BigIntegerField(default=0)
    expires_at = models.DateTimeField()
    idempotency_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    description = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("hold")
        verbose_name_plural = _("holds")
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(state="pending"),
                name="ledger_hold_pending_expiry",
            )
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_hold_amount_positive"),
            models.CheckConstraint(
                condition=Q(captured__gte=0) & Q(captured__lte=F("amount")),
                name="ledger_hold_captured_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(from_grant__gte=0) & Q(from_grant__lte=F("amount")),
                name="ledger_hold_from_grant_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"hold #{self.pk} {self.amount} ({self.state})"
