"""The jobs app's own kind: `jobs.noop`, a job that does nothing.

Operators enqueue one to check that workers are alive; the queue benchmark measures the
runtime's own overhead with it.
"""

from __future__ import annotations

from stylevault.jobs.registry import handler
from stylevault.jobs.runner import JobContext


@handler("jobs.noop", queue="default", max_attempts=1, lease_seconds=30)
def noop(ctx: JobContext) -> dict:
    return {"ok": True}
