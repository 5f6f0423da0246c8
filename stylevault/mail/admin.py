"""Operator console for e-mail: the outbox (read-only) and users' opt-outs."""

from __future__ import annotations

from django.contrib import admin

from stylevault.core.admin import ReadOnlyAdmin
from stylevault.mail.models import MailPreference, OutboxEmail


@admin.register(OutboxEmail)
class OutboxEmailAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "kind", "status", "attempts", "sent_at")
    list_filter = ("kind", "status")
    search_fields = ("user__username", "key", "message_id")


@admin.register(MailPreference)
class MailPreferenceAdmin(ReadOnlyAdmin):
    list_display = ("user", "opted_out")
    search_fields = ("user__username",)
