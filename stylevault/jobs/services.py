"""Every write to a Job: enqueue, claim, lease renewal, outcomes, cancel, retry, the reaper.

Each status change is one UPDATE guarded by the state it expects (for a running job: its
status, worker and attempt number), so of two racing parties exactly one wins, and the
owning app's hook runs inside the transaction of the winning UPDATE: once.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import (
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    Value,
)
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext as _

from stylevault.core import errors
from stylevault.jobs import conf, dispatch, progress, registry, sql
from stylevault.jobs.models import (
    TERMINAL_STATUSES,
    UNSUCCESSFUL_STATUSES,
    Job,
    JobStatus,
)

if TYPE_CHECKING:
    from stylevault.accounts.models import User

log = logging.getLogger(__name__)

# Backoff is spread by ±20% so jobs that failed together do not retry together.
BACKOFF_JITTER = 0.2
REAP_BATCH = 100


# ----------------------------------------------------------------------------- enqueue


def enqueue(
    *,
    kind: str,
    payload: dict | None = None,
    owner: User | None = None,
    priority: int = 0,
    max_running: int | None = None,
    queue: str | None = None,
    max_attempts: int | None = None,
    lease_seconds: int | None = None,
    expires_in: timedelta | None = None,
    delay: timedelta | None = None,
    items: int = 1,
) -> Job:
    """Queues a job of a registered kind, inside the caller's transaction.

    Workers are woken after the commit, so a job is never seen before the caller's other
    writes (a credit hold, say). `priority` and `max_running` come from the owner's tier;
    `expires_in` bounds how long it may wait for a worker before it expires; `items` (the
    images of a generation) scales the kind's time limit.
    """
    spec = registry.get(kind)
    if spec is None:
        raise ValueError(f"no handler is registered for job kind {kind!r}")
    queue = queue or spec.queue
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            queue=queue,
            payload=payload or {},
            owner=owner,
            priority=priority,
            fair_tag=_fair_tag(queue=queue, priority=priority, owner=owner),
            max_running=max_running,
            max_attempts=max_attempts or spec.max_attempts,
            lease_seconds=lease_seconds or spec.lease_seconds,
            time_limit_seconds=conf.time_limit_seconds(spec, items=items),
            run_after=now + delay if delay else None,
            expires_at=now + expires_in if expires_in else None,
            created_at=now,
        )
        dispatch.announce(queue=queue, priority=priority, job_id=job.pk)
    return job


def _fair_tag(*, queue: str, priority: int, owner: User | None) -> int:
    """Per-owner round-robin as a virtual start time (start-time fair queuing).

    A new job starts at the round being served now (the smallest tag waiting), or right after
    its owner's previous job, whichever is later. Ordering by tag then interleaves owners: a
    bulk request of 100 jobs takes tags n..n+99 and a newcomer's single job lands at n.
    """
    lane = Job.objects.filter(queue=queue, priority=priority)
    current = lane.filter(status=JobStatus.QUEUED).aggregate(t=Min("fair_tag"))["t"] or 0
    last = lane.filter(owner=owner, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).aggregate(
        t=Max("fair_tag")
    )["t"]
    return current if last is None else max(current, last + 1)


# ----------------------------------------------------------------------------- claim


def claim(*, queues: Sequence[str], worker: str, kinds: Sequence[str] | None = None) -> Job | None:
    """Takes the best claimable job of `queues` for `worker`, with one conditional UPDATE."""
    kinds = list(kinds if kinds is not None else registry.kinds())
    queues = list(queues)
    if not kinds or not queues:
        return None
    dialect = sql.dialect(connection)
    if dialect.probe_before_claim and not _anything_waiting(queues, kinds):
        return None
    try:
        with transaction.atomic():
            claimed = list(
                Job.objects.raw(
                    dialect.claim(queues=len(queues), kinds=len(kinds)), [worker, *queues, *kinds]
                )
            )
            if claimed and dialect.owner_lock:
                _check_owner_limit(dialect, claimed[0])
    except _OverOwnerLimit:
        return None  # rolled back: the job waits for the owner's running one to end
    return claimed[0] if claimed else None


# A lone job looks for companions again this often while it waits for them.
COMPANION_POLL_SECONDS = 0.005


def claim_batch(
    *,
    queues: Sequence[str],
    worker: str,
    size: int,
    wait: float,
    kinds: Sequence[str] | None = None,
) -> list[Job]:
    """`claim`, then, for a batchable kind, up to `size - 1` queued jobs of the same queue, kind
    and payload `batch_key`, waiting at most `wait` seconds for them. `size` 1 or `wait` 0:
    one job, as `claim`. The first job is the best claimable one, so priority and fairness
    decide who leads; the companions follow in the same order (docs/batching.md)."""
    first = claim(queues=queues, worker=worker, kinds=kinds)
    if first is None:
        return []
    spec = registry.get(first.kind)
    key = first.payload.get("batch_key") if isinstance(first.payload, dict) else None
    if size <= 1 or wait <= 0 or key is None or spec is None or not spec.batchable:
        return [first]
    claimed = [first]
    deadline = time.monotonic() + wait
    dialect = sql.dialect(connection)
    while True:
        with transaction.atomic():
            claimed += Job.objects.raw(
                dialect.claim_companions(),
                [worker, first.queue, first.kind, str(key), size - len(claimed)],
            )
        left = deadline - time.monotonic()
        if len(claimed) >= size or left <= 0:
            return claimed
        time.sleep(min(COMPANION_POLL_SECONDS, left))


class _OverOwnerLimit(Exception):
    pass


def _check_owner_limit(dialect: sql.Dialect, job: Job) -> None:
    """The claim's own count may miss a racing claim not yet committed (READ COMMITTED): under
    the owner's lock, count again, this claim included, and undo it if it is one too many."""
    if job.max_running is None or job.owner_id is None:
        return
    with connection.cursor() as cursor:
        cursor.execute(dialect.owner_lock, [f"{job.owner_id}:{job.kind}"])
    running = Job.objects.filter(owner_id=job.owner_id, kind=job.kind, status=JobStatus.RUNNING)
    if running.count() > job.max_running:
        raise _OverOwnerLimit


