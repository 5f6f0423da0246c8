"""Writes of the community: likes, comments, follows. Each is one transaction; counters on
Image move with F() in the same transaction as the row they count, so they stay exact under
concurrency, and acting twice (liking a liked image, following a followed artist) is a no-op.

Following someone who is not an artist answers NOT_FOUND, as for an unknown user: artist
pages and follow buttons exist only for artists.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from stylevault.accounts.models import User
from stylevault.community import selectors
from stylevault.community.models import COMMENT_MAX_LENGTH, Comment, Follow, Like
from stylevault.core import errors
from stylevault.core.text import clean_text
from stylevault.generation.models import Image, Visibility
from stylevault.notifications.models import NotificationKind
from stylevault.notifications.services import notify


def _created(model, **fields) -> bool:
    """Inserts the row unless its unique key exists (also when a concurrent request just
    inserted it); True when this call inserted it."""
    try:
        with transaction.atomic():
            model.objects.create(**fields)
    except IntegrityError:
        return False
    return True


def _count(image: Image, field: str, delta: int) -> None:
    Image.objects.filter(pk=image.pk).update(**{field: F(field) + delta})
    image.refresh_from_db(fields=[field])
    if image.visibility == Visibility.PUBLIC:
        selectors.PUBLIC_FEED.changed()


# What a feed tile shows of the image row itself (counts are bumped by _count).
_TILE_COLUMNS = frozenset({"visibility", "published_at", "description"})


def image_saved(*, instance: Image, created: bool, update_fields=None, **kwargs) -> None:
    """Receives Image saves (community.apps): a new public image, or a change of what a
    tile shows (visibility included: it may have just been made private), changes the feed."""
    if created:
        changed = instance.visibility == Visibility.PUBLIC
    else:
        changed = update_fields is None or not _TILE_COLUMNS.isdisjoint(update_fields)
    if changed:
        selectors.PUBLIC_FEED.changed()


def image_deleted(*, instance: Image, **kwargs) -> None:
    if instance.visibility == Visibility.PUBLIC:
        selectors.PUBLIC_FEED.changed()


@transaction.atomic
def like_image(*, user: User, image_id: int) -> Image:
    """`user` likes the image (once); its owner is notified of a new like."""
    image = selectors.get_image(user, image_id)
    if _created(Like, user=user, image=image):
        selectors.LIKES.changed(user.pk)
        _count(image, "like_count", +1)
        notify(recipient=image.owner, kind=NotificationKind.IMAGE_LIKED, actor=user, subject=image)
    return image


@transaction.atomic
def unlike_image(*, user: User, image_id: int) -> Image:
    image = selectors.get_image(user, image_id)
    deleted, _rows = Like.objects.filter(user=user, image=image).delete()
    if deleted:
        selectors.LIKES.changed(user.pk)
        _count(image, "like_count", -1)
    return image


def _clean_body(body: str) -> str:
    body = clean_text(body, tags=False)
    if not body:
        message = _("Write something first.")
    elif len(body) > COMMENT_MAX_LENGTH:
        message = _("A comment has at most %(max)d characters.") % {"max": COMMENT_MAX_LENGTH}
    else:
        return body
    raise errors.ValidationFailed(message, details={"fields": {"body": [message]}})


@transaction.atomic
def add_comment(*, user: User, image_id: int, body: str) -> Comment:
    """A comment (plain text, escaped wherever shown) on an image `user` may see; its owner is
    notified."""
    body = _clean_body(body)
    image = selectors.get_image(user, image_id)
    comment = Comment.objects.create(image=image, author=user, body=body)
    _count(image, "comment_count", +1)
    notify(
        recipient=image.owner,
        kind=NotificationKind.IMAGE_COMMENTED,
        actor=user,
        subject=image,
        data={"comment_id": comment.pk},
    )
    return comment


@transaction.atomic
def delete_comment(*, user: User, comment_id: int) -> Comment:
    """Deletes the comment when `user` wrote it, owns the image, or is an operator; returns
    the deleted comment."""
    comment = selectors.comment_for(user, comment_id)
    if comment is None:
        raise errors.NotFound(_("No such comment."))
    if not selectors.may_delete_comment(user, comment):
        raise errors.Forbidden(
            _("Only its author, the image's owner or an operator may delete a comment.")
        )
    deleted, _rows = Comment.objects.filter(pk=comment.pk).delete()
    if deleted:
        _count(comment.image, "comment_count", -1)
    return comment


@transaction.atomic
def follow_artist(*, user: User, artist_id: int) -> User:
    """`user` follows the artist (once); returns the artist."""
    artist = selectors.get_artist(artist_id)
    if artist.pk == user.pk:
        raise errors.ValidationFailed(_("You cannot follow yourself."))
    _created(Follow, follower=user, artist=artist)
    return artist


@transaction.atomic
def unfollow_artist(*, user: User, artist_id: int) -> User:
    artist = selectors.get_artist(artist_id)
    Follow.objects.filter(follower=user, artist=artist).delete()
    return artist
