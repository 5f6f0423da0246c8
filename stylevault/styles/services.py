"""Every write to styles: creation from training works or an imported LoRA, the training and
check outcomes, review, and the artist's edits. Each public function is one transaction.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image as PILImage

from stylevault.accounts.models import User
from stylevault.billing.selectors import tier_of
from stylevault.core import errors
from stylevault.core.imaging import CheckedImage, check_image, perceptual_hash
from stylevault.core.text import clean_text
from stylevault.jobs import services as jobs
from stylevault.mail import services as mail
from stylevault.notifications.services import notify
from stylevault.provenance.services import record
from stylevault.styles import events, search, vault
from stylevault.styles.models import (
    MAX_PRICE,
    MIN_PRICE,
    SampleImage,
    Style,
    StyleSource,
    StyleStatus,
    StyleVector,
    Tag,
    TrainingImage,
)

MIN_WORKS, MAX_WORKS = 10, 100
MAX_WORK_BYTES = 10 * 1024 * 1024
MIN_WORK_SIDE = 512
MAX_TAGS, MAX_TAG_LENGTH = 20, 40
MAX_CAPTION_LENGTH = 300
TRAINING_JOB, CHECK_JOB = "style_training", "style_check"


_invalid = errors.field_error


def _clean_text(value, field: str, *, max_length: int, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _invalid(field, _("This field must be text."))
    value = clean_text(value)
    if required and not value:
        raise _invalid(field, _("This field is required."))
    if len(value) > max_length:
        raise _invalid(
            field,
            _("At most %(n)s characters are allowed here.") % {"n": max_length},
        )
    return value


def clean_price(value) -> int:
    """A price per image in whole credits, 1–10,000; accepts an int or a string of digits."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("price_per_image", _("The price must be a whole number of credits."))
    if not MIN_PRICE <= value <= MAX_PRICE:
        raise _invalid(
            "price_per_image",
            _("The price must be between %(min)s and %(max)s credits.")
            % {"min": MIN_PRICE, "max": f"{MAX_PRICE:,}"},
        )
    return value


