"""The provenance log: append-only events (the leaves of an RFC 9162 Merkle tree) and the
signed tree heads that commit to them.

Both tables are append-only in the database itself: triggers refuse every UPDATE and DELETE
(migration 0002). Rows are written only by ``provenance.services``.

An event's ``canonical`` text is the whole event as canonical JSON; its UTF-8 bytes are the
leaf, ``leaf_hash = SHA-256(0x00 || canonical)``. The other columns repeat what the canonical
text says, for queries; ``stylevault provenance verify`` checks that they agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventKind(models.TextChoices):
    """The kinds the platform records today. Not a closed set: any lowercase ``snake_case``
    name is accepted, so an app adds a kind without a migration."""

    ARTIST_VERIFIED = "artist_verified", _("Artist verified")
    TRAINING_DATA_UPLOADED = "training_data_uploaded", _("Training data uploaded")
    LORA_TRAINED = "lora_trained", _("Style model trained")
    STYLE_PUBLISHED = "style_published", _("Style published")
    LICENSE_BOUGHT = "license_bought", _("Licence bought")
    IMAGE_GENERATED = "image_generated", _("Image generated")
    LORA_IMPORTED = "lora_imported", _("Style model imported")
    CAMPAIGN_AD_COMPOSED = "campaign_ad_composed", _("Campaign ad composed")
    PHOTO_UPLOADED = "photo_uploaded", _("Portrait uploaded")
    PHOTO_VARIANTS_MADE = "photo_variants_made", _("Portrait variants made")
    PHOTO_DELETED = "photo_deleted", _("Portrait deleted")


class Event(models.Model):
    seq = models.BigIntegerField(
        _("sequence number"),
        primary_key=True,
        help_text=_("The event's leaf index in the Merkle tree: 0, 1, 2, ... without gaps."),
    )
    kind = models.CharField(_("kind"), max_length=64)
    subject_type = models.CharField(_("subject type"), max_length=64)
    subject_id = models.CharField(_("subject id"), max_length=64)
    # A plain number, not a foreign key: the log outlives users, and deleting a user must
    # neither cascade into the log nor try to rewrite it.
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True)
    payload = models.JSONField(_("payload"), default=dict)
    canonical = models.TextField(_("canonical JSON"))
    leaf_hash = models.CharField(_("leaf hash"), max_length=64)
    created_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("provenance event")
        verbose_name_plural = _("provenance events")
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id"], name="provenance_event_subject"),
            models.Index(fields=["kind", "seq"], name="provenance_event_kind"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=0), name="provenance_event_seq_gte0")
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.subject_type}:{self.subject_id}"

    @property
    def leaf_index(self) -> int:
        return self.seq

    @property
    def canonical_bytes(self) -> bytes:
        return self.canonical.encode("utf-8")


class TreeHead(models.Model):
    """A signed commitment to the first ``tree_size`` events (see ``provenance.signing``)."""

    tree_size = models.BigIntegerField(_("tree size"), unique=True)
    root_hash = models.CharField(_("root hash"), max_length=64)
    timestamp = models.BigIntegerField(
        _("timestamp"), help_text=_("Milliseconds since the Unix epoch, as signed.")
    )
    signature = models.CharField(_("signature"), max_length=128, help_text=_("Base64."))
    key_id = models.CharField(_("key id"), max_length=64)

    class Meta:
        verbose_name = _("signed tree head")
        verbose_name_plural = _("signed tree heads")
        ordering = ["tree_size"]
        get_latest_by = "tree_size"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tree_size__gte=0), name="provenance_treehead_size_gte0"
            )
        ]

    def __str__(self) -> str:
        return f"tree head {self.tree_size} {self.root_hash[:16]}"

    @property
    def signed_at(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp / 1000, tz=UTC)


class ImageFingerprint(models.Model):
    """An image's perceptual fingerprints (engine.fingerprint's packed binary hashes), from
    which every process builds its in-memory lookup index."""

    image = models.OneToOneField(
        "generation.Image", on_delete=models.CASCADE, related_name="fingerprint"
    )
    data = models.BinaryField()
    rows = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("image fingerprint")
        verbose_name_plural = _("image fingerprints")

    def __str__(self) -> str:
        return f"fingerprints of image {self.image_id}"
