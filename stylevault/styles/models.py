"""Styles: an artist's training works, the LoRA trained from them, its checks and its listing.

LoRA weights live only as AES-GCM ciphertext in private storage (`lora_path`); no URL of the
platform serves them. Every other file here is served through an authorising view.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MIN_PRICE, MAX_PRICE = 1, 10_000


class StyleStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    TRAINING = "training", _("Training")
    CHECKING = "checking", _("Checking")
    PUBLISHED = "published", _("Published")
    IN_REVIEW = "in_review", _("In review")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")


class StyleSource(models.TextChoices):
    TRAINED = "trained", _("Trained here")
    IMPORTED = "imported", _("Imported LoRA")


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=40, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Style(models.Model):
    artist = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("artist"),
        on_delete=models.PROTECT,
        related_name="styles",
    )
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), related_name="styles", blank=True)
    price_per_image = models.PositiveIntegerField(
        _("price per image"),
        validators=[MinValueValidator(MIN_PRICE), MaxValueValidator(MAX_PRICE)],
    )
    nsfw_allowed = models.BooleanField(_("NSFW allowed"), default=False)
    source = models.CharField(
        _("source"), max_length=16, choices=StyleSource.choices, default=StyleSource.TRAINED
    )
    status = models.CharField(
        _("status"), max_length=16, choices=StyleStatus.choices, default=StyleStatus.QUEUED
    )
    qa = models.JSONField(_("check report"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    review_reason = models.TextField(_("review decision reason"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    # The encrypted LoRA in private storage, and the hash of its plaintext safetensors.
    lora_path = models.CharField(max_length=255, blank=True, editable=False)
    lora_sha256 = models.CharField(_("model hash"), max_length=64, blank=True)
    embedding_space = models.CharField(max_length=200, blank=True, editable=False)
    training_job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    check_job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    search_text = models.TextField(editable=False, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("style")
        verbose_name_plural = _("styles")
        indexes = [models.Index(fields=["status", "-published_at"], name="styles_status_pub")]
        constraints = [
            models.CheckConstraint(
                condition=Q(price_per_image__gte=MIN_PRICE) & Q(price_per_image__lte=MAX_PRICE),
                name="styles_price_range",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_published(self) -> bool:
        return self.status == StyleStatus.PUBLISHED


class TrainingImage(models.Model):
    style = models.ForeignKey(Style, on_delete=models.CASCADE, related_name="training_images")
    position = models.PositiveIntegerField()
    original_name = models.CharField(max_length=255)
    path = models.CharField(max_length=255, editable=False)
    sha256 = models.CharField(max_length=64, db_index=True)
    # 64-bit DCT perceptual hash as a signed integer (fits BIGINT), for duplicate checks.
    phash = models.BigIntegerField(db_index=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    caption = models.CharField(_("caption"), max_length=300, blank=True)

    class Meta:
        ordering = ["style", "position"]
        constraints = [
            models.UniqueConstraint(fields=["style", "position"], name="styles_image_position")
        ]

    def __str__(self) -> str:
        return self.original_name


class VectorKind(models.TextChoices):
    WORK = "work", _("Training work")
    REFERENCE = "reference", _("Reference image")


class StyleVector(models.Model):
    """A style embedding (float32 bytes) of a training work or a reference image."""

    style = models.ForeignKey(Style, on_delete=models.CASCADE, related_name="vectors")
    kind = models.CharField(max_length=16, choices=VectorKind.choices)
    space = models.CharField(max_length=200)
    vector = models.BinaryField()

    class Meta:
        indexes = [models.Index(fields=["space", "kind"], name="styles_vector_space")]

    def __str__(self) -> str:
        return f"{self.kind} vector of style {self.style_id}"


class SampleImage(models.Model):
    """A reference render from the fixed prompt set, shown on the style page once published."""

    style = models.ForeignKey(Style, on_delete=models.CASCADE, related_name="samples")
    position = models.PositiveIntegerField()
    prompt = models.CharField(max_length=300)
    path = models.CharField(max_length=255, editable=False)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()

    class Meta:
        ordering = ["style", "position"]

    def __str__(self) -> str:
        return self.prompt
