"""Style jobs: LoRA training, then the checks that decide publication.

Handlers do the long work outside any transaction and return JSON; the hooks apply the outcome
in the transaction that records the job's end (see jobs.registry).
"""

from __future__ import annotations

import io

from django.core.files.storage import default_storage
from PIL import Image

from stylevault.jobs.registry import JobFailed, JobStopped, handler
from stylevault.styles import checks, services, vault
from stylevault.styles.models import Style, StyleStatus


def _style(ctx) -> Style:
    style = Style.objects.select_related("artist").filter(pk=ctx.job.payload["style_id"]).first()
    if style is None:
        raise JobFailed("the style no longer exists", code="MODEL_TRAINING_FAILED")
    return style


def training_spec(style: Style):
    # torch and the engine load in the worker that runs the job, not where handlers register.
    from stylevault.engine import TrainingSpec

    works = [
        (default_storage.path(w.path) if _local() else _open(w.path), w.caption or style.name)
        for w in style.training_images.all()
    ]
    return TrainingSpec(images=works, seed=style.pk, **checks.training_parameters())


def _local() -> bool:
    try:
        default_storage.path("x")
    except NotImplementedError:
        return False
    return True


def _open(path: str):

    with default_storage.open(path, "rb") as handle:
        return Image.open(io.BytesIO(handle.read())).convert("RGB")


def train(ctx) -> dict:
    # torch and the engine load in the worker that runs the job, not where handlers register.
    from stylevault.engine import TrainingCancelled, train_lora
    from stylevault.styles import runtime

    style = _style(ctx)
    services.mark_stage(style_id=style.pk, status=StyleStatus.TRAINING)
    spec = training_spec(style)

    def progress(step: int, total: int, loss: float) -> bool:
        return ctx.report_progress(step, total, stage="training", loss=round(float(loss), 5))

    try:
        result = train_lora(
            runtime.pipeline(), spec, on_progress=progress, should_stop=ctx.should_stop
        )
    except TrainingCancelled as exc:
        raise JobStopped(str(exc)) from exc
    path = vault.store_lora(result.weights, style_id=style.pk, sha256=result.sha256)
    return {"lora_path": path, "sha256": result.sha256, "metadata": result.metadata}


def _trained(job, result: dict) -> None:
    services.training_succeeded(
        style_id=job.payload["style_id"],
        lora_path=result["lora_path"],
        sha256=result["sha256"],
        metadata=result["metadata"],
    )


def _training_failed(job) -> None:
    services.job_failed(
        style_id=job.payload["style_id"], stage="training", message=job.error or job.status
    )


def check(ctx) -> dict:
    style = _style(ctx)
    services.mark_stage(style_id=style.pk, status=StyleStatus.CHECKING)
    report = checks.run_checks(style, progress=ctx.report_progress, should_stop=ctx.should_stop)
    return report


def _checked(job, report: dict) -> None:
    services.check_finished(style_id=job.payload["style_id"], report=report)


def _check_failed(job) -> None:
    services.job_failed(
        style_id=job.payload["style_id"], stage="checking", message=job.error or job.status
    )


handler(
    services.TRAINING_JOB,
    queue="training",
    lease_seconds=300,
    max_attempts=2,
    time_limit_seconds=2 * 3600,
    on_success=_trained,
    on_failure=_training_failed,
)(train)
handler(
    services.CHECK_JOB,
    queue="training",
    lease_seconds=300,
    max_attempts=2,
    time_limit_seconds=3600,
    on_success=_checked,
    on_failure=_check_failed,
)(check)
