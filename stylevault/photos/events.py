"""Typed builders of the provenance events the photo studio records.

They carry the photo's SHA-256 (of the stored, metadata-free original), never its pixels, its
faces or its file name.
"""

from __future__ import annotations

from stylevault.photos.models import Photo
from stylevault.provenance.models import EventKind
from stylevault.provenance.services import NewEvent


def uploaded(*, photo: Photo) -> NewEvent:
    """A portrait was accepted and its variants requested."""
    return NewEvent(
        kind=EventKind.PHOTO_UPLOADED,
        subject=photo,
        actor=photo.owner_id,
        payload={
            "photo_id": photo.pk,
            "photo_sha256": photo.sha256,
            "style_id": photo.style_id,
            "generation_id": photo.generation_id,
        },
    )


def variants_made(*, photo: Photo, generation_id: int, image_ids: list[int]) -> NewEvent:
    """The variants of `photo` were delivered as the images `image_ids`."""
    return NewEvent(
        kind=EventKind.PHOTO_VARIANTS_MADE,
        subject=photo,
        actor=photo.owner_id,
        payload={
            "photo_id": photo.pk,
            "photo_sha256": photo.sha256,
            "generation_id": generation_id,
            "image_ids": image_ids,
        },
    )


def deleted(*, photo: Photo, reason: str, image_ids: list[int]) -> NewEvent:
    """`reason`: "request", "expired" or "account"; `image_ids`: the variants deleted with it."""
    return NewEvent(
        kind=EventKind.PHOTO_DELETED,
        subject=photo,
        actor=photo.owner_id,
        payload={
            "photo_id": photo.pk,
            "photo_sha256": photo.sha256,
            "reason": reason,
            "image_ids": image_ids,
        },
    )
