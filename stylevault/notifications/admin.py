from django.contrib import admin

from stylevault.core.admin import ReadOnlyAdmin
from stylevault.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "kind",
        "recipient",
        "actor",
        "target_type",
        "target_id",
        "read_at",
    )
    list_filter = ("kind",)
    search_fields = ("recipient__username",)
    list_select_related = ("recipient", "actor")
    date_hierarchy = "created_at"
