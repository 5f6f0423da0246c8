"""Operator console for the campaign studio (read-only: services own every change)."""

from __future__ import annotations

from django.contrib import admin

from stylevault.campaigns.models import Brand, ChatSession, Draft
from stylevault.core.admin import ReadOnlyAdmin


@admin.register(Brand)
class BrandAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "owner", "business_type", "language", "created_at")
    list_filter = ("business_type", "language")
    search_fields = ("name", "owner__username")


@admin.register(ChatSession)
class ChatSessionAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "owner", "brand", "updated_at")
    search_fields = ("title", "owner__username")


@admin.register(Draft)
class DraftAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "status", "aspect_ratio", "language", "writer", "created_at")
    list_filter = ("status", "writer", "language", "aspect_ratio")
    search_fields = ("headline", "owner__username")
    exclude = ("ad_path", "ad_png_path")
