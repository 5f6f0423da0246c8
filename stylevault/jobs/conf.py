"""The jobs app's view of the settings (all of them come from the environment via config.py)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from stylevault.jobs.registry import Handler

# Broker queues are named "<prefix><job queue>", so several deployments can share a vhost.
BROKER_QUEUE_PREFIX = "stylevault."
# The Celery task a wake-up token calls (jobs.celery defines it, jobs.dispatch sends it).
WAKE_TASK = "stylevault.jobs.wake"
# RabbitMQ priority queues are declared with x-max-priority 10; job priorities are clamped.
BROKER_MAX_PRIORITY = 9
# Redis redelivers an unacknowledged message after this long; it must exceed the longest job
# (a redelivery is harmless, the message only wakes a worker, but it costs a claim attempt).
REDIS_VISIBILITY_TIMEOUT_SECONDS = 6 * 3600


def broker_url() -> str:
    return getattr(settings, "STYLEVAULT_BROKER_URL", "") or ""


def redis_url() -> str:
    """Redis for progress pub/sub; '' in embedded mode (then readers poll the Job row)."""
    value = getattr(settings, "STYLEVAULT_REDIS_URL", None)
    if value is None:
        value = getattr(getattr(settings, "CONFIG", None), "cache_url", "")
    return value or ""


def broker_queue(queue: str) -> str:
    return f"{BROKER_QUEUE_PREFIX}{queue}"


def doorbell_path() -> Path:
    """A FIFO in the data directory through which enqueue wakes local polling workers."""
    return Path(settings.DATA_DIR) / "jobs.wake"


def batch_size() -> int:
    """How many compatible jobs of a batchable kind one claim may take (1: one at a time)."""
    return max(1, int(getattr(settings, "STYLEVAULT_BATCH_SIZE", 1)))


def batch_wait_seconds() -> float:
    """How long a lone batchable job waits for companions (0 turns batching off)."""
    return max(0.0, float(getattr(settings, "STYLEVAULT_BATCH_WAIT_MS", 0)) / 1000)


def extra_job_modules() -> list[str]:
    """STYLEVAULT_JOB_MODULES: modules (comma-separated) that register more job handlers, for
    every process that runs jobs or their hooks (workers, and `up`, which hands back the jobs
    of a worker that died)."""
    return [m.strip() for m in os.environ.get("STYLEVAULT_JOB_MODULES", "").split(",") if m.strip()]


def time_limit_seconds(spec: Handler, *, items: int = 1) -> int | None:
    """How long one attempt of a job of this kind with `items` items (images) may run:
    STYLEVAULT_JOB_TIME_LIMITS for its kind, else what the kind declares; None: no limit."""
    override = (getattr(settings, "STYLEVAULT_JOB_TIME_LIMITS", None) or {}).get(spec.kind)
    if override is not None:
        base, per_item = override["seconds"], override["per_item"]
    elif spec.time_limit_seconds is not None:
        base, per_item = spec.time_limit_seconds, spec.time_limit_per_item_seconds
    else:
        return None
    return max(1, math.ceil(base + per_item * max(1, items)))
