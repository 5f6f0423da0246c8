"""Billing: checkouts, provider webhooks (each handled once), subscriptions, grant periods,
subscription settlements and artist payouts. Credits themselves live in the ledger."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _

from stylevault.billing.catalog import minor_to_display

# Sent after a bulk update of subscriptions (billing.apps connects the plan cache to it).
subscriptions_updated = Signal()


class Provider(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    LEMONSQUEEZY = "lemonsqueezy", "Lemon Squeezy"
    TOSS = "toss", "Toss Payments"
    DEV = "dev", _("Development (no real payment)")


class CheckoutKind(models.TextChoices):
    PACK = "pack", _("Credit pack")
    SUBSCRIPTION = "subscription", _("Subscription")


class CheckoutStatus(models.TextChoices):
    OPEN = "open", _("Open")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")


class Checkout(models.Model):
    """One attempt to buy: what, for whom, at which price, through which provider."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="checkouts"
    )
    provider = models.CharField(max_length=16, choices=Provider.choices)
    kind = models.CharField(max_length=16, choices=CheckoutKind.choices)
    pack_id = models.CharField(max_length=64, blank=True)
    tier = models.CharField(max_length=32, blank=True)
    credits = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField(help_text=_("In the currency's minor unit."))
    provider_ref = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # The provider's id of the payment itself (Stripe payment intent, Toss paymentKey, Lemon
    # Squeezy order): refunds and disputes name it.
    payment_ref = models.CharField(max_length=255, unique=True, null=True, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    status = models.CharField(
        max_length=16, choices=CheckoutStatus.choices, default=CheckoutStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Credits taken back by refunds and disputes still standing (billing.services.refunds).
    reversed_credits = models.BigIntegerField(default=0)
    tax_amount = models.BigIntegerField(
        default=0, help_text=_("Tax included in the amount, as the provider reported it.")
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("checkout")
        verbose_name_plural = _("checkouts")

    def __str__(self) -> str:
        return f"{self.kind} {self.pack_id or self.tier} for {self.user} ({self.status})"

    @staticmethod
    def parse_id(value) -> uuid.UUID | None:
        """A checkout id from outside (URL, provider metadata), or None if it is not one."""
        try:
            return uuid.UUID(str(value))
        except (TypeError, ValueError):
            return None

    @property
    def amount_display(self) -> str:
        return minor_to_display(self.amount, self.currency)


class ReversalCause(models.TextChoices):
    REFUND = "refund", _("Refund")
    DISPUTE = "dispute", _("Dispute")
    DISPUTE_WON = "dispute_won", _("Dispute won")
    DEBT_PAID = "debt_paid", _("Debt paid")
    WRITE_OFF = "write_off", _("Debt written off")


class Reversal(models.Model):
    """One step of a purchase taken back (or given back): how many credits left the wallet,
    how many became a debt, and the provider event that caused it (each handled once)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reversals"
    )
    checkout = models.ForeignKey(
        Checkout, null=True, blank=True, on_delete=models.PROTECT, related_name="reversals"
    )
    cause = models.CharField(max_length=16, choices=ReversalCause.choices)
    credits = models.BigIntegerField(help_text=_("Credits taken back (negative: given back)."))
    from_wallet = models.BigIntegerField(default=0)
    to_debt = models.BigIntegerField(default=0)
    reference = models.CharField(max_length=255, unique=True)
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("refund or dispute")
        verbose_name_plural = _("refunds and disputes")

    def __str__(self) -> str:
        return f"{self.cause} {self.credits} for {self.user}"


class WebhookEvent(models.Model):
    """A provider event we have handled; inserted in the same transaction as its effect."""

    provider = models.CharField(max_length=16, choices=Provider.choices)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100)
    outcome = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="billing_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"


class BillingCustomer(models.Model):
    """The provider's customer record of a user (created before their first subscription
    checkout, so every later event can be tied to the user whatever its order)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="billing_customers"
    )
    provider = models.CharField(max_length=16, choices=Provider.choices)
    customer_id = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "customer_id"], name="billing_customer_id"),
            models.UniqueConstraint(fields=["provider", "user"], name="billing_customer_user"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.customer_id}"


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Payment failed (grace period)")
    CANCELED = "canceled", _("Cancelled")
    INCOMPLETE = "incomplete", _("Waiting for payment")


