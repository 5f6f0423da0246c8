"""Console parts shared by every app's admin."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records changed only by services (money, jobs' history, the provenance log)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
