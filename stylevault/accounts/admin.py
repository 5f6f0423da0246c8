"""Operator console for accounts: users, tokens and artist applications."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from stylevault.accounts import services
from stylevault.accounts.models import ApiToken, ArtistApplication, User
from stylevault.core import errors


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "role", "locale", "is_active", "date_joined")
    list_filter = ("role", "locale", "is_active")
    fieldsets = (*BaseUserAdmin.fieldsets, (_("StyleVault"), {"fields": ("role", "locale")}))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "name", "prefix", "token_hash", "created_at", "last_used_at")
    search_fields = ("user__username", "name", "prefix")


@admin.register(ArtistApplication)
class ArtistApplicationAdmin(admin.ModelAdmin):
    list_display = ("user", "contact_email", "status", "created_at", "decided_by")
    list_filter = ("status",)
    search_fields = ("user__username", "contact_email")
    readonly_fields = (
        "user",
        "contact_email",
        "signature",
        "signature_sha256",
        "status",
        "created_at",
        "decided_at",
        "decided_by",
    )
    fields = (*readonly_fields, "reason")
    actions = ("approve", "reject")

    def _decide(self, request, queryset, approve: bool) -> None:
        for application in queryset:
            try:
                services.decide_application(
                    operator=request.user,
                    application_id=application.pk,
                    approve=approve,
                    reason=application.reason or ("" if approve else str(_("Not approved."))),
                )
            except errors.DomainError as exc:
                self.message_user(request, f"{application}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, _("%s decided.") % application, messages.SUCCESS)

    @admin.action(description=_("Approve: make these applicants artists"))
    def approve(self, request, queryset):
        self._decide(request, queryset, approve=True)

    @admin.action(description=_("Reject (the reason field is sent to the applicant)"))
    def reject(self, request, queryset):
        self._decide(request, queryset, approve=False)