def clean_tags(value) -> list[str]:
    """Tags from a comma-separated string or a list: lower-case, trimmed, unique, in order."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(t, str) for t in value):
        raise _invalid("tags", _("Tags must be a comma-separated list of words."))
    cleaned = (clean_text(t).lower() for t in value)
    tags = list(dict.fromkeys(t for t in cleaned if t))
    if len(tags) > MAX_TAGS:
        raise _invalid("tags", _("At most %(n)s tags are allowed.") % {"n": MAX_TAGS})
    if any(len(t) > MAX_TAG_LENGTH for t in tags):
        raise _invalid(
            "tags", _("Each tag may have at most %(n)s characters.") % {"n": MAX_TAG_LENGTH}
        )
    return tags


def clean_bool(value, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "1", "yes", "on"}:
        return True
    if value is None or (
        isinstance(value, str) and value.strip().lower() in {"", "false", "0", "no", "off"}
    ):
        return False
    raise _invalid(field, _("This field must be true or false."))


@dataclass(frozen=True)
class StyleFields:
    name: str
    description: str
    tags: list[str]
    price_per_image: int
    nsfw_allowed: bool


def clean_fields(*, name, description, tags, price_per_image, nsfw_allowed) -> StyleFields:
    return StyleFields(
        name=_clean_text(name, "name", max_length=100, required=True),
        description=_clean_text(description, "description", max_length=2000, required=False),
        tags=clean_tags(tags),
        price_per_image=clean_price(price_per_image),
        nsfw_allowed=clean_bool(nsfw_allowed, "nsfw_allowed"),
    )


def _require_artist(user) -> None:
    if not getattr(user, "is_artist", False):
        raise errors.Forbidden(_("Only approved artists can create styles."))


def _check_works(
    images: Sequence, captions: Sequence[str] | None
) -> list[tuple[CheckedImage, str]]:
    count = len(images)
    if not MIN_WORKS <= count <= MAX_WORKS:
        raise _invalid(
            "images",
            ngettext(
                "%(count)s image was sent; a style needs %(min)s to %(max)s.",
                "%(count)s images were sent; a style needs %(min)s to %(max)s.",
                count,
            )
            % {"count": count, "min": MIN_WORKS, "max": MAX_WORKS},
            count=count,
        )
    captions = list(captions or [])
    if captions and len(captions) != count:
        raise _invalid("captions", _("Give one caption per image, or none."))
    checked = []
    for index, upload in enumerate(images):
        work = check_image(upload, max_bytes=MAX_WORK_BYTES, min_side=MIN_WORK_SIDE)
        caption = _clean_text(
            captions[index] if captions else "",
            "captions",
            max_length=MAX_CAPTION_LENGTH,
            required=False,
        )
        checked.append((work, caption))
    return checked


def _set_tags(style: Style, tags: list[str]) -> None:
    existing = {t.name: t for t in Tag.objects.filter(name__in=tags)}
    Tag.objects.bulk_create([Tag(name=n) for n in tags if n not in existing], ignore_conflicts=True)
    style.tags.set(Tag.objects.filter(name__in=tags))
    refresh_search_text(style, tags)


def refresh_search_text(style: Style, tags: list[str] | None = None) -> None:

    search.refresh_search_text(style)


def _store_work(style: Style, position: int, work: CheckedImage, caption: str) -> TrainingImage:
    extension = "png" if work.format == "PNG" else "jpg"
    path = default_storage.save(
        f"private/training/{style.pk}/{position:03d}-{work.sha256[:16]}.{extension}",
        ContentFile(work.data),
    )
    with PILImage.open(io.BytesIO(work.data)) as picture:
        phash = perceptual_hash(picture)
    return TrainingImage(
        style=style,
        position=position,
        original_name=work.name[:255],
        path=path,
        sha256=work.sha256,
        phash=phash,
        width=work.width,
        height=work.height,
        caption=caption,
    )


def _enqueue(kind: str, style: Style) -> None:
    tier = tier_of(style.artist)
    job = jobs.enqueue(
        kind=kind,
        payload={"style_id": style.pk},
        owner=style.artist,
        priority=tier.queue_priority,
    )
    field = "training_job" if kind == TRAINING_JOB else "check_job"
    setattr(style, field, job)
    style.save(update_fields=[field, "status", "updated_at"])


def create_style(
    *,
    artist,
    name,
    description="",
    tags="",
    price_per_image,
    nsfw_allowed=False,
    images: Sequence = (),
    captions: Sequence[str] | None = None,
    lora=None,
) -> Style:
    """Creates a style from 10–100 training works (trained here) or from an imported LoRA.

    Every file is checked by its bytes before anything is stored; the works' hashes go into the
    provenance log; the training (or import check) job is queued in the same transaction.
    """
    _require_artist(artist)
    fields = clean_fields(
        name=name,
        description=description,
        tags=tags,
        price_per_image=price_per_image,
        nsfw_allowed=nsfw_allowed,
    )
    if lora is not None and images:
        raise _invalid("lora", _("Send either training images or a LoRA file, not both."))
    works = [] if lora is not None else _check_works(images, captions)
    weights = read_imported_lora(lora) if lora is not None else None
    with transaction.atomic():
        style = Style.objects.create(
            artist=artist,
            name=fields.name,
            description=fields.description,
            price_per_image=fields.price_per_image,
            nsfw_allowed=fields.nsfw_allowed,
            source=StyleSource.IMPORTED if weights is not None else StyleSource.TRAINED,
        )
        _set_tags(style, fields.tags)
        if weights is not None:
            _record_import(style, weights)
            style.status = StyleStatus.CHECKING
            _enqueue(CHECK_JOB, style)
        else:
            TrainingImage.objects.bulk_create(
                [_store_work(style, i, work, caption) for i, (work, caption) in enumerate(works)]
            )
            record(
                events.training_data_uploaded(
                    style=style, artist=artist, files=[(w.name, w.sha256) for w, _c in works]
                )
            )
            _enqueue(TRAINING_JOB, style)
    return style


# --------------------------------------------------------------------------------------------
# Imported LoRAs: checked for shape here (no torch in the web), for fit by the check job.

SAFETENSORS_HEADER_LIMIT = 100 * 1024 * 1024


def read_imported_lora(upload) -> bytes:
    """Reads an uploaded LoRA and checks it is a safetensors file of LoRA tensors."""
    name = getattr(upload, "name", None) or "lora"
    limit = settings.STYLEVAULT_MAX_LORA_BYTES
    if getattr(upload, "size", 0) and upload.size > limit:
        raise _lora_too_large(name, limit)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise _lora_too_large(name, limit)
    keys = _safetensors_keys(data)
    if keys is None:
        raise errors.UnsupportedMediaType(
            _("%(name)s is not a safetensors file.") % {"name": name}, details={"file": name}
        )
    if not any("lora" in key.lower() for key in keys):
        raise _invalid("lora", _("%(name)s holds no LoRA weights.") % {"name": name}, file=name)
    return data


def _lora_too_large(name: str, limit: int) -> errors.FileTooLarge:
    return errors.FileTooLarge(
        _("%(name)s is larger than %(mb)s MB.") % {"name": name, "mb": limit // (1024 * 1024)},
        details={"file": name, "max_bytes": limit},
    )


def _safetensors_keys(data: bytes) -> list[str] | None:
    """The tensor names of a safetensors file, or None when the bytes are not one."""
    if len(data) < 10:
        return None
    (length,) = struct.unpack("<Q", data[:8])
    if not 2 <= length <= min(SAFETENSORS_HEADER_LIMIT, len(data) - 8):
        return None
    try:
        header = json.loads(data[8 : 8 + length])
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(header, dict):
        return None
    return [key for key in header if key != "__metadata__"]


def _record_import(style: Style, weights: bytes) -> None:

    sha256 = hashlib.sha256(weights).hexdigest()
    style.lora_path = vault.store_lora(weights, style_id=style.pk, sha256=sha256)
    style.lora_sha256 = sha256
    style.save(update_fields=["lora_path", "lora_sha256", "updated_at"])
    record(events.lora_imported(style=style, model_sha256=sha256))


# --------------------------------------------------------------------------------------------
# Job outcomes (called from tasks.py inside the transaction that records the job's outcome)


def _locked(style_id: int) -> Style:
    return Style.objects.select_for_update().select_related("artist").get(pk=style_id)


def mark_stage(*, style_id: int, status: str) -> None:
    Style.objects.filter(pk=style_id).exclude(
        status__in=[StyleStatus.PUBLISHED, StyleStatus.FAILED, StyleStatus.REJECTED]
    ).update(status=status, updated_at=timezone.now())


def training_succeeded(*, style_id: int, lora_path: str, sha256: str, metadata: dict) -> None:
    """The LoRA is stored: record what was trained and queue its checks."""
    style = _locked(style_id)
    style.lora_path, style.lora_sha256 = lora_path, sha256
    style.status = StyleStatus.CHECKING
    style.qa = {**style.qa, "training": metadata}
    style.save(update_fields=["lora_path", "lora_sha256", "status", "qa", "updated_at"])
    _enqueue(CHECK_JOB, style)


def job_failed(*, style_id: int, stage: str, message: str) -> None:
    """Training or checking ended without a result: the style fails and its artist is told."""

    style = _locked(style_id)
    style.status = StyleStatus.FAILED
    style.error = message[:2000]
    style.save(update_fields=["status", "error", "updated_at"])
    notify(
        recipient=style.artist,
        kind="model_training_failed",
        subject=style,
        data={"style": style.name, "stage": stage},
    )
    _mail_artist(style, "training_failed")


def save_check_artifacts(
    *, style_id: int, vectors: dict[str, np.ndarray], space: str, samples: list[dict]
) -> None:
    """Replaces the style's stored embeddings and sample images (a retried check rewrites them)."""
    with transaction.atomic():
        StyleVector.objects.filter(style_id=style_id).delete()
        StyleVector.objects.bulk_create(
            StyleVector(
                style_id=style_id, kind=kind, space=space, vector=row.astype(np.float32).tobytes()
            )
            for kind, rows in vectors.items()
            for row in rows
        )
        SampleImage.objects.filter(style_id=style_id).delete()
        SampleImage.objects.bulk_create(
            SampleImage(style_id=style_id, **sample) for sample in samples
        )
        Style.objects.filter(pk=style_id).update(embedding_space=space)


