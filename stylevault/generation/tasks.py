"""The generation job: render (or reuse) the pixels, finish every image (signature, watermark,
fingerprints, metadata, C2PA), store them; the hooks deliver and capture, or release.
"""

from __future__ import annotations

import base64
import io
import time
from dataclasses import dataclass, field

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


@dataclass
class _Work:
    """One job's share of a batch: its requests (one per prompt) and their callbacks."""

    ctx: object
    specs: list
    progress: list = field(default_factory=list)


def _work(ctx, generation: Generation, blend) -> _Work:
    # torch and the engine load in the worker that runs the job, not where handlers register.
    from stylevault.engine import GenerationSpec
    from stylevault.styles import runtime

    loras = [(runtime.adapter_id(b.style), b.weight) for b in blend]
    specs = [
        GenerationSpec(
            prompt=prompt,
            negative_prompt=generation.negative_prompt,
            aspect_ratio=generation.aspect_ratio,
            seed=generation.seed,
            steps=generation.steps,
            count=generation.count,
            loras=loras,
        )
        for prompt in generation.prompts
    ]
    done = [0] * len(specs)  # a bulk job's prompts may run in different pipeline calls
    total_steps = generation.steps * len(specs)

    def progress_of(index: int):
        def progress(step: int, total: int, preview: bytes | None) -> bool:
            done[index] = step
            extra = (
                {"preview": "data:image/png;base64," + base64.b64encode(preview).decode()}
                if preview
                else {}
            )
            return ctx.report_progress(sum(done), total_steps, **extra)

        return progress

    return _Work(ctx, specs, [progress_of(i) for i in range(len(specs))])


def _render_together(offers) -> None:
    """Every offered job's requests in as few pipeline calls as the renderer allows; a job is
    handed its images, or the first thing that ended one of its requests. A job cancelled
    meanwhile is handed its cancel at once, while the others go on."""
    from stylevault.engine import GenerationCancelled
    from stylevault.styles import runtime

    renderer = runtime.renderer()
    groups: dict[tuple, list] = {}
    for offer in offers:
        for index, spec in enumerate(offer.item.specs):
            groups.setdefault(renderer.batch_key(spec), []).append((offer, index))

    def stop_of(offer):
        def should_stop() -> bool:
            if offer.item.ctx.should_stop():
                offer.settle(error=GenerationCancelled("stopped"))
                return True
            return offer.settled  # one of its other requests already failed

        return should_stop

    results: dict[int, list] = {id(offer): [None] * len(offer.item.specs) for offer in offers}
    for members in groups.values():
        outcomes = renderer.render_batch(
            [offer.item.specs[i] for offer, i in members],
            on_progress=[offer.item.progress[i] for offer, i in members],
            should_stop=[stop_of(offer) for offer, _ in members],
        )
        for (offer, index), outcome in zip(members, outcomes, strict=True):
            if isinstance(outcome, Exception):
                offer.settle(error=outcome)
            results[id(offer)][index] = outcome
    for offer in offers:
        if not offer.settled:
            offer.settle([image for result in results[id(offer)] for image in result.images])


def _render(ctx, generation: Generation, blend) -> list:
    from stylevault.engine import EngineError, GenerationCancelled
    from stylevault.jobs.gathering import Offer
    from stylevault.styles.vault import LoraUnreadable

    work = _work(ctx, generation, blend)
    try:
        if ctx.seat is not None:  # claimed with others: render with theirs
            images = ctx.seat.gather(work, _render_together)
        else:
            alone = Offer(work)
            _render_together([alone])
            images = alone.wait()
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
    batchable=True,
)(render)
