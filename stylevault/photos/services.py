"""Every write of the photo studio: upload (checks, face rule, encryption, the paid variants),
picking the final, and deletion (on request, after the retention period, with the account).

Money goes through the generation path: one hold for the four variants, taken only after the
photo passed every check; the variants job captures what it delivered and releases the rest.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image as PILImage
from PIL import ImageOps

from stylevault.core import errors, imaging, ratelimit
from stylevault.engine.sizes import ASPECT_RATIOS
from stylevault.generation import services as generation_services
from stylevault.generation.models import FINAL_STATUSES, Image
from stylevault.jobs import services as jobs
from stylevault.photos import events
from stylevault.photos.models import RETENTION_DAYS, Photo
from stylevault.provenance.services import record
from stylevault.styles import vault

PHOTO_JOB = "photo_variants"
PURGE_JOB = "photo_purge"
VARIANTS = 4
MAX_BYTES = 20 * 1024 * 1024
MIN_SIDE = 256
FORMATS = ("JPEG", "PNG", "HEIF")
PROMPT = "a portrait of a person"
MIN_STRENGTH, MAX_STRENGTH = 0.2, 0.9
REPEAT_WINDOW = timedelta(seconds=10)


class NoFace(errors.DomainError):
    code, status = "NO_FACE", 422
    default_message = gettext_lazy(
        "We could not find a face in this photo. Upload a portrait with your face clearly visible."
    )


class MultipleFaces(errors.DomainError):
    code, status = "MULTIPLE_FACES", 422
    default_message = gettext_lazy(
        "This photo shows more than one face. Upload a portrait of one person only."
    )


class FaceTooSmall(errors.DomainError):
    code, status = "FACE_TOO_SMALL", 422
    default_message = gettext_lazy(
        "The face in this photo is too small. Upload a closer portrait where the face fills more of the picture."
    )


_REFUSALS = {"no_face": NoFace, "multiple_faces": MultipleFaces, "face_too_small": FaceTooSmall}


@dataclass(frozen=True)
class Portrait:
    """An upload that passed every check: metadata-free JPEG bytes and what was found."""

    data: bytes
    sha256: str
    width: int
    height: int
    faces: list[dict]


def _aad(owner_id: int, name: str) -> bytes:
    # Bound to its owner and file, so a stored photo cannot be swapped for another's.
    return f"stylevault-photo:{owner_id}:{name}".encode()


def face_rules():
    from stylevault.engine.faces import FaceRules

    return FaceRules(**settings.STYLEVAULT_PHOTO_FACE_RULES)


def check_portrait(upload) -> Portrait:
    """Checks the bytes, applies the EXIF orientation, drops every metadata field, and applies
    the one-face rule; raises the documented error (NO_FACE, ... with the boxes found)."""
    from stylevault.engine.faces import check_one_face

    checked = imaging.check_image(upload, max_bytes=MAX_BYTES, formats=FORMATS, min_side=MIN_SIDE)
    with imaging.heavy_work():
        with PILImage.open(io.BytesIO(checked.data)) as opened:
            oriented = ImageOps.exif_transpose(opened).convert("RGB")
        # A new image from the pixels alone: no EXIF, XMP, GPS, ICC or comment can come along.
        clean = PILImage.frombytes("RGB", oriented.size, oriented.tobytes())
        del oriented
        result = check_one_face(clean, face_rules())
        faces = [{"box": f.box, "score": round(f.score, 3)} for f in result.faces]
        if not result.ok:
            raise _REFUSALS[result.verdict](
                details={"faces": faces, "width": clean.width, "height": clean.height}
            )
        buffer = io.BytesIO()
        clean.save(buffer, format="JPEG", quality=92)
        data = buffer.getvalue()
    return Portrait(data, hashlib.sha256(data).hexdigest(), clean.width, clean.height, faces)


def read_original(photo: Photo) -> PILImage.Image:
    """The decrypted original (workers only): raises LoraUnreadable if it does not decrypt."""
    with default_storage.open(photo.path, "rb") as handle:
        data = vault.unseal(handle.read(), aad=_aad(photo.owner_id, photo.path))
    return PILImage.open(io.BytesIO(data)).convert("RGB")


def _aspect_ratio(width: int, height: int) -> str:
    def distance(ratio: str) -> float:
        w, h = (int(n) for n in ratio.split(":"))
        return abs(w / h - width / height)

    return min(ASPECT_RATIOS, key=distance)


def _strength(value) -> float:
    if value in (None, ""):
        return float(settings.STYLEVAULT_PHOTO_STRENGTH)
    try:
        strength = float(value)
    except (TypeError, ValueError):
        strength = -1.0
    if not MIN_STRENGTH <= strength <= MAX_STRENGTH:
        message = _("Strength must be a number from %(low)s to %(high)s.") % {
            "low": MIN_STRENGTH,
            "high": MAX_STRENGTH,
        }
        raise errors.ValidationFailed(message, details={"fields": {"strength": [message]}})
    return strength


def upload_photo(*, user, upload, style_id: int, strength=None) -> Photo:
    """Checks the portrait, then holds the credits for four variants and queues them.

    Nothing is held or stored for a photo that fails a check (its bytes, type, size or the face
    rule): those raise before any write.
    """
    # Each upload is a generation request (and a face check's work): the same limit.
    ratelimit.enforce("generation", f"user:{user.pk}", settings.RATE_GENERATION)
    strength = _strength(strength)
    portrait = check_portrait(upload)
    request = generation_services.validate_request(
        user=user,
        styles=[{"id": style_id, "weight": 1}],
        prompt=PROMPT,
        aspect_ratio=_aspect_ratio(portrait.width, portrait.height),
        count=VARIANTS,
        steps=settings.STYLEVAULT_PHOTO_STEPS,
    )
    name = f"private/photos/{user.pk}/{uuid.uuid4().hex}.svp"
    path = default_storage.save(
        name, ContentFile(vault.seal(portrait.data, aad=_aad(user.pk, name)))
    )
    try:
        photo = _create(user, request, portrait, path, strength)
    except BaseException:
        default_storage.delete(path)
        raise
    if photo.path != path:  # a repeated upload: the copy just stored is not needed
        default_storage.delete(path)
    return photo


@transaction.atomic(durable=True)
def _create(user, request, portrait: Portrait, path: str, strength: float) -> Photo:
    now = timezone.now()
    # One upload at a time per user: the same photo, style and strength again within seconds
    # is a double-clicked send and answers the photo just taken, not a second hold.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    repeated = Photo.objects.filter(
        owner=user,
        sha256=portrait.sha256,
        style=request.blend[0].style,
        strength=strength,
        created_at__gte=now - REPEAT_WINDOW,
    ).first()
    if repeated is not None:
        return repeated
    photo = Photo.objects.create(
        owner=user,
        style=request.blend[0].style,
        path=path,
        sha256=portrait.sha256,
        width=portrait.width,
        height=portrait.height,
        faces=portrait.faces,
        strength=strength,
        expires_at=now + timedelta(days=RETENTION_DAYS),
    )
    # Equal keys must mean equal pixels: the photo and the strength decide them too.
    render_key = hashlib.sha256(
        f"{request.render_key()}:{portrait.sha256}:{strength}".encode()
    ).hexdigest()
    photo.generation = generation_services.create_generation(
        user=user,
        request=request,
        job_kind=PHOTO_JOB,
        job_payload={"photo_id": photo.pk},
        render_key=render_key,
    )
    photo.save(update_fields=["generation"])
    record(events.uploaded(photo=photo))
    # Its own scheduled deletion; `stylevault photos purge` is the backstop.
    jobs.enqueue(
        kind=PURGE_JOB,
        payload={"photo_id": photo.pk},
        delay=photo.expires_at - now + timedelta(minutes=1),
    )
    return photo


def deliver_variants(*, generation_id: int, photo_id: int, images: list[dict]) -> None:
    """The variants job succeeded: the generation delivers (captures per image) and the log
    records which photo they came from, by its hash."""
    generation = generation_services.deliver(
        generation_id=generation_id, images=images, withheld=True
    )
    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is not None:
        image_ids = list(generation.images.order_by("position").values_list("pk", flat=True))
        record(events.variants_made(photo=photo, generation_id=generation.pk, image_ids=image_ids))


def _not_found() -> errors.NotFound:
    return errors.NotFound(_("No such photo."))


def pick_variant(*, user, photo_id: int, variant_id: int) -> Image:
    """The chosen variant becomes the final: a normal signed image of the owner's (no longer
    withheld), kept when the photo and the other variants are deleted. One pick per photo."""
    with transaction.atomic(durable=True):
        photo = Photo.objects.select_for_update().filter(pk=photo_id, owner=user).first()
        if photo is None:
            raise _not_found()
        image = Image.objects.filter(
            pk=variant_id, generation_id=photo.generation_id, owner=user
        ).first()
        if image is None or photo.generation_id is None:
            raise errors.NotFound(_("No such variant of this photo."))
        if photo.final_image_id not in (None, image.pk):
            # The first pick may already be public; it is never taken back into the photo.
            raise errors.Conflict(_("You already picked the final portrait of this photo."))
        photo.final_image = image
        photo.save(update_fields=["final_image"])
        Image.objects.filter(pk=image.pk).update(withheld=False)
        image.withheld = False
    return image


def _erase(photo: Photo, *, reason: str) -> None:
    """Deletes the photo and its unpicked variants (rows now, files after the commit) and
    records the deletion; call inside a transaction. Unfinished variants are cancelled first."""
    generation = photo.generation
    running = generation is not None and generation.status not in FINAL_STATUSES
    if running and generation.job_id and reason != "account":
        jobs.cancel_job(job_id=generation.job_id)  # its failure hook releases the credits
    variants = Image.objects.filter(generation_id=photo.generation_id).exclude(
        pk=photo.final_image_id or 0
    )
    doomed = [(v.pk, v.path) for v in variants] if photo.generation_id else []
    record(events.deleted(photo=photo, reason=reason, image_ids=[pk for pk, _path in doomed]))
    Image.objects.filter(pk__in=[pk for pk, _path in doomed]).delete()
    paths = [photo.path, *(path for _pk, path in doomed)]
    photo.delete()
    transaction.on_commit(lambda: [default_storage.delete(p) for p in paths])


def delete_photo(*, user, photo_id: int) -> None:
    """The owner deletes a photo: the upload and the unpicked variants are gone at once."""
    with transaction.atomic(durable=True):
        photo = (
            # Only the photo's row: PostgreSQL locks no nullable side of an outer join.
            Photo.objects.select_for_update(of=("self",))
            .select_related("generation")
            .filter(pk=photo_id, owner=user)
            .first()
        )
        if photo is None:
            raise _not_found()
        _erase(photo, reason="request")


def purge_photo(*, photo_id: int, now=None) -> bool:
    """Deletes one photo if its retention period is over; True if it did."""
    with transaction.atomic(durable=True):
        photo = (
            # Only the photo's row: PostgreSQL locks no nullable side of an outer join.
            Photo.objects.select_for_update(of=("self",))
            .select_related("generation")
            .filter(pk=photo_id, expires_at__lte=now or timezone.now())
            .first()
        )
        if photo is None:
            return False
        _erase(photo, reason="expired")
        return True


def purge_expired(*, now=None) -> int:
    """Deletes every photo past its retention period; returns how many."""
    due = Photo.objects.filter(expires_at__lte=now or timezone.now()).values_list("pk", flat=True)
    return sum(purge_photo(photo_id=pk, now=now) for pk in list(due))


def purge_on_account_deletion(sender, instance, **kwargs) -> None:
    """pre_delete of a user: their photos and unpicked variants go, each deletion logged."""
    with transaction.atomic():
        for photo in Photo.objects.select_related("generation").filter(owner_id=instance.pk):
            _erase(photo, reason="account")
