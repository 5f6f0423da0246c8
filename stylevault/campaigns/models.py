"""Campaign studio: brands, chat sessions, their messages and the ad drafts the turns made.

A draft holds the copy a writer produced, the generation that paid for its picture (the
existing generation flow: hold, job, capture, royalties, provenance) and, once composed, the
signed ad file. Guests have no rows of their own here beyond their drafts (session is null).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class BusinessType(models.TextChoices):
    CAFE = "cafe", _("Cafe")
    RESTAURANT = "restaurant", _("Restaurant")
    BAKERY = "bakery", _("Bakery")
    SALON = "salon", _("Salon")
    RETAIL = "retail", _("Retail shop")
    FITNESS = "fitness", _("Fitness")
    CLINIC = "clinic", _("Clinic")
    ACADEMY = "academy", _("Academy")
    OTHER = "other", _("Other")


class Tone(models.TextChoices):
    FRIENDLY = "friendly", _("Friendly")
    PREMIUM = "premium", _("Premium")
    PLAYFUL = "playful", _("Playful")
    CALM = "calm", _("Calm")


class Language(models.TextChoices):
    KO = "ko", _("Korean")
    EN = "en", _("English")


class Layout(models.TextChoices):
    BOTTOM = "bottom", _("Bottom band")
    TOP = "top", _("Top band")
    CARD = "card", _("Centred card")


class Brand(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="brands"
    )
    name = models.CharField(_("name"), max_length=80)
    business_type = models.CharField(
        _("business type"), max_length=16, choices=BusinessType.choices, default=BusinessType.OTHER
    )
    tone = models.CharField(_("tone"), max_length=16, choices=Tone.choices, default=Tone.FRIENDLY)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.KO
    )
    primary_color = models.CharField(_("primary colour"), max_length=7, default="#1f6feb")
    secondary_color = models.CharField(_("secondary colour"), max_length=7, default="#ffffff")
    # The stored logo (PNG keeps its transparency); empty when none was uploaded.
    logo_path = models.CharField(max_length=255, blank=True, editable=False)
    logo_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    default_style = models.ForeignKey(
        "styles.Style", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("brand")
        verbose_name_plural = _("brands")

    def __str__(self) -> str:
        return self.name


class ChatSession(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="campaign_sessions"
    )
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(_("title"), max_length=120)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("chat session")
        verbose_name_plural = _("chat sessions")
        indexes = [models.Index(fields=["owner", "-updated_at"], name="campaign_session_owner")]

    def __str__(self) -> str:
        return self.title


class Role(models.TextChoices):
    USER = "user", _("You")
    ASSISTANT = "assistant", _("Assistant")


class Message(models.Model):
    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:40]}"


class DraftStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class Draft(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="campaign_drafts"
    )
    session = models.ForeignKey(
        ChatSession, null=True, blank=True, on_delete=models.CASCADE, related_name="drafts"
    )
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.SET_NULL)
    # The assistant message that presented this draft.
    message = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="draft"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=DraftStatus.choices, default=DraftStatus.QUEUED
    )
    brief = models.TextField(_("brief"))
    headline = models.CharField(_("headline"), max_length=200)
    body = models.TextField(_("body"))
    cta = models.CharField(_("call to action"), max_length=120)
    hashtags = models.JSONField(default=list)
    image_prompt = models.TextField()
    aspect_ratio = models.CharField(_("aspect ratio"), max_length=8)
    language = models.CharField(max_length=2, choices=Language.choices)
    tone = models.CharField(max_length=16, choices=Tone.choices)
    layout = models.CharField(max_length=16, choices=Layout.choices, default=Layout.BOTTOM)
    writer = models.CharField(max_length=32)  # "template" or "llm"
    variant = models.PositiveIntegerField(default=0)
    style = models.ForeignKey("styles.Style", on_delete=models.PROTECT, related_name="+")
    generation = models.ForeignKey(
        "generation.Generation", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    compose_job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ad_path = models.CharField(max_length=255, blank=True)
    ad_png_path = models.CharField(max_length=255, blank=True)
    ad_sha256 = models.CharField(max_length=64, blank=True)
    ad_width = models.PositiveIntegerField(null=True, blank=True)
    ad_height = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ad draft")
        verbose_name_plural = _("ad drafts")
        indexes = [models.Index(fields=["owner", "-created_at"], name="campaign_draft_owner")]

    def __str__(self) -> str:
        return f"draft {self.pk}"
