"""Notifications: what happened to a user's images, styles and generations.

A row stores the kind and its data, never rendered text: the message is rendered when read,
in the recipient's language, so a change of language or wording applies to old rows too.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    IMAGE_LIKED = "image_liked", _("Image liked")
    IMAGE_COMMENTED = "image_commented", _("Image commented")
    MODEL_TRAINING_COMPLETED = "model_training_completed", _("Training completed")
    MODEL_TRAINING_FAILED = "model_training_failed", _("Training failed")
    IMAGE_GENERATION_COMPLETED = "image_generation_completed", _("Generation completed")
    IMAGE_GENERATION_FAILED = "image_generation_failed", _("Generation failed")
    # SPEC §3: a new style too similar to a published one goes to review; both artists are told.
    STYLE_SIMILARITY_FLAGGED = "style_similarity_flagged", _("Similar style flagged")


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The subject (an image, style or generation) as its model name and id: a subject may be
    # deleted later, and the notification must outlive it.
    target_type = models.CharField(_("target type"), max_length=32, blank=True)
    target_id = models.BigIntegerField(_("target id"), null=True, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_list"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