class SubscriptionQuerySet(models.QuerySet):
    def update(self, **kwargs) -> int:
        """Bulk changes drop kept plans as saves do (billing.apps): no write path is missed."""
        count = super().update(**kwargs)
        subscriptions_updated.send(sender=Subscription)
        return count


class Subscription(models.Model):
    """A user's plan. Free users have none (or a cancelled one)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subscription"
    )
    tier = models.CharField(_("tier"), max_length=32, default="free")
    next_tier = models.CharField(max_length=32, blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.INCOMPLETE,
    )
    provider = models.CharField(max_length=16, choices=Provider.choices)
    provider_subscription_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    grace_until = models.DateTimeField(null=True, blank=True)
    # Stripe's event.created of the last subscription snapshot applied (orders out-of-order events).
    last_event_at = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")

    def __str__(self) -> str:
        return f"{self.user} {self.tier} ({self.status})"


class GrantPeriod(models.Model):
    """One month of subscription credits: granted at the start, unused ones expire at the end,
    and the subscriber's usage is settled to the artists."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grant_periods"
    )
    tier = models.CharField(max_length=32)
    credits = models.BigIntegerField()
    source_ref = models.CharField(max_length=255, unique=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    expired_credits = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("subscription credit period")
        verbose_name_plural = _("subscription credit periods")
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(closed_at__isnull=True),
                name="billing_one_open_grant_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.tier} {self.credits} from {self.starts_at:%Y-%m-%d}"


class Settlement(models.Model):
    """A subscriber's escrow shared out to artists (pro rata by usage), platform and reserve."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="settlements"
    )
    through_transfer_id = models.BigIntegerField()
    total = models.BigIntegerField()
    to_artists = models.BigIntegerField(default=0)
    to_platform = models.BigIntegerField(default=0)
    to_reserve = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "through_transfer_id"], name="billing_settlement_once"
            )
        ]

    def __str__(self) -> str:
        return f"settlement of {self.user} through #{self.through_transfer_id}"


class PayoutProfile(models.Model):
    """Where an artist is paid: their Stripe Connect account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payout_profile"
    )
    stripe_account_id = models.CharField(_("Stripe Connect account"), max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.user} → {self.stripe_account_id or '—'}"


class PayoutBatch(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    currency = models.CharField(max_length=3, default="USD")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payout batch")
        verbose_name_plural = _("payout batches")

    def __str__(self) -> str:
        return f"payout batch #{self.pk} ({self.created_at:%Y-%m-%d})"


class PayoutStatus(models.TextChoices):
    PENDING = "pending", _("To be paid")
    # A transfer was asked of Stripe and its answer is not recorded yet: never returned to the
    # artist automatically, since the money may already have left.
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Paid")
    REVERSED = "reversed", _("Failed, credits returned")


class Payout(models.Model):
    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="payouts")
    artist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts"
    )
    credits = models.BigIntegerField()
    amount = models.BigIntegerField(help_text=_("In cents."))
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(
        max_length=16, choices=PayoutStatus.choices, default=PayoutStatus.PENDING
    )
    stripe_transfer_id = models.CharField(max_length=255, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "artist"], name="billing_one_payout_per_batch"
            ),
            models.CheckConstraint(
                condition=models.Q(credits__gt=0), name="billing_payout_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.artist} {self.amount_display} ({self.status})"

    @property
    def amount_display(self) -> str:
        return minor_to_display(self.amount, self.currency)
