"""Reads of the photo studio. A photo is only ever visible to its owner: for anyone else it
does not exist (404), like its variants and their files."""

from __future__ import annotations

from django.db.models import QuerySet

from stylevault.generation.models import Image
from stylevault.photos.models import Photo


def photos_of(owner) -> QuerySet[Photo]:
    return (
        Photo.objects.filter(owner=owner)
        .select_related("generation")
        .prefetch_related("generation__images")
    )


def photo_for(owner, photo_id: int) -> Photo | None:
    return photos_of(owner).filter(pk=photo_id).first()


def variant_for(owner, photo_id: int, variant_id: int) -> Image | None:
    photo = Photo.objects.filter(pk=photo_id, owner=owner).only("generation_id").first()
    if photo is None or photo.generation_id is None:
        return None
    return Image.objects.filter(
        pk=variant_id, generation_id=photo.generation_id, owner=owner
    ).first()


def status_of(photo: Photo) -> str:
    """API.md's photo status: queued, running, succeeded or failed (cancelled and expired
    variants are failed ones, credits returned)."""
    status = photo.generation.status if photo.generation is not None else "failed"
    return status if status in ("queued", "running", "succeeded") else "failed"
