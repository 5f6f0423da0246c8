"""Typed builders of the provenance events the photo studio records.

They carry the photo's SHA-256 (of the stored, metadata-free original), never its pixels, its
faces or its file name.
"""

from __future__ import annotations

PHOTO_UPLOADED = "photo_uploaded"
PHOTO_VARIANTS_MADE = "photo_variants_made"
PHOTO_DELETED = "photo_deleted"


def uploaded(*, photo_id: int, sha256: str, style_id: int, generation_id: int) -> dict:
    return {
        "photo_id": photo_id,
        "photo_sha256": sha256,
        "style_id": style_id,
        "generation_id": generation_id,
    }


def variants_made(*, photo_id: int, sha256: str, generation_id: int, image_ids: list[int]) -> dict:
    return {
        "photo_id": photo_id,
        "photo_sha256": sha256,
        "generation_id": generation_id,
        "image_ids": image_ids,
    }


def deleted(*, photo_id: int, sha256: str, reason: str, image_ids: list[int]) -> dict:
    """`reason`: "request", "expired" or "account"; `image_ids`: the variants deleted with it."""
    return {"photo_id": photo_id, "photo_sha256": sha256, "reason": reason, "image_ids": image_ids}
