"""Operator console for styles: the review queue of flagged styles, and every style's report."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.utils.translation import gettext_lazy as _

from stylevault.core import errors
from stylevault.styles import services
from stylevault.styles.models import Style


class ReviewForm(ActionForm):
    reason = forms.CharField(
        label=_("Reason (shown to the artist)"), required=False, max_length=2000
    )


@admin.register(Style)
class StyleAdmin(admin.ModelAdmin):
    list_display = ("name", "artist", "status", "price_per_image", "source", "created_at")
    list_filter = ("status", "source", "nsfw_allowed")
    search_fields = ("name", "artist__username")
    # The LoRA's storage path is deliberately absent: the console never links to the weights.
    readonly_fields = (
        "artist",
        "name",
        "description",
        "price_per_image",
        "nsfw_allowed",
        "source",
        "status",
        "qa",
        "error",
        "review_reason",
        "reviewed_by",
        "lora_sha256",
        "embedding_space",
        "created_at",
        "published_at",
    )
    fields = readonly_fields
    exclude = ("lora_path",)
    action_form = ReviewForm
    actions = ("approve", "reject")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _review(self, request, queryset, approve: bool) -> None:
        reason = request.POST.get("reason", "")
        for style in queryset:
            try:
                services.review_style(
                    operator=request.user, style_id=style.pk, approve=approve, reason=reason
                )
            except errors.DomainError as exc:
                self.message_user(request, f"{style}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, _("%s reviewed.") % style, messages.SUCCESS)

    @admin.action(description=_("Approve and publish the selected styles in review"))
    def approve(self, request, queryset):
        self._review(request, queryset, approve=True)

    @admin.action(description=_("Reject the selected styles in review (give a reason)"))
    def reject(self, request, queryset):
        self._review(request, queryset, approve=False)
