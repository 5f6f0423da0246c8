"""Operator console for jobs: see every job, cancel or retry them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from stylevault.core import errors
from stylevault.jobs import services
from stylevault.jobs.models import Job


def _is_operator(request) -> bool:
    return bool(getattr(request.user, "is_operator", False) and request.user.is_staff)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "queue",
        "owner",
        "status",
        "priority",
        "attempts",
        "created_at",
        "started_at",
        "finished_at",
        "error_code",
    )
    list_filter = ("status", "kind", "queue")
    search_fields = ("=id", "owner__username", "kind", "error_code")
    list_select_related = ("owner",)
    date_hierarchy = "created_at"
    actions = ("cancel", "retry")
    # Rows change only through the services (guarded transitions), never by hand.
    readonly_fields = [f.name for f in Job._meta.fields]

    def has_module_permission(self, request) -> bool:
        return _is_operator(request) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return _is_operator(request) or super().has_view_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _apply(self, request, queryset, action, done_message) -> None:
        for job in queryset:
            try:
                action(job_id=job.pk)
            except errors.DomainError as exc:
                self.message_user(request, f"#{job.pk}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, done_message % {"id": job.pk}, messages.SUCCESS)

    @admin.action(description=_("Cancel (queued: at once; running: at its next step)"))
    def cancel(self, request, queryset):
        self._apply(request, queryset, services.cancel_job, _("Job #%(id)s cancelled."))

    @admin.action(description=_("Retry from the first attempt"))
    def retry(self, request, queryset):
        self._apply(request, queryset, services.retry_job, _("Job #%(id)s queued again."))
