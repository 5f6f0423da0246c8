"""Generations (a paid request for images in a style or blend) and the images they deliver.

A Generation holds the ledger hold that pays for it and the job that renders it; its status
mirrors the job's. Images are private by default; only the signed, watermarked file is stored.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class GenerationStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


FINAL_STATUSES = (
    GenerationStatus.SUCCEEDED,
    GenerationStatus.FAILED,
    GenerationStatus.CANCELLED,
    GenerationStatus.EXPIRED,
)


class Generation(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generations"
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=GenerationStatus.choices,
        default=GenerationStatus.QUEUED,
    )
    # One prompt per batch; a plain request has one. Image i of a prompt uses seed + i.
    prompts = models.JSONField(_("prompts"), default=list)
    negative_prompt = models.CharField(_("negative prompt"), max_length=1000, blank=True)
    aspect_ratio = models.CharField(_("aspect ratio"), max_length=8, default="1:1")
    seed = models.BigIntegerField(_("seed"))
    count = models.PositiveIntegerField(_("images per prompt"), default=1)
    steps = models.PositiveIntegerField(_("steps"))
    cost = models.PositiveIntegerField(_("cost"))
    # SHA-256 of everything that decides the pixels: equal keys render equal images.
    render_key = models.CharField(max_length=64, db_index=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    request_hash = models.CharField(max_length=64)
    hold = models.ForeignKey(
        "ledger.Hold", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    progress = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("generation")
        verbose_name_plural = _("generations")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="generation_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return f"generation {self.pk}"

    @property
    def image_total(self) -> int:
        return len(self.prompts) * self.count


class GenerationStyle(models.Model):
    """One style of a generation's blend, with the price and artist as they were when held."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="blend")
    style = models.ForeignKey("styles.Style", on_delete=models.PROTECT, related_name="+")
    artist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    weight = models.FloatField()
    price_per_image = models.PositiveIntegerField()

    class Meta:
        ordering = ["generation", "-weight", "id"]

    def __str__(self) -> str:
        return f"{self.style_id} × {self.weight}"


class Visibility(models.TextChoices):
    PRIVATE = "private", _("Private")
    PUBLIC = "public", _("Public")


class Image(models.Model):
    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="images")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="images"
    )
    # The blend's heaviest style and its artist: what feeds and artist pages show.
    style = models.ForeignKey("styles.Style", on_delete=models.PROTECT, related_name="images")
    artist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="styled_images"
    )
    position = models.PositiveIntegerField()
    prompt = models.CharField(_("prompt"), max_length=1000)
    seed = models.BigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    path = models.CharField(max_length=255, editable=False)
    mime_type = models.CharField(max_length=32)
    sha256 = models.CharField(max_length=64, db_index=True)
    # The invisible watermark's payload: random, unique, never reused.
    mark = models.BigIntegerField(unique=True)
    # 64-bit perceptual hash, so training sets that copy a published image are caught.
    phash = models.BigIntegerField(null=True, blank=True, db_index=True)
    visibility = models.CharField(
        _("visibility"), max_length=8, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    # A studio's working copy (a photo's unpicked variant): its owner's alone, served only
    # through that studio, never listed, liked, certified or made public until it is picked.
    withheld = models.BooleanField(default=False)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    like_count = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    published_at = models.DateTimeField(_("made public"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("image")
        verbose_name_plural = _("images")
        indexes = [
            models.Index(fields=["visibility", "-published_at", "-id"], name="image_feed"),
            models.Index(fields=["owner", "-created_at"], name="image_owner"),
            models.Index(fields=["artist", "visibility", "-published_at"], name="image_artist"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["generation", "position"], name="image_position")
        ]

    def __str__(self) -> str:
        return f"image {self.pk}"

    @property
    def is_public(self) -> bool:
        return self.visibility == Visibility.PUBLIC
