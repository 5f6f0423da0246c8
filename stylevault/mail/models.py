"""The e-mail outbox (one row per e-mail, written in the transaction of its cause) and each
user's choice of the optional kinds."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Not sent (opted out or no address)")
    FAILED = "failed", _("Failed")


class OutboxEmail(models.Model):
    """One e-mail to send. ``key`` names its cause (e.g. ``receipt:<checkout>``): the same cause
    never writes a second row, and a row once ``sent`` is never sent again."""

    key = models.CharField(max_length=255, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="outbox_emails"
    )
    kind = models.CharField(max_length=32)
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    message_id = models.CharField(max_length=255, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")

    def __str__(self) -> str:
        return f"{self.kind} to {self.user} ({self.status})"


def _token() -> str:
    return secrets.token_urlsafe(24)


class MailPreference(models.Model):
    """The optional kinds a user turned off; ``token`` signs their unsubscribe links."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_preference"
    )
    opted_out = models.JSONField(default=list, blank=True)
    token = models.CharField(max_length=64, unique=True, default=_token)

    def __str__(self) -> str:
        return f"{self.user}: no {', '.join(self.opted_out) or '—'}"
