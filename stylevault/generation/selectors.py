"""Reads of generations and images. Visibility rules live here and nowhere else."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from stylevault.generation.models import Generation, Image, Visibility


def _user_id(user) -> int | None:
    return user.pk if user is not None and getattr(user, "is_authenticated", False) else None


def images() -> QuerySet[Image]:
    """Every normal image: a studio's withheld working copies (a photo's unpicked variants)
    are nobody's image, not even their owner's, until picked; their studio serves them."""
    return Image.objects.filter(withheld=False)


def visible_images(viewer) -> QuerySet[Image]:
    """Images `viewer` (a user, AnonymousUser or None) may see: public ones and their own."""
    viewer_id = _user_id(viewer)
    condition = Q(visibility=Visibility.PUBLIC)
    if viewer_id is not None:
        condition |= Q(owner_id=viewer_id)
    return images().filter(condition)


def public_images() -> QuerySet[Image]:
    """Images anyone may see, for feeds, artist pages and search."""
    return images().filter(visibility=Visibility.PUBLIC)


def image_for(viewer, image_id: int) -> Image | None:
    """The image when `viewer` may see it; None for unknown and for other people's private ones
    alike, so a private image's existence is never revealed."""
    return (
        visible_images(viewer)
        .select_related("style", "artist", "owner")
        .filter(pk=image_id)
        .first()
    )


def images_of(owner) -> QuerySet[Image]:
    return images().filter(owner=owner).select_related("style", "artist")


def generation_for(owner, generation_id: int) -> Generation | None:
    """The owner's generation; None for unknown ids and other people's generations."""
    return (
        Generation.objects.filter(pk=generation_id, owner=owner)
        .prefetch_related("images", "blend__style")
        .first()
    )


def generations_of(owner) -> QuerySet[Generation]:
    return Generation.objects.filter(owner=owner).prefetch_related("images")


def public_image_hashes(excluded_artist_id: int) -> list[tuple[int, int, int]]:
    """(phash, image id, artist id) of every public image but one artist's: a style's checks
    refuse training works that copy them (styles.checks.find_duplicates)."""
    return list(
        public_images()
        .filter(phash__isnull=False)
        .exclude(artist_id=excluded_artist_id)
        .values_list("phash", "id", "artist_id")
    )
