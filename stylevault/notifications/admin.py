from django.contrib import admin

from stylevault.notifications.models import Notification
from stylevault.web.admin import ReadOnlyAdmin


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