def _anything_waiting(queues: list[str], kinds: list[str]) -> bool:
    return (
        Job.objects.filter(status=JobStatus.QUEUED, queue__in=queues, kind__in=kinds)
        .filter(Q(run_after__isnull=True) | Q(run_after__lte=Now()))
        .exists()
    )


def renew_lease(job: Job, *, progress: dict | None = None) -> bool | None:
    """Extends the lease of a job we hold (and saves progress); returns its cancel flag, or
    None when the job is no longer ours (the reaper gave it to someone else, or it ended)."""
    dialect = sql.dialect(connection)
    params: list[Any] = [] if progress is None else [json.dumps(progress)]
    params += [job.pk, job.worker, job.attempts]
    with connection.cursor() as cursor:
        cursor.execute(dialect.renew(with_progress=progress is not None), params)
        row = cursor.fetchone()
    return None if row is None else bool(row[0])


# ----------------------------------------------------------------------------- outcomes


def _held_by(job: Job) -> Q:
    """The guard of a running job: still running, by the same worker, in the same attempt."""
    return Q(pk=job.pk, status=JobStatus.RUNNING, worker=job.worker, attempts=job.attempts)


def _in_seconds(seconds: float) -> ExpressionWrapper:
    return ExpressionWrapper(
        Now() + Value(timedelta(seconds=seconds), output_field=DurationField()),
        output_field=DateTimeField(),
    )


def _ended(**fields: Any) -> dict[str, Any]:
    return {"finished_at": Now(), "lease_expires_at": None, **fields}


def _requeued(*, delay: float | None, **fields: Any) -> dict[str, Any]:
    return {
        "worker": "",
        "lease_expires_at": None,
        "run_after": _in_seconds(delay) if delay else None,
        **fields,
    }


def _settle(job: Job, *, status: str, fields: dict[str, Any], result: Any = None) -> str | None:
    """Moves a job we hold to `status`, or to cancelled when a cancel was requested meanwhile.

    Runs the owning app's hook in the same transaction; returns the status written, or None
    when the job is no longer ours (nothing is written then, the hooks do not run).
    """
    held = _held_by(job)
    with transaction.atomic():
        if Job.objects.filter(held, cancel_requested=False).update(status=status, **fields):
            written = status
        elif Job.objects.filter(held, cancel_requested=True).update(
            status=JobStatus.CANCELLED, **_ended(error_code="CANCELLED")
        ):
            written = JobStatus.CANCELLED
        else:
            return None
        _after_transition(job, written, result=result)
    return written


