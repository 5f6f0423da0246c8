"""The jobs app's view of the settings (all of them come from the environment via config.py)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

# Broker queues are named "<prefix><job queue>", so several deployments can share a vhost.
BROKER_QUEUE_PREFIX = "stylevault."
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
