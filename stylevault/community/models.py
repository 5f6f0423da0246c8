"""Community: likes and comments on public images, and users following artists.

Image.like_count and Image.comment_count are kept exact by the services, in the same
transaction as the Like or Comment row, so feeds never count rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

COMMENT_MAX_LENGTH = 1000


class Like(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    image = models.ForeignKey(
        "generation.Image", verbose_name=_("image"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("like")
        verbose_name_plural = _("likes")
        constraints = [
            models.UniqueConstraint(fields=["user", "image"], name="community_like_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ♥ {self.image_id}"


class Comment(models.Model):
    image = models.ForeignKey(
        "generation.Image",
        verbose_name=_("image"),
        on_delete=models.CASCADE,
        related_name="comments",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.CASCADE,
        related_name="comments",
    )
    body = models.TextField(_("comment"), max_length=COMMENT_MAX_LENGTH)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        indexes = [models.Index(fields=["image", "created_at", "id"], name="comment_thread")]

    def __str__(self) -> str:
        return self.body[:60]


class Follow(models.Model):
    follower = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("follower"),
        on_delete=models.CASCADE,
        related_name="follows",
    )
    artist = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("artist"),
        on_delete=models.CASCADE,
        related_name="followers",
    )
    created_at = models.DateTimeField(_("followed"), auto_now_add=True)

    class Meta:
        verbose_name = _("follow")
        verbose_name_plural = _("follows")
        indexes = [models.Index(fields=["follower", "-created_at", "-id"], name="follow_list")]
        constraints = [
            models.UniqueConstraint(fields=["follower", "artist"], name="community_follow_once"),
            models.CheckConstraint(
                condition=~Q(follower=F("artist")), name="community_no_self_follow"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} → {self.artist_id}"
