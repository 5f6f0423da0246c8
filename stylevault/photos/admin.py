"""Operator console for photos: what exists and when it goes, never the picture itself."""

from __future__ import annotations

from django.contrib import admin

from stylevault.core.admin import ReadOnlyAdmin
from stylevault.photos.models import Photo


@admin.register(Photo)
class PhotoAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "style", "generation", "final_image", "created_at", "expires_at")
    search_fields = ("owner__username",)
    exclude = ("path", "faces")