def check_finished(*, style_id: int, report: dict) -> None:
    """Publishes a clean style, or sends a flagged one to review and tells the artists concerned."""

    style = _locked(style_id)
    style.qa = {**style.qa, **report}
    record(events.lora_trained(style=style, report=report))
    if report.get("flagged"):
        style.status = StyleStatus.IN_REVIEW
        style.save(update_fields=["status", "qa", "updated_at"])
        for other in _similar_artists(report, exclude=style.artist_id):
            notify(
                recipient=other,
                kind="style_similarity_flagged",
                subject=style,
                data={"style": style.name},
            )
        notify(
            recipient=style.artist,
            kind="model_training_completed",
            subject=style,
            data={"style": style.name, "in_review": True},
        )
        _mail_artist(style, "style_held")
        return
    _publish(style)
    notify(
        recipient=style.artist,
        kind="model_training_completed",
        subject=style,
        data={"style": style.name, "in_review": False},
    )
    _mail_artist(style, "training_finished")


def _mail_artist(style: Style, kind: str, **context) -> None:
    """The artist's e-mail about their style (stylevault.mail), once per change of state."""
    mail.queue(
        user_id=style.artist_id,
        kind=kind,
        key=f"style:{style.pk}:{kind}:{style.updated_at.isoformat()}",
        context={"style": style.name, **context},
    )


