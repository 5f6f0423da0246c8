"""Operator console for accounts: users, tokens and artist applications."""

from __future__ import annotations

import mimetypes

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from stylevault.accounts import services
from stylevault.accounts.models import ApiToken, ArtistApplication, User
from stylevault.core import errors
from stylevault.core.files import stored_file_response


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
        "signature_image",
        "signature_sha256",
        "status",
        "created_at",
        "decided_at",
        "decided_by",
    )
    fields = (*readonly_fields, "reason")
    actions = ("approve", "reject")

    def get_urls(self):
        view = self.admin_site.admin_view(self.signature_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}_signature"
        return [path("<int:application_id>/signature/", view, name=name), *super().get_urls()]

    def signature_view(self, request, application_id: int):
        """The applicant's signature, for operators who may view the application (the file
        has no public URL: MEDIA_URL is never routed)."""
        application = self.get_object(request, str(application_id))
        if application is None or not self.has_view_permission(request, application):
            raise Http404
        name = application.signature.name
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return stored_file_response(name, content_type=content_type, public=False)

    @admin.display(description=_("signature image"))
    def signature_image(self, application: ArtistApplication):
        if not application.pk or not application.signature:
            return "—"
        url = reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_signature",
            args=[application.pk],
        )
        return format_html('<a href="{0}"><img src="{0}" alt="" height="96"></a>', url)

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
