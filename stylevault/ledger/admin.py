"""Operator console for the ledger: read-only (transfers are immutable; balances change only
through ledger.services)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from stylevault.core.admin import ReadOnlyAdmin
from stylevault.ledger.models import Account, Hold, Transfer


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("code", "kind", "owner", "posted", "pending", "available_display")
    list_filter = ("kind",)
    search_fields = ("code", "owner__username")

    @admin.display(description=_("available"))
    def available_display(self, obj):
        return obj.available


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "kind", "state", "debit", "credit", "amount", "beneficiary")
    list_filter = ("kind", "state")
    search_fields = ("debit__code", "credit__code", "idempotency_key", "description")
    list_select_related = ("debit", "credit", "beneficiary")
    date_hierarchy = "created_at"


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "amount", "state", "captured", "expires_at", "created_at")
    list_filter = ("state",)
    search_fields = ("user__username", "idempotency_key")