def _similar_artists(report: dict, *, exclude: int):

    ids = {
        item["artist_id"]
        for key in ("similar", "duplicates")
        for item in report.get(key, [])
        if item.get("artist_id") and item["artist_id"] != exclude
    }
    return User.objects.filter(pk__in=ids)


def _publish(style: Style) -> None:
    style.status = StyleStatus.PUBLISHED
    style.published_at = timezone.now()
    style.save(
        update_fields=["status", "published_at", "qa", "review_reason", "reviewed_by", "updated_at"]
    )
    record(events.style_published(style=style))


# --------------------------------------------------------------------------------------------
# Operators and artists


def review_style(*, operator, style_id: int, approve: bool, reason: str = "") -> Style:
    """An operator's decision on a flagged style: publish it, or reject it with a reason."""
    if not getattr(operator, "is_operator", False):
        raise errors.Forbidden(_("Only operators can review styles."))
    reason = _clean_text(reason, "reason", max_length=2000, required=not approve)
    with transaction.atomic():
        style = Style.objects.select_for_update().filter(pk=style_id).first()
        if style is None:
            raise errors.NotFound(_("No such style."))
        if style.status != StyleStatus.IN_REVIEW:
            raise errors.Conflict(_("Only styles in review can be approved or rejected."))
        style.review_reason, style.reviewed_by = reason, operator
        if approve:
            _publish(style)
        else:
            style.status = StyleStatus.REJECTED
            style.save(update_fields=["status", "review_reason", "reviewed_by", "updated_at"])
        _mail_artist(style, "review_outcome", approved=approve, reason=reason)
    return style


def update_style(
    *,
    artist,
    style_id: int,
    name=None,
    description=None,
    tags=None,
    price_per_image=None,
    nsfw_allowed=None,
) -> Style:
    """The owner edits the listing; the LoRA and its checks are not touched."""
    with transaction.atomic():
        style = Style.objects.select_for_update().filter(pk=style_id).first()
        if style is None or (
            style.artist_id != artist.pk and not getattr(artist, "is_operator", False)
        ):
            raise errors.NotFound(_("No such style."))
        changed = ["updated_at"]
        if name is not None:
            style.name = _clean_text(name, "name", max_length=100, required=True)
            changed.append("name")
        if description is not None:
            style.description = _clean_text(
                description, "description", max_length=2000, required=False
            )
            changed.append("description")
        if price_per_image is not None:
            style.price_per_image = clean_price(price_per_image)
            changed.append("price_per_image")
        if nsfw_allowed is not None:
            style.nsfw_allowed = clean_bool(nsfw_allowed, "nsfw_allowed")
            changed.append("nsfw_allowed")
        style.save(update_fields=changed)
        if tags is not None:
            _set_tags(style, clean_tags(tags))
        else:
            refresh_search_text(style)
    return style
