"""Helpers shared by the job tests: claim and run jobs in this process."""

from __future__ import annotations

from stylevault.jobs import runner, services
from stylevault.jobs.models import Job


def claim(queue: str = "testq", worker: str = "w1", **kwargs) -> Job | None:
    return services.claim(queues=[queue], worker=worker, **kwargs)


def work(queue: str = "testq", worker: str = "w1") -> str | None:
    """Claims one job and runs it in this process; returns the outcome (None: nothing)."""
    job = claim(queue, worker)
    return None if job is None else runner.execute(job)
