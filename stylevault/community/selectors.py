"""Reads for the community: feeds, threads, artists and who follows whom.

Which images anyone may see is decided by generation.selectors only; every query here starts
from its public_images(), visible_images() or image_for().
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from stylevault.accounts.models import Role, User
from stylevault.community.models import Comment, Follow, Like
from stylevault.core import errors, sqlrows
from stylevault.core.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from stylevault.core.readcache import ReadCache
from stylevault.generation.models import Image
from stylevault.generation.selectors import image_for, public_images, visible_images
from stylevault.styles.models import Style, StyleStatus


def image_file_url(image_id: int) -> str:
    """API.md's signed image file; it authorises each request itself."""
    return f"/api/v1/images/{image_id}/file"


def style_page_url(style_id: int) -> str:
    """The style's page with its generator, in the active language."""
    return reverse("styles:detail", args=[style_id])


# What a feed tile shows: loading only these keeps wide rows (prompts, QA reports, password
# hashes) out of every feed query.
TILE_FIELDS = (
    *("id", "width", "height", "description", "like_count", "comment_count", "published_at"),
    *("visibility", "style__name", "artist__username", "owner__username"),
)


def _published(rows: QuerySet[Image], cursor: str | None, limit: int) -> Page[Image]:
    rows = (
        rows.filter(published_at__isnull=False)
        .select_related("style", "artist", "owner")
        .only(*TILE_FIELDS)
    )
    return keyset_page(rows, field="published_at", cursor=cursor, limit=limit)


# The public feed's pages (and their tiles, see community.api): the same for every viewer.
PUBLIC_FEED = ReadCache("feed")


def feed(*, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> Page[Image]:
    """Every public image, the most recently made public first. The instances are shared by
    the requests of this process: read them only."""
    return PUBLIC_FEED.get(
        ("images", cursor, limit),
        lambda: _published(public_images(), cursor, limit),
        keep=limit <= DEFAULT_LIMIT,
    )


def following_feed(
    *, viewer: User, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[Image]:
    """Public images in the styles of the artists `viewer` follows."""
    followed = Follow.objects.filter(follower=viewer).values("artist_id")
    return _published(public_images().filter(artist_id__in=followed), cursor, limit)


def artist_images(
    *, artist: User, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[Image]:
    """Public images made in `artist`'s styles."""
    return _published(public_images().filter(artist=artist), cursor, limit)


# Every image each user likes, by user id, while changes are pushed (stylevault.core.readcache):
# the feed asks on every request which of its tiles the viewer likes. Users who like more
# than KEPT_LIKES images are asked per page instead. The like services announce changes (a
# deleted image's likes need not be: it shows on no page).
LIKES = ReadCache("likes", seconds=60.0, entries=2048, per_key=True)
KEPT_LIKES = 500


def liked_ids(viewer: User | None, image_ids: Iterable[int]) -> set[int]:
    """Which of the images the viewer likes (nothing for anonymous visitors). Every feed
    request asks, so the statements are written out (see stylevault.core.sqlrows)."""
    ids = [int(pk) for pk in image_ids]
    if viewer is None or not viewer.is_authenticated or not ids:
        return set()
    if LIKES.active():
        every = LIKES.get(viewer.pk, lambda: _every_like_of(viewer.pk))
        if every is not None:
            return {pk for pk in ids if _holds(every, pk)}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT image_id FROM {sqlrows.table(Like)} WHERE user_id = %s "
            f"AND image_id IN ({', '.join(['%s'] * len(ids))})",
            [viewer.pk, *ids],
        )
        return {row[0] for row in cursor.fetchall()}


def _every_like_of(user_id: int) -> array | None:
    """The ids of every image the user likes, sorted (8 bytes each: a set would take 50);
    None when there are more than KEPT_LIKES."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT image_id FROM {sqlrows.table(Like)} WHERE user_id = %s "
            "ORDER BY image_id LIMIT %s",
            [user_id, KEPT_LIKES + 1],
        )
        found = array("q", (row[0] for row in cursor.fetchall()))
    return found if len(found) <= KEPT_LIKES else None


def _holds(ordered: array, value: int) -> bool:
    at = bisect_left(ordered, value)
    return at < len(ordered) and ordered[at] == value


def comments_page(
    *, image: Image, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[Comment]:
    """The image's comments, oldest first, as a conversation reads."""
    rows = image.comments.select_related("author")
    return keyset_page(rows, field="created_at", cursor=cursor, limit=limit, descending=False)


def comment_for(viewer: User | None, comment_id: int) -> Comment | None:
    """A comment on an image `viewer` may see; None otherwise, like image_for."""
    return (
        Comment.objects.select_related("image", "author")
        .filter(pk=comment_id, image__in=visible_images(viewer))
        .first()
    )


def may_delete_comment(user: User | None, comment: Comment) -> bool:
    """The comment's author, the image's owner and operators may delete a comment."""
    if user is None or not user.is_authenticated:
        return False
    return user.pk in (comment.author_id, comment.image.owner_id) or user.is_operator


def get_image(viewer: User | None, image_id: int) -> Image:
    """The image when `viewer` may see it; NOT_FOUND for unknown ids and other people's
    private images alike."""
    image = image_for(viewer, image_id)
    if image is None:
        raise errors.NotFound(_("No such image."))
    return image


def get_artist(artist_id: int) -> User:
    """The artist; NOT_FOUND for unknown ids and for users who are not artists alike."""
    artist = User.objects.filter(pk=artist_id, role=Role.ARTIST).first()
    if artist is None:
        raise errors.NotFound(_("No such artist."))
    return artist


def is_following(viewer: User | None, artist: User) -> bool:
    if viewer is None or not viewer.is_authenticated:
        return False
    return Follow.objects.filter(follower=viewer, artist=artist).exists()


def follower_count(artist: User) -> int:
    return Follow.objects.filter(artist=artist).count()


def published_styles(artist: User) -> QuerySet[Style]:
    return (
        Style.objects.filter(artist=artist, status=StyleStatus.PUBLISHED)
        .prefetch_related("tags")
        .order_by("-published_at", "-id")
    )


def artist_profile(*, viewer: User | None, artist: User) -> dict:
    """An artist page's header: followers, and the artist's published styles (the newest
    MAX_LIMIT of them). Their images come page by page from artist_images."""
    styles = published_styles(artist)
    return {
        "artist": artist,
        "follower_count": follower_count(artist),
        "following": is_following(viewer, artist),
        "style_count": styles.count(),
        "styles": list(styles[:MAX_LIMIT]),
    }


def following_page(
    *, user: User, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[Follow]:
    """The artists `user` follows, the most recently followed first."""
    rows = Follow.objects.filter(follower=user).select_related("artist")
    return keyset_page(rows, field="created_at", cursor=cursor, limit=limit)
