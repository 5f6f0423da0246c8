"""Operator console for billing: checkouts and webhook events (read-only), refunds and
disputes (write a debt off), subscriptions, payout accounts, payout batches (create, pay with
Stripe Connect, export CSV)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from stylevault.billing import exports, services
from stylevault.billing.models import (
    Checkout,
    Payout,
    PayoutBatch,
    PayoutProfile,
    Reversal,
    Settlement,
    Subscription,
    WebhookEvent,
)
from stylevault.billing.providers import toss
from stylevault.billing.services import refunds
from stylevault.core import errors
from stylevault.core.admin import ReadOnlyAdmin


@admin.register(Checkout)
class CheckoutAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "user",
        "kind",
        "pack_id",
        "tier",
        "amount",
        "currency",
        "provider",
        "status",
        "reversed_credits",
    )
    list_filter = ("provider", "kind", "status")
    search_fields = ("user__username", "provider_ref", "payment_ref")
    actions = ("refund_through_toss",)

    @admin.action(description=_("Refund in full through Toss Payments"))
    def refund_through_toss(self, request, queryset):
        for checkout in queryset:
            try:
                outcome = toss.refund(checkout=checkout, reason=str(_("refunded by an operator")))
            except errors.DomainError as exc:
                self.message_user(request, f"{checkout}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{checkout}: {outcome}", messages.SUCCESS)


@admin.register(Reversal)
class ReversalAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "checkout", "cause", "credits", "from_wallet",
                    "to_debt", "reference", "created_by")  # fmt: skip
    list_filter = ("cause",)
    search_fields = ("user__username", "reference")
    actions = ("write_off",)

    @admin.action(description=_("Write off these users' debt (the platform bears the loss)"))
    def write_off(self, request, queryset):
        for user in {step.user for step in queryset.select_related("user")}:
            try:
                owed = refunds.write_off_debt(
                    user=user, operator=request.user, note=str(_("written off in the console"))
                )
            except errors.DomainError as exc:
                self.message_user(request, f"{user}: {exc.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(user)s: %(credits)s credits written off.")
                    % {"user": user, "credits": owed},
                    messages.SUCCESS,
                )


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "provider", "event_type", "event_id", "outcome")
    list_filter = ("provider", "event_type")
    search_fields = ("event_id",)


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = (
        "user",
        "tier",
        "status",
        "provider",
        "current_period_end",
        "cancel_at_period_end",
        "grace_until",
    )
    list_filter = ("tier", "status", "provider")
    search_fields = ("user__username", "provider_subscription_id")


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "total", "to_artists", "to_platform", "to_reserve")


@admin.register(PayoutProfile)
class PayoutProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "stripe_account_id")
    search_fields = ("user__username", "stripe_account_id")


class PayoutInline(admin.TabularInline):
    model = Payout
    extra = 0
    can_delete = False
    fields = ("artist", "credits", "amount", "currency", "status", "stripe_transfer_id", "error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PayoutBatch)
class PayoutBatchAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "created_by", "currency")
    inlines = [PayoutInline]
    actions = ("send", "export_csv")
    readonly_fields = ("created_by", "currency")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST" and request.POST.get("create_batch"):
            batch = services.create_payout_batch(created_by=request.user)
            if batch is None:
                self.message_user(
                    request, _("No artist is above the minimum payout."), messages.INFO
                )
            else:
                self.message_user(
                    request, _("Payout batch #%s created.") % batch.pk, messages.SUCCESS
                )
            return HttpResponseRedirect(request.path)
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Pay with Stripe Connect transfers"))
    def send(self, request, queryset):
        for batch in queryset:
            try:
                result = services.send_payout_batch(batch_id=batch.pk)
            except errors.DomainError as exc:
                self.message_user(request, f"{batch}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{batch}: {result}", messages.SUCCESS)

    @admin.action(description=_("Export as CSV"))
    def export_csv(self, request, queryset):
        body = "".join(exports.payout_batch_csv(batch.pk) for batch in queryset)
        response = HttpResponse(body, content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="payouts.csv"'
        return response


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ("id", "batch", "artist", "credits", "amount", "currency", "status", "sent_at")
    list_filter = ("status",)
    actions = ("mark_sent", "reverse")

    def has_change_permission(self, request, obj=None):
        return request.user.is_staff

    @admin.action(description=_("Mark as paid by hand"))
    def mark_sent(self, request, queryset):
        for payout in queryset:
            try:
                services.mark_payout_sent(payout_id=payout.pk)
            except errors.DomainError as exc:
                self.message_user(request, f"{payout}: {exc.message}", messages.ERROR)

    @admin.action(description=_("Cancel and return the credits to the artist"))
    def reverse(self, request, queryset):
        for payout in queryset:
            try:
                services.reverse_payout(
                    payout_id=payout.pk, reason=str(_("cancelled by an operator"))
                )
            except errors.DomainError as exc:
                self.message_user(request, f"{payout}: {exc.message}", messages.ERROR)
