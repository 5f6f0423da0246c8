"""Every write of the generation flow: the request (validate, price, policy, hold, job), the
outcome of the job (deliver and capture, or release), cancellation and image edits.

Credits move exactly once: the hold is made in the request's transaction; the job's success
hook captures it with the images in one transaction; its failure hook (run once by the job
runtime for failed, cancelled and expired jobs) releases it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from stylevault.billing.selectors import tier_of
from stylevault.core import errors, ratelimit
from stylevault.core.paging import MAX_ID
from stylevault.core.text import clean_text
from stylevault.engine.sizes import ASPECT_RATIOS
from stylevault.generation import events, policy, signals
from stylevault.generation.models import (
    Generation,
    GenerationStatus,
    GenerationStyle,
    Image,
    Visibility,
)
from stylevault.jobs import services as jobs
from stylevault.ledger import services as ledger
from stylevault.notifications.services import notify
from stylevault.provenance import fingerprints
from stylevault.provenance.services import record
from stylevault.styles.models import Style, StyleStatus

GENERATION_JOB = "generation"
MAX_BLEND = 4
MAX_PROMPT_LENGTH = 1000
MAX_BULK_PROMPTS = 50
MAX_SEED = 2**32 - 1
MAX_WEIGHT = 10
MAX_COUNT, MAX_STEPS = 64, 150  # what any tier could allow; each tier sets its own below
DEFAULT_STEPS = 20
MARK_BITS = 48


_invalid = errors.field_error


@dataclass(frozen=True)
class BlendPart:
    style: Style
    weight: float


@dataclass(frozen=True)
class GenerationRequest:
    """A validated request: what the job renders and what the buyer pays for."""

    blend: tuple[BlendPart, ...]
    prompts: tuple[str, ...]
    negative_prompt: str
    aspect_ratio: str
    seed: int
    count: int
    steps: int

    @property
    def image_total(self) -> int:
        return len(self.prompts) * self.count

    def shares(self) -> list[ledger.StyleShare]:
        return [
            ledger.StyleShare(
                artist=p.style.artist_id, price_per_image=p.style.price_per_image, weight=p.weight
            )
            for p in self.blend
        ]

    def cost(self) -> int:
        return ledger.generation_cost(styles=self.shares(), count=self.image_total)

    def batch_key(self) -> str:
        return f"{self.aspect_ratio}/{self.steps}"

    def render_key(self) -> str:
        """Equal keys render equal pixels: the LoRAs (by hash), weights, texts, seed, size, steps."""
        body = {
            "model": settings.STYLEVAULT_BASE_MODEL,
            "loras": [[p.style.lora_sha256, round(p.weight, 6)] for p in self.blend],
            "prompts": list(self.prompts),
            "negative": self.negative_prompt,
            "aspect_ratio": self.aspect_ratio,
            "seed": self.seed,
            "count": self.count,
            "steps": self.steps,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _clean_prompt(value, field: str, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _invalid(field, _("This field must be text."))
    value = " ".join(clean_text(value).split())
    if required and not value:
        raise _invalid(field, _("Write a prompt: a few words or tags describing the image."))
    if len(value) > MAX_PROMPT_LENGTH:
        raise _invalid(
            field, _("At most %(n)s characters are allowed here.") % {"n": MAX_PROMPT_LENGTH}
        )
    return value


def _whole(value, field: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(field, _("This must be a whole number."))
    if not low <= value <= high:
        raise _invalid(
            field, _("This must be between %(low)s and %(high)s.") % {"low": low, "high": high}
        )
    return value


def _blend(styles) -> tuple[BlendPart, ...]:
    if not isinstance(styles, list) or not 1 <= len(styles) <= MAX_BLEND:
        raise _invalid("styles", _("Choose one to %(n)s styles.") % {"n": MAX_BLEND})
    parts = []
    for item in styles:
        if (
            not isinstance(item, dict)
            or isinstance(item.get("id"), bool)
            or not isinstance(item.get("id"), int)
            or not 0 < item["id"] <= MAX_ID
        ):
            raise _invalid("styles", _("Each style needs an id and a weight."))
        weight = item.get("weight", 1)
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not 0 < weight <= MAX_WEIGHT
        ):
            raise _invalid("styles", _("Each weight must be a number above 0 and at most 10."))
        parts.append((item["id"], float(weight)))
    ids = [style_id for style_id, _w in parts]
    if len(set(ids)) != len(ids):
        raise _invalid("styles", _("Each style may appear once in a blend."))
    found = (
        Style.objects.filter(pk__in=ids, status=StyleStatus.PUBLISHED)
        .select_related("artist")
        .in_bulk()
    )
    missing = [style_id for style_id in ids if style_id not in found]
    if missing:
        raise errors.NotFound(
            _("No published style has the id %(id)s.") % {"id": missing[0]},
            details={"style_id": missing[0]},
        )
    return tuple(BlendPart(found[style_id], weight) for style_id, weight in parts)


def validate_request(
    *,
    user,
    styles,
    prompt=None,
    prompts=None,
    negative_prompt="",
    aspect_ratio="1:1",
    seed=None,
    count=1,
    steps=None,
) -> GenerationRequest:
    """Checks a request against the rules and the user's tier; raises the documented errors."""
    tier = tier_of(user)
    blend = _blend(styles)
    if prompts is not None:
        if not isinstance(prompts, list) or not 1 <= len(prompts) <= MAX_BULK_PROMPTS:
            raise _invalid("prompts", _("Send one to %(n)s prompts.") % {"n": MAX_BULK_PROMPTS})
        texts = tuple(_clean_prompt(p, "prompts", required=True) for p in prompts)
    else:
        texts = (_clean_prompt(prompt, "prompt", required=True),)
    negative = _clean_prompt(negative_prompt, "negative_prompt", required=False)
    if aspect_ratio not in ASPECT_RATIOS:
        raise _invalid(
            "aspect_ratio",
            _("Choose one of these aspect ratios: %(list)s.") % {"list": ", ".join(ASPECT_RATIOS)},
        )
    seed = (
        secrets.randbelow(MAX_SEED) if seed is None else _whole(seed, "seed", low=0, high=MAX_SEED)
    )
    count = _whole(count, "count", low=1, high=tier.max_images_per_job)
    steps = _whole(DEFAULT_STEPS if steps is None else steps, "steps", low=1, high=tier.max_steps)
    policy.check_prompts([*texts, negative], nsfw_allowed=all(p.style.nsfw_allowed for p in blend))
    return GenerationRequest(blend, texts, negative, aspect_ratio, seed, count, steps)


