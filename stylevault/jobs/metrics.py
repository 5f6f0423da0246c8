"""Job metrics: queue depth (computed at scrape time) and job durations (per worker process)."""

from __future__ import annotations

import logging
import threading

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from stylevault.core.metrics import REGISTRY, register_collector

log = logging.getLogger(__name__)

job_duration = Histogram(
    "stylevault_job_duration_seconds",
    "Time a worker spent on one attempt of a job, by kind and the status it ended in.",
    ["kind", "status"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600),
    registry=REGISTRY,
)
job_attempts = Counter(
    "stylevault_job_attempts_total",
    "Job attempts finished by this process, by kind and outcome.",
    ["kind", "status"],
    registry=REGISTRY,
)


def observe(*, kind: str, status: str, seconds: float) -> None:
    job_duration.labels(kind, status).observe(seconds)
    job_attempts.labels(kind, status).inc()


class QueueDepthCollector:
    """Read at scrape: stylevault_job_queue_depth{queue, status} (queued and running jobs),
    and the autoscaling signals stylevault_job_backlog{queue, priority} (jobs that could run
    now) and stylevault_job_oldest_age_seconds{queue, priority} (how long the oldest of them
    has waited); priority is the owner tier's queue priority (docs/deploy.md, Autoscaling)."""

    def describe(self):
        return []

    def collect(self):
        # Computed at scrape time; jobs.selectors loads with the first scrape.
        from stylevault.jobs import selectors

        depth = GaugeMetricFamily(
            "stylevault_job_queue_depth",
            "Jobs waiting or running, by queue and status.",
            labels=["queue", "status"],
        )
        backlog = GaugeMetricFamily(
            "stylevault_job_backlog",
            "Jobs that could run now, by queue and tier priority.",
            labels=["queue", "priority"],
        )
        oldest = GaugeMetricFamily(
            "stylevault_job_oldest_age_seconds",
            "Age of the oldest job that could run now, by queue and tier priority.",
            labels=["queue", "priority"],
        )
        try:
            depths, waiting = selectors.queue_depths(), selectors.backlog()
        except Exception:  # a scrape must never fail because the database is away
            log.warning("queue depth unavailable", exc_info=True)
            depths, waiting = [], []
        for queue, status, count in depths:
            depth.add_metric([queue, status], count)
        for queue, priority, count, age in waiting:
            backlog.add_metric([queue, str(priority)], count)
            oldest.add_metric([queue, str(priority)], age)
        yield from (depth, backlog, oldest)


_installed = threading.Lock()
_collector: QueueDepthCollector | None = None


def install() -> None:
    """Registers the queue-depth collector once per process."""
    global _collector
    with _installed:
        if _collector is None:
            _collector = QueueDepthCollector()
            register_collector(_collector)
