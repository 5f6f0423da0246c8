"""Portraits uploaded to the photo studio and the variants made from them.

A Photo keeps its original only encrypted (``styles.vault.seal``) under private storage, with
every EXIF/XMP field gone; its variants are the images of one paid Generation. Everything of a
photo is deleted `RETENTION_DAYS` after upload, at once on request, and with the account.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

RETENTION_DAYS = 30


class Photo(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="photos"
    )
    style = models.ForeignKey("styles.Style", on_delete=models.PROTECT, related_name="+")
    # The encrypted, metadata-free original; never served, read only by workers.
    path = models.CharField(max_length=255, editable=False)
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    faces = models.JSONField(default=list)
    strength = models.FloatField()
    generation = models.OneToOneField(
        "generation.Generation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="photo",
    )
    final_image = models.ForeignKey(
        "generation.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    expires_at = models.DateTimeField(_("deleted after"), db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        indexes = [models.Index(fields=["owner", "-created_at"], name="photo_owner")]

    def __str__(self) -> str:
        return f"photo {self.pk}"