def _after_transition(job: Job, status: str, *, result: Any = None) -> None:
    """Inside the transition's transaction: hooks, wake-ups and the status event."""
    job.refresh_from_db()
    spec = registry.get(job.kind)
    if status == JobStatus.SUCCEEDED and spec and spec.on_success:
        spec.on_success(job, result)
    elif status in UNSUCCESSFUL_STATUSES and spec and spec.on_failure:
        spec.on_failure(job)
    # A job claimable again, or an owner slot freed, may let a waiting job run now.
    if (status == JobStatus.QUEUED and job.run_after is None) or (
        status in TERMINAL_STATUSES and job.max_running is not None
    ):
        dispatch.announce(queue=job.queue, priority=job.priority, job_id=job.pk)
    if status in TERMINAL_STATUSES:
        data = progress.status_data(job)
        transaction.on_commit(lambda: progress.publish(job.pk, progress.STATUS, data))


def complete(job: Job, *, result: Any) -> str | None:
    """The handler returned: the job succeeded (with the app's on_success effects)."""
    return _settle(job, status=JobStatus.SUCCEEDED, fields=_ended(result=result), result=result)


def fail(job: Job, *, message: str, code: str, retry: bool = False) -> str | None:
    """The attempt failed: requeue with backoff when `retry` and attempts remain, else fail."""
    if retry and job.attempts < job.max_attempts:
        spec = registry.get(job.kind)
        delay = _backoff(spec, job.attempts)
        fields = _requeued(delay=delay, error=message, error_code=code)
        return _settle(job, status=JobStatus.QUEUED, fields=fields)
    return _settle(job, status=JobStatus.FAILED, fields=_ended(error=message, error_code=code))


def release(job: Job) -> str | None:
    """Hands a job back untouched (worker shutting down); the attempt does not count."""
    fields = _requeued(delay=None, attempts=F("attempts") - 1)
    return _settle(job, status=JobStatus.QUEUED, fields=fields)


def _backoff(spec: registry.Handler | None, attempt: int) -> float:
    base = spec.backoff(attempt) if spec else 2.0 * 2 ** max(0, attempt - 1)
    return base * random.uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)


# ----------------------------------------------------------------------------- cancel, retry


def _end_waiting(job: Job, *, status: str, guard: Q, error_code: str) -> bool:
    """Ends a job no worker holds (queued), with the owning app's failure hook."""
    with transaction.atomic():
        if not Job.objects.filter(guard).update(status=status, **_ended(error_code=error_code)):
            return False
        _after_transition(job, status)
    return True


@transaction.atomic
def cancel_job(*, job_id: int) -> Job:
    """Queued: cancelled at once. Running: asked to stop; the worker ends it as cancelled.

    Permission checks belong to the owning app's service, which calls this one.
    """
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None:
        raise errors.NotFound(_("No such job."))
    if job.status == JobStatus.QUEUED:
        _end_waiting(
            job,
            status=JobStatus.CANCELLED,
            guard=Q(pk=job.pk, status=JobStatus.QUEUED),
            error_code="CANCELLED",
        )
    elif job.status == JobStatus.RUNNING:
        Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(cancel_requested=True)
        job.cancel_requested = True
    elif job.status != JobStatus.CANCELLED:
        raise errors.Conflict(_("This job has already finished."))
    return job


@transaction.atomic
def retry_job(*, job_id: int) -> Job:
    """Operators: run a failed, cancelled or expired job again from its first attempt.

    The kind's on_retry hook redoes what on_failure undid (say, hold credits again) and may
    refuse; a kind with a failure hook but no retry hook cannot be retried.
    """
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None:
        raise errors.NotFound(_("No such job."))
    if job.status not in UNSUCCESSFUL_STATUSES:
        raise errors.Conflict(_("Only failed, cancelled or expired jobs can be retried."))
    spec = registry.get(job.kind)
    if spec is None or (spec.on_failure and not spec.on_retry):
        raise errors.Conflict(_("Jobs of this kind cannot be retried."))
    Job.objects.filter(pk=job.pk, status=job.status).update(
        status=JobStatus.QUEUED,
        attempts=0,
        worker="",
        cancel_requested=False,
        error="",
        error_code="",
        result=None,
        progress={},
        run_after=None,
        expires_at=None,
        started_at=None,
        finished_at=None,
        lease_expires_at=None,
    )
    job.refresh_from_db()
    if spec.on_retry:
        spec.on_retry(job)
    dispatch.announce(queue=job.queue, priority=job.priority, job_id=job.pk)
    return job


# ----------------------------------------------------------------------------- reaper


