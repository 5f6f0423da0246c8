"""The generation job: render (or reuse) the pixels, finish every image (signature, watermark,
fingerprints, metadata, C2PA), store them; the hooks deliver and capture, or release.
"""

from __future__ import annotations

import base64
import io
import time

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from PIL import Image

from stylevault.core import errors
from stylevault.generation import delivery, services
from stylevault.generation.models import Generation
from stylevault.jobs.registry import JobFailed, JobStopped, handler


def _raw_name(render_key: str, index: int) -> str:
    return f"private/renders/{render_key}/{index:03d}.png"


def _cached_raw(render_key: str, total: int):
    """The stored unsigned renders of an identical earlier request, if all are there."""

    names = [_raw_name(render_key, i) for i in range(total)]
    if not all(default_storage.exists(n) for n in names):
        return None
    images = []
    for name in names:
        with default_storage.open(name, "rb") as handle:
            images.append(Image.open(io.BytesIO(handle.read())).convert("RGB"))
    return images


def _render(ctx, generation: Generation, blend) -> list:
    # torch and the engine load in the worker that runs the job, not where handlers register.
    from stylevault.engine import EngineError, GenerationCancelled, GenerationSpec
    from stylevault.styles import runtime
    from stylevault.styles.vault import LoraUnreadable

    renderer = runtime.renderer()
    loras = [(runtime.adapter_id(b.style), b.weight) for b in blend]
    total_steps = generation.steps * len(generation.prompts)
    images = []
    for batch, prompt in enumerate(generation.prompts):
        spec = GenerationSpec(
            prompt=prompt,
            negative_prompt=generation.negative_prompt,
            aspect_ratio=generation.aspect_ratio,
            seed=generation.seed,
            steps=generation.steps,
            count=generation.count,
            loras=loras,
        )

        def progress(step: int, total: int, preview: bytes | None, batch=batch) -> bool:
            extra = (
                {"preview": "data:image/png;base64," + base64.b64encode(preview).decode()}
                if preview
                else {}
            )
            return ctx.report_progress(batch * generation.steps + step, total_steps, **extra)

        try:
            images += renderer.render(
                spec, on_progress=progress, should_stop=ctx.should_stop
            ).images
        except GenerationCancelled as exc:
            raise JobStopped(str(exc)) from exc
        except (EngineError, LoraUnreadable, FileNotFoundError) as exc:
            # Retrying cannot fix a missing or unreadable model: fail now, release the credits.
            raise JobFailed(str(exc), code="IMAGE_GENERATION_FAILED") from exc
    for index, image in enumerate(images):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=1)
        name = _raw_name(generation.render_key, index)
        if not default_storage.exists(name):
            default_storage.save(name, ContentFile(buffer.getvalue()))
    return images


def render(ctx) -> dict:
    generation = (
        Generation.objects.select_related("owner")
        .filter(pk=ctx.job.payload["generation_id"])
        .first()
    )
    if generation is None:
        raise JobFailed("the generation no longer exists", code="IMAGE_GENERATION_FAILED")
    services.mark_running(generation_id=generation.pk)
    blend = list(generation.blend.select_related("style", "artist"))
    raw = _cached_raw(generation.render_key, generation.image_total)
    reused = raw is not None
    started = time.perf_counter()
    if raw is None:
        raw = _render(ctx, generation, blend)
    engine_seconds = 0.0 if reused else time.perf_counter() - started
    ctx.raise_if_stopped()
    images = delivery.finish_all(generation, blend, raw)
    return {"images": images, "reused": reused, "engine_seconds": round(engine_seconds, 4)}


def _delivered(job, result: dict) -> None:
    services.deliver(generation_id=job.payload["generation_id"], images=result["images"])


def _failed(job) -> None:
    services.fail(
        generation_id=job.payload["generation_id"],
        job_status=job.status,
        error_code=job.error_code if job.status == "failed" else job.status.upper(),
        message=job.error or "",
    )


def _refuse_retry(job) -> None:

    raise errors.Conflict(
        _("A generation whose credits were released cannot be run again; ask again instead.")
    )


handler(
    services.GENERATION_JOB,
    queue="generation",
    lease_seconds=120,
    max_attempts=3,
    # A real GPU renders an image in seconds; this much means a stalled driver or a deadlock.
    time_limit_seconds=600,
    time_limit_per_item_seconds=60,
    on_success=_delivered,
    on_failure=_failed,
    on_retry=_refuse_retry,
)(render)
