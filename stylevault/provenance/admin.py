"""Operator console: the log and its heads, read-only (the database refuses changes anyway)."""

from __future__ import annotations

from django.contrib import admin

from stylevault.core.admin import ReadOnlyAdmin
from stylevault.provenance.models import Event, TreeHead


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "kind", "subject_type", "subject_id", "actor_id", "created_at")
    list_filter = ("kind", "subject_type")
    search_fields = ("=seq", "=subject_id", "=leaf_hash")
    readonly_fields = (
        "seq",
        "kind",
        "subject_type",
        "subject_id",
        "actor_id",
        "payload",
        "canonical",
        "leaf_hash",
        "created_at",
    )
    show_full_result_count = False


@admin.register(TreeHead)
class TreeHeadAdmin(ReadOnlyAdmin):
    list_display = ("tree_size", "root_hash", "signed_at", "key_id")
    readonly_fields = ("tree_size", "root_hash", "timestamp", "signed_at", "signature", "key_id")