def reap(*, limit: int = REAP_BATCH) -> Counter:
    """Returns jobs with expired leases to the queue (or fails them after their last attempt),
    fails running jobs far past their time limit, and expires queued jobs past their deadline.
    Cheap when there is nothing to do."""
    report: Counter = Counter()
    lapsed = Job.objects.filter(status=JobStatus.RUNNING, lease_expires_at__lt=Now())
    for job_id in lapsed.values_list("pk", flat=True)[:limit]:
        report[_reap_one(_reap_lease, job_id)] += 1
    with connection.cursor() as cursor:
        cursor.execute(sql.dialect(connection).overdue(), [limit])
        overrun = cursor.fetchall()
    for job_id, worker, attempt in overrun:
        report[_reap_one(_reap_overrun, job_id, worker, attempt)] += 1
    overdue = Job.objects.filter(status=JobStatus.QUEUED, expires_at__lt=Now())
    for job_id in overdue.values_list("pk", flat=True)[:limit]:
        report[_reap_one(_expire, job_id)] += 1
    return report


def _reap_one(transition, job_id: int, *args: Any) -> str:
    """One job's failing hook must not stop the pass for every job behind it."""
    try:
        return transition(job_id, *args) or "skipped"
    except Exception:  # logged and counted; the next pass tries this job again
        log.exception("reaper could not settle job %s", job_id)
        return "error"


def _reap_lease(job_id: int) -> str | None:
    return _take_back(
        Q(pk=job_id, status=JobStatus.RUNNING, lease_expires_at__lt=Now()),
        reason="the worker stopped responding",
        code="LEASE_EXPIRED",
        backoff=True,
    )


def time_limit_message(seconds: int | None) -> str:
    return f"the job ran past its time limit of {seconds} s"


def _reap_overrun(job_id: int, worker: str, attempt: int) -> str | None:
    """A worker that renews the lease of a job past its time limit without stopping it (its
    enforcement failed or is missing): the job fails anyway, and the owner's hook runs once.
    Guarded by the overdue attempt, so a fresh attempt begun meanwhile is left alone."""
    with transaction.atomic():
        job = (
            Job.objects.select_for_update(skip_locked=True)
            .filter(pk=job_id, status=JobStatus.RUNNING, worker=worker, attempts=attempt)
            .first()
        )
        if job is None:
            return None
        log.warning("job %s: past its time limit on %s; failing it", job.pk, job.worker)
        fields = _ended(error=time_limit_message(job.time_limit_seconds), error_code="TIME_LIMIT")
        return _settle(job, status=JobStatus.FAILED, fields=fields)


def _take_back(guard: Q, *, reason: str, code: str, backoff: bool) -> str | None:
    """A running job whose worker is gone: queued again (this attempt counts), or failed after
    its last attempt. `backoff`: wait before the next attempt, else claimable at once."""
    with transaction.atomic():
        job = Job.objects.select_for_update(skip_locked=True).filter(guard).first()
        if job is None:
            return None
        spec = registry.get(job.kind)
        if spec is None:  # its hooks are unknown here: leave it to a process that knows them
            log.error("cannot reap job %s: no handler for %r in this process", job.pk, job.kind)
            return None
        log.warning("job %s: %s (%s, attempt %s)", job.pk, reason, job.worker, job.attempts)
        if job.attempts >= job.max_attempts:
            fields = _ended(error=reason, error_code=code)
            return _settle(job, status=JobStatus.FAILED, fields=fields)
        delay = _backoff(spec, job.attempts) if backoff else None
        fields = _requeued(delay=delay, error=reason, error_code=code)
        return _settle(job, status=JobStatus.QUEUED, fields=fields)


def take_back_from_dead_process(*, host: str, pid: int) -> Counter:
    """The jobs a worker process that has exited (a supervisor saw it die) still holds: handed
    back at once instead of after their leases run out. Its identities are host:pid:thread:boot
    (runner.worker_identity), so only that process's jobs match."""
    report: Counter = Counter()
    prefix = f"{host}:{pid}:"
    held = Job.objects.filter(status=JobStatus.RUNNING, worker__startswith=prefix)
    for job_id, worker in held.values_list("pk", "worker"):
        report[_reap_one(_worker_died, job_id, worker)] += 1
    return report


def _worker_died(job_id: int, worker: str) -> str | None:
    return _take_back(
        Q(pk=job_id, status=JobStatus.RUNNING, worker=worker),
        reason="the worker process died",
        code="WORKER_DIED",
        backoff=False,
    )


def _expire(job_id: int) -> str | None:
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return None
    guard = Q(pk=job_id, status=JobStatus.QUEUED, expires_at__lt=Now())
    if _end_waiting(job, status=JobStatus.EXPIRED, guard=guard, error_code="EXPIRED"):
        return JobStatus.EXPIRED
    return None
