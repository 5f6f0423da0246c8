"""Operator console for generations and images (read-only: services own every change)."""

from __future__ import annotations

from django.contrib import admin

from stylevault.core.admin import ReadOnlyAdmin
from stylevault.generation.models import Generation, Image


@admin.register(Generation)
class GenerationAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "status", "cost", "count", "steps", "created_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("owner__username",)


@admin.register(Image)
class ImageAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "style", "artist", "visibility", "created_at")
    list_filter = ("visibility",)
    search_fields = ("owner__username", "artist__username", "sha256")
    exclude = ("path",)