REQUEST_FIELDS = (
    "styles",
    "prompt",
    "prompts",
    "negative_prompt",
    "aspect_ratio",
    "seed",
    "count",
    "steps",
)


def validate_body(*, user, body: dict) -> GenerationRequest:
    """validate_request on an API.md request body (unknown keys ignored)."""
    if "styles" not in body:
        raise _invalid("styles", _("Choose one to %(n)s styles.") % {"n": MAX_BLEND})
    return validate_request(user=user, **{k: body[k] for k in REQUEST_FIELDS if k in body})


def _request_hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _replay(user, key: str, body_hash: str) -> Generation | None:
    existing = Generation.objects.filter(owner=user, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.request_hash != body_hash:
        raise errors.Conflict(_("This Idempotency-Key was already used with a different request."))
    return existing


def request_generation(*, user, body: dict, idempotency_key: str = "") -> Generation:
    """Validates, prices and holds credits for a generation, then queues its job.

    `body` is the API.md request. With an Idempotency-Key, the same key and body return the
    first generation; the same key with another body raises CONFLICT.
    """
    ratelimit.enforce("generation", f"user:{user.pk}", settings.RATE_GENERATION)
    key = (idempotency_key or "").strip()[:200]
    body_hash = _request_hash(body)
    if key and (found := _replay(user, key, body_hash)) is not None:
        return found
    request = validate_body(user=user, body=body)
    try:
        return _create(user, request, key, body_hash)
    except IntegrityError:
        # A concurrent request with the same key won the race: answer as it did.
        if key and (found := _replay(user, key, body_hash)) is not None:
            return found
        raise


def create_generation(
    *, user, request: GenerationRequest, job_kind: str, job_payload: dict, render_key: str
) -> Generation:
    """The generation, its hold and a job of another app's kind (e.g. the photo studio's
    img2img variants), inside the caller's transaction; the job's hooks must deliver or fail
    it as the generation job does."""
    return _create(
        user, request, "", "", job_kind=job_kind, job_payload=job_payload, render_key=render_key
    )


@transaction.atomic
def _create(
    user,
    request: GenerationRequest,
    key: str,
    body_hash: str,
    *,
    job_kind: str = GENERATION_JOB,
    job_payload: dict | None = None,
    render_key: str = "",
) -> Generation:
    tier = tier_of(user)
    expiry = timedelta(minutes=settings.STYLEVAULT_GENERATION_EXPIRY_MINUTES)
    generation = Generation.objects.create(
        owner=user,
        prompts=list(request.prompts),
        negative_prompt=request.negative_prompt,
        aspect_ratio=request.aspect_ratio,
        seed=request.seed,
        count=request.count,
        steps=request.steps,
        cost=request.cost(),
        render_key=render_key or request.render_key(),
        idempotency_key=key,
        request_hash=body_hash,
    )
    GenerationStyle.objects.bulk_create(
        GenerationStyle(
            generation=generation,
            style=p.style,
            artist_id=p.style.artist_id,
            weight=p.weight,
            price_per_image=p.style.price_per_image,
        )
        for p in request.blend
    )
    # The hold outlives the job's own expiry, so the job runtime (not the ledger's expiry sweep)
    # decides the outcome; the sweep is the backstop if both fail.
    generation.hold = ledger.reserve(
        user=user,
        amount=generation.cost,
        ttl=expiry * 2 + timedelta(hours=1),
        idempotency_key=f"generation:{generation.pk}",
        description="generation",
        metadata={"generation_id": generation.pk},
    )
    generation.job = jobs.enqueue(
        kind=job_kind,
        # Jobs of one batch key can share a pipeline call (same native size and step count).
        payload={
            **(job_payload or {}),
            "generation_id": generation.pk,
            "batch_key": request.batch_key(),
        },
        owner=user,
        priority=tier.queue_priority,
        max_running=tier.max_concurrent_jobs,
        expires_in=expiry,
        items=generation.count,
    )
    generation.save(update_fields=["hold", "job"])
    return generation


def cancel_generation(*, user, generation_id: int) -> Generation:
    """A queued generation ends at once; a running one at its next step. Credits come back."""
    with transaction.atomic():
        generation = (
            Generation.objects.select_for_update().filter(pk=generation_id, owner=user).first()
        )
        if generation is None:
            raise errors.NotFound(_("No such generation."))
        if generation.status in (
            GenerationStatus.SUCCEEDED,
            GenerationStatus.FAILED,
            GenerationStatus.EXPIRED,
        ):
            raise errors.Conflict(_("This generation has already finished."))
        if generation.job_id is not None and generation.status != GenerationStatus.CANCELLED:
            jobs.cancel_job(job_id=generation.job_id)
    generation.refresh_from_db()
    return generation


def mark_running(*, generation_id: int) -> None:
    Generation.objects.filter(pk=generation_id, status=GenerationStatus.QUEUED).update(
        status=GenerationStatus.RUNNING
    )


def image_mark(generation_id: int, position: int) -> int:
    """The watermark payload of an image: a keyed hash, so a retried job marks the same way and
    nobody can guess another image's mark from its id."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"mark:{generation_id}:{position}".encode(), "sha256"
    )
    return int.from_bytes(digest.digest()[:8], "big") >> (64 - MARK_BITS)


def deliver(*, generation_id: int, images: list[dict], withheld: bool = False) -> Generation:
    """The job succeeded: store the images' rows, capture the credits, log and tell the buyer.
    `withheld` images are a studio's working copies, not yet normal images (Image.withheld)."""

    generation = Generation.objects.select_for_update().get(pk=generation_id)
    blend = list(generation.blend.select_related("style", "artist"))
    primary = blend[0]
    rows = []
    for item in images:
        image = Image.objects.create(
            generation=generation,
            owner_id=generation.owner_id,
            style=primary.style,
            artist=primary.artist,
            position=item["position"],
            prompt=item["prompt"],
            seed=item["seed"],
            width=item["width"],
            height=item["height"],
            path=item["path"],
            mime_type=item["mime_type"],
            sha256=item["sha256"],
            mark=item["mark"],
            phash=item["phash"],
            withheld=withheld,
        )
        fingerprints.store(image=image, packed=item["fingerprints"])
        rows.append(image)
    shares = [ledger.StyleShare(b.artist_id, b.price_per_image, b.weight) for b in blend]
    ledger.capture_generation(hold=generation.hold_id, images_delivered=len(rows), styles=shares)
    record(
        events.license_bought(
            generation=generation,
            blend=blend,
            images=len(rows),
            credits=ledger.generation_cost(styles=shares, count=len(rows)),
        )
    )
    for image in rows:
        record(events.image_generated(image=image, generation=generation, blend=blend))
    generation.status = GenerationStatus.SUCCEEDED
    generation.finished_at = timezone.now()
    generation.progress = {}
    generation.save(update_fields=["status", "finished_at", "progress"])
    notify(
        recipient=generation.owner,
        kind="image_generation_completed",
        subject=generation,
        data={"images": len(rows)},
    )
    signals.generation_finished.send(sender=Generation, generation=generation, succeeded=True)
    return generation


FAILURE_STATUS = {
    "failed": GenerationStatus.FAILED,
    "cancelled": GenerationStatus.CANCELLED,
    "expired": GenerationStatus.EXPIRED,
}


def fail(*, generation_id: int, job_status: str, error_code: str, message: str) -> None:
    """The job ended without images: release the hold (exactly once) and tell the buyer why."""

    generation = Generation.objects.select_for_update().get(pk=generation_id)
    if generation.hold_id is not None:
        ledger.release(hold=generation.hold_id)
    generation.status = FAILURE_STATUS.get(job_status, GenerationStatus.FAILED)
    generation.error_code = error_code or "IMAGE_GENERATION_FAILED"
    generation.error_message = message[:2000]
    generation.finished_at = timezone.now()
    generation.save(update_fields=["status", "error_code", "error_message", "finished_at"])
    signals.generation_finished.send(sender=Generation, generation=generation, succeeded=False)
    if generation.status == GenerationStatus.FAILED:
        notify(
            recipient=generation.owner,
            kind="image_generation_failed",
            subject=generation,
            data={"error_code": generation.error_code},
        )


def update_image(*, user, image_id: int, visibility=None, description=None) -> Image:
    """The owner makes an image public or private and describes it."""
    with transaction.atomic():
        image = (
            Image.objects.select_for_update()
            .filter(pk=image_id, owner=user, withheld=False)
            .first()
        )
        if image is None:
            raise errors.NotFound(_("No such image."))
        if visibility is not None:
            if visibility not in Visibility.values:
                raise _invalid("visibility", _("Visibility is either public or private."))
            if visibility == Visibility.PUBLIC and image.published_at is None:
                image.published_at = timezone.now()
            image.visibility = visibility
        if description is not None:
            if not isinstance(description, str):
                raise _invalid("description", _("This field must be text."))
            description = clean_text(description)
            if len(description) > 2000:
                raise _invalid(
                    "description", _("At most %(n)s characters are allowed here.") % {"n": 2000}
                )
            image.description = description
        image.save(update_fields=["visibility", "description", "published_at"])
    return image
