"""Job kinds for tests that run real worker processes (imported with `worker --import`)."""

from __future__ import annotations

import time

from stylevault.jobs.registry import handler
from stylevault.jobs.runner import JobContext

SLOW = "proc.slow"
SLOW_LONG_LEASE = "proc.slow-long-lease"  # a lease far longer than any test waits
ECHO = "proc.echo"
HANG = "proc.hang"


@handler(SLOW_LONG_LEASE, lease_seconds=600, max_attempts=3)
@handler(SLOW, lease_seconds=5, max_attempts=3)
def slow(ctx: JobContext) -> dict:
    """Reports progress every 50 ms for `seconds`, stopping when asked to."""
    steps = int(ctx.job.payload.get("seconds", 1) / 0.05)
    for step in range(1, steps + 1):
        time.sleep(0.05)
        ctx.report_progress(step, steps)
        ctx.raise_if_stopped()
    return {"steps": steps}


@handler(ECHO, lease_seconds=5)
def echo(ctx: JobContext) -> dict:
    ctx.report_progress(1, 2)
    time.sleep(0.3)  # long enough for a subscriber to see the progress event
    ctx.report_progress(2, 2)
    return {"echo": ctx.job.payload}


@handler(HANG, lease_seconds=5, max_attempts=3, time_limit_seconds=1)
def hang(ctx: JobContext) -> dict:
    """A step that never returns and never reports (a stalled driver): no stop reaches it."""
    time.sleep(3600)
    return {}
