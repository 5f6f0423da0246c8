"""Job kinds for the chaos test, imported by the test and by its worker processes.

Effects go to two raw tables the test creates: `jobs_chaos_start` gets a row each time a
handler starts (outside any transaction, so killed attempts leave theirs), and
`jobs_chaos_effect` a row from the success or failure hook, inside the outcome's
transaction. It has no unique constraint on purpose: a double application would show up as
two rows instead of being refused by the database.
"""

from __future__ import annotations

import random
import time

from django.db import connection

from stylevault.jobs.registry import JobFailed, TransientError, handler
from stylevault.jobs.runner import JobContext

KIND = "chaos.work"
START_TABLE = "jobs_chaos_start"
EFFECT_TABLE = "jobs_chaos_effect"

CREATE_TABLES = (
    f"CREATE TABLE {START_TABLE} (job_id BIGINT NOT NULL, attempt INTEGER NOT NULL, "
    "worker VARCHAR(200) NOT NULL)",
    f"CREATE TABLE {EFFECT_TABLE} (job_id BIGINT NOT NULL, outcome VARCHAR(16) NOT NULL)",
)
DROP_TABLES = tuple(f"DROP TABLE IF EXISTS {t}" for t in (START_TABLE, EFFECT_TABLE))


def _insert(table: str, *values) -> None:
    placeholders = ", ".join(["%s"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} VALUES ({placeholders})", values)


def _effect(job, outcome: str) -> None:
    _insert(EFFECT_TABLE, job.pk, outcome)


def on_success(job, result) -> None:
    _effect(job, "succeeded")


def on_failure(job) -> None:
    _effect(job, job.status)


@handler(
    KIND,
    lease_seconds=2,
    max_attempts=5,
    backoff_seconds=0.2,
    backoff_max_seconds=1.0,
    on_success=on_success,
    on_failure=on_failure,
)
def work(ctx: JobContext) -> dict:
    job = ctx.job
    _insert(START_TABLE, job.pk, job.attempts, job.worker)
    mode = job.payload.get("mode", "normal")
    if mode == "transient_once" and job.attempts == 1:
        raise TransientError("first attempt always fails")
    if mode == "always_transient":
        raise TransientError("never works")
    if mode == "fail":
        raise JobFailed("refused", code="REFUSED")
    steps = 4
    for step in range(1, steps + 1):
        time.sleep(random.uniform(0.01, 0.04))
        if not ctx.report_progress(step, steps):
            ctx.raise_if_stopped()
    return {"ok": True}
