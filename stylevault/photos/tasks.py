"""The photo studio's jobs: the four img2img variants of a portrait, and each photo's
scheduled deletion.

The variants job is a generation job in all but the renderer: the same hooks release the hold
when it fails, is cancelled or expires, and its success captures only the images delivered.
Raw renders are never kept (they are made from a private photo); only the signed variants are.
"""

from __future__ import annotations

import base64

from django.conf import settings
from django.utils import timezone

from stylevault.generation import delivery
from stylevault.generation import services as generation_services
from stylevault.generation.models import Generation
from stylevault.generation.tasks import _failed, _refuse_retry
from stylevault.jobs.registry import JobFailed, JobStopped, handler
from stylevault.photos import safety, services
from stylevault.photos.models import Photo

# A variant that fails its checks is drawn once more with this seed offset, then refunded.
RETRY_SEED_OFFSET = 1_000_003


def _acceptable(image, *, nsfw_allowed: bool, check_faces: bool) -> bool:
    from stylevault.engine.faces import check_one_face

    if check_faces and not check_one_face(image, services.face_rules()).ok:
        return False
    return nsfw_allowed or not safety.is_unsafe(image)


def _draw(ctx, generation: Generation, photo: Photo, blend) -> tuple[list, list[int]]:
    from stylevault.engine import EngineError, GenerationCancelled, GenerationSpec
    from stylevault.engine.img2img import render_img2img
    from stylevault.styles import runtime
    from stylevault.styles.vault import LoraUnreadable

    try:
        picture = services.read_original(photo)
    except (LoraUnreadable, FileNotFoundError, OSError) as exc:
        raise JobFailed("the photo cannot be read", code="IMAGE_GENERATION_FAILED") from exc
    renderer = runtime.renderer()
    loras = [(runtime.adapter_id(b.style), b.weight) for b in blend]

    def spec(seed: int, count: int) -> GenerationSpec:
        return GenerationSpec(
            prompt=generation.prompts[0],
            aspect_ratio=generation.aspect_ratio,
            seed=seed,
            steps=generation.steps,
            count=count,
            loras=loras,
        )

    def draw(seed: int, count: int) -> list:
        def progress(step: int, total: int, preview: bytes | None) -> bool:
            if preview is None:
                return ctx.report_progress(step, total)
            data = "data:image/png;base64," + base64.b64encode(preview).decode()
            return ctx.report_progress(step, total, preview=data)

        try:
            return render_img2img(
                renderer,
                spec(seed, count),
                picture,
                strength=photo.strength,
                on_progress=progress,
                should_stop=ctx.should_stop,
            ).images
        except GenerationCancelled as exc:
            raise JobStopped(str(exc)) from exc
        except (EngineError, LoraUnreadable, FileNotFoundError) as exc:
            raise JobFailed(str(exc), code="IMAGE_GENERATION_FAILED") from exc

    # Faces are checked on variants only with a real base model: the tiny one draws no people.
    check_faces = settings.STYLEVAULT_BASE_MODEL != "tiny"
    nsfw_allowed = all(b.style.nsfw_allowed for b in blend)
    kept, seeds = [], []
    for index, image in enumerate(draw(generation.seed, generation.count)):
        seed = generation.seed + index
        if not _acceptable(image, nsfw_allowed=nsfw_allowed, check_faces=check_faces):
            seed += RETRY_SEED_OFFSET
            image = draw(seed, 1)[0]
            if not _acceptable(image, nsfw_allowed=nsfw_allowed, check_faces=check_faces):
                continue  # not delivered: its credits are released with the capture
        kept.append(image)
        seeds.append(seed)
    return kept, seeds


def render_variants(ctx) -> dict:
    payload = ctx.job.payload
    generation = (
        Generation.objects.select_related("owner").filter(pk=payload["generation_id"]).first()
    )
    photo = Photo.objects.filter(pk=payload["photo_id"]).first()
    if generation is None or photo is None:
        raise JobFailed("the photo or its generation no longer exists", code="NOT_FOUND")
    generation_services.mark_running(generation_id=generation.pk)
    blend = list(generation.blend.select_related("style", "artist"))
    raw, seeds = _draw(ctx, generation, photo, blend)
    ctx.raise_if_stopped()
    return {"images": delivery.finish_all(generation, blend, raw, seeds)}


def _delivered(job, result: dict) -> None:
    services.deliver_variants(
        generation_id=job.payload["generation_id"],
        photo_id=job.payload["photo_id"],
        images=result["images"],
    )


handler(
    services.PHOTO_JOB,
    queue="generation",
    lease_seconds=120,
    max_attempts=3,
    on_success=_delivered,
    on_failure=_failed,
    on_retry=_refuse_retry,
)(render_variants)


@handler(services.PURGE_JOB, queue="maintenance", max_attempts=5)
def purge(ctx) -> dict:
    return {
        "deleted": services.purge_photo(photo_id=ctx.job.payload["photo_id"], now=timezone.now())
    }
