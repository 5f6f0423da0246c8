"""Running one claimed job: the handler's context, lease renewal, and the outcome.

Shared by the polling worker and the Celery task, so both behave the same way.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import socket
import threading
import time
from typing import Any

from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
)

from stylevault.jobs import conf, metrics, progress, registry, services
from stylevault.jobs.gathering import Gathering, Seat
from stylevault.jobs.models import Job
from stylevault.jobs.registry import Handler, JobFailed, JobStopped, TransientError

log = logging.getLogger(__name__)

# Progress is written to the row (and published) at most this often, plus the final step.
PROGRESS_MIN_INTERVAL = 0.25
# Graceful stop: how long the current job may keep running after SIGTERM before it is
# asked to stop and handed back (`stylevault up` waits 10 s before killing).
DEFAULT_GRACE_SECONDS = 8.0

STOP_CANCELLED = "cancelled"
STOP_LEASE_LOST = "lease_lost"
STOP_SHUTDOWN = "shutdown"
STOP_TIME_LIMIT = "time_limit"
# A handler past its time limit that has not stopped this long after (a step that itself
# hangs): its job is failed and the process exits, to be restarted clean by its supervisor.
EXIT_RECYCLE = 75

# A boot token makes worker ids unique even when a pid is reused after a restart.
_BOOT = secrets.token_hex(3)
_thread_numbers = itertools.count()
_local = threading.local()


def worker_identity() -> str:
    """host:pid:thread:boot — what the claim writes into `Job.worker`, unique per thread."""
    if not hasattr(_local, "identity"):
        _local.identity = f"{socket.gethostname()}:{os.getpid()}:{next(_thread_numbers)}:{_BOOT}"
    return _local.identity


class Shutdown:
    """Process-wide graceful stop: no new claims at once, running jobs get a grace period."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.grace_seconds = DEFAULT_GRACE_SECONDS
        self._deadline: float | None = None

    def request(self) -> None:
        if not self.requested.is_set():
            self._deadline = time.monotonic() + self.grace_seconds
            self.requested.set()

    def grace_over(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def reset(self) -> None:
        self.requested.clear()
        self._deadline = None


SHUTDOWN = Shutdown()


class JobContext:
    """What a handler gets: the job, progress reporting and the stop signal, and for jobs
    claimed together (`execute_batch`) its `seat` in their gathering (else None)."""

    def __init__(
        self, job: Job, *, shutdown: Shutdown | None = None, seat: Seat | None = None
    ) -> None:
        self.job = job
        self.seat = seat
        self._shutdown = shutdown or SHUTDOWN
        self._cancel_requested = job.cancel_requested
        self._lease_lost = False
        self._last_progress_write = 0.0
        self.renewed_at = time.monotonic()
        limit = job.time_limit_seconds
        self.deadline = None if limit is None else self.renewed_at + limit

    def past_deadline(self, *, by: float = 0.0) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline + by

    @property
    def stop_reason(self) -> str | None:
        if self._lease_lost:
            return STOP_LEASE_LOST
        if self.past_deadline():
            return STOP_TIME_LIMIT
        if self._cancel_requested:
            return STOP_CANCELLED
        if self._shutdown.grace_over():
            return STOP_SHUTDOWN
        return None

    def should_stop(self) -> bool:
        """True once the job is cancelled, its lease is lost, its time is up, or the worker
        must stop."""
        return self.stop_reason is not None

    def raise_if_stopped(self) -> None:
        if self.should_stop():
            raise JobStopped(self.stop_reason)

    def report_progress(self, step: int, total: int, **extra: Any) -> bool:
        """Records progress (throttled) and renews the lease; returns False when to stop."""
        data = {"step": int(step), "total": int(total), **extra}
        self.job.progress = data
        now = time.monotonic()
        if step >= total or now - self._last_progress_write >= PROGRESS_MIN_INTERVAL:
            self._last_progress_write = now
            self.renew(progress=data)
            progress.publish(self.job.pk, progress.PROGRESS, data)
        return not self.should_stop()

    def renew(self, *, progress: dict | None = None) -> None:
        """Extends the lease and learns about a cancel; database trouble is only logged."""
        try:
            cancel_requested = services.renew_lease(self.job, progress=progress)
        except DatabaseError:
            log.warning("could not renew the lease of job %s", self.job.pk, exc_info=True)
            return
        self.renewed_at = time.monotonic()
        if cancel_requested is None:
            self._lease_lost = True
        else:
            self._cancel_requested = cancel_requested


class LeaseKeeper:
    """One thread per process that renews the leases of running jobs every lease/3 seconds.

    It keeps a job's lease while the handler is busy in a long step without reporting
    progress (loading a model, one slow denoising step), and it notices cancel requests. A
    handler still running `hang_seconds` past its job's time limit is stuck inside a step
    (a driver stall, a deadlock) that no stop signal reaches: the keeper fails that job, hands
    the process's other jobs back, and ends the process (EXIT_RECYCLE) for a clean restart.
    """

    TICK_SECONDS = 0.2

    def __init__(self) -> None:
        self._contexts: set[JobContext] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.hang_seconds = DEFAULT_GRACE_SECONDS
        self._idle_since = time.monotonic()

    def track(self, ctx: JobContext) -> None:
        with self._lock:
            self._contexts.add(ctx)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="stylevault-lease-keeper", daemon=True
                )
                self._thread.start()

    def untrack(self, ctx: JobContext) -> None:
        with self._lock:
            self._contexts.discard(ctx)
            if not self._contexts:
                self._idle_since = time.monotonic()

    def idle_seconds(self) -> float:
        """How long this process has run no job (0 while it runs one)."""
        with self._lock:
            return 0.0 if self._contexts else time.monotonic() - self._idle_since

    def _due(self) -> list[JobContext]:
        now = time.monotonic()
        with self._lock:
            return [c for c in self._contexts if now - c.renewed_at >= c.job.lease_seconds / 3]

    def _hung(self) -> list[JobContext]:
        with self._lock:
            return [c for c in self._contexts if c.past_deadline(by=self.hang_seconds)]

    def _run(self) -> None:
        while True:
            time.sleep(self.TICK_SECONDS)
            try:
                due = self._due()
                if due:
                    close_old_connections()
                for ctx in due:
                    ctx.renew()
                hung = self._hung()
                if hung:
                    self._recycle(hung)
            except Exception:  # this thread must outlive any error, or leases silently lapse
                log.exception("lease keeper round failed")

    def _recycle(self, hung: list[JobContext]) -> None:
        close_old_connections()
        with self._lock:
            others = [c for c in self._contexts if c not in hung]
        for ctx in hung:
            log.error("job %s is stuck past its time limit; recycling this process", ctx.job.pk)
            _fail_time_limit(ctx)
        for ctx in others:
            services.release(ctx.job)
        logging.shutdown()
        os._exit(EXIT_RECYCLE)


KEEPER = LeaseKeeper()


def execute(job: Job, *, shutdown: Shutdown | None = None, seat: Seat | None = None) -> str | None:
    """Runs a job we just claimed; returns the status written, or None if the claim was lost."""
    spec = registry.get(job.kind)
    ctx = JobContext(job, shutdown=shutdown, seat=seat)
    if spec is None:  # the claim only takes registered kinds; a stale registry is a bug
        return services.fail(job, message=f"no handler for {job.kind!r}", code="NO_HANDLER")
    KEEPER.track(ctx)
    started = time.monotonic()
    try:
        outcome = _attempt(spec, ctx)
    except Exception:
        # Not even the failure could be written (database away, a failing failure hook):
        # the lease will run out and the reaper decides, so the worker itself goes on.
        log.exception("job %s: could not record the outcome; the reaper will", job.pk)
        outcome = None
    finally:
        KEEPER.untrack(ctx)
    metrics.observe(kind=job.kind, status=outcome or "lost", seconds=time.monotonic() - started)
    log.info("job %s (%s) attempt %s: %s", job.pk, job.kind, job.attempts, outcome or "lost")
    return outcome


def execute_batch(jobs: list[Job], *, shutdown: Shutdown | None = None) -> list[str | None]:
    """Runs jobs claimed together, each in a thread of its own with its own context, lease and
    outcome, sharing one gathering (where the handler does their common work once)."""
    if len(jobs) == 1:
        return [execute(jobs[0], shutdown=shutdown)]
    gathering = Gathering(len(jobs))
    outcomes: list[str | None] = [None] * len(jobs)

    def run(index: int, job: Job) -> None:
        seat = gathering.seat()
        try:
            outcomes[index] = execute(job, shutdown=shutdown, seat=seat)
        finally:
            seat.leave()  # a job that ended before offering its work must not hold the others
            connection.close()

    threads = [
        threading.Thread(target=run, args=(n, job), name=f"stylevault-batch-{job.pk}")
        for n, job in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _attempt(spec: Handler, ctx: JobContext) -> str | None:
    try:
        result = spec.func(ctx)
        # The outcome and the owning app's effects commit together, or not at all.
        return services.complete(ctx.job, result=result)
    except Exception as exc:
        return _after_exception(ctx, exc)


def _after_exception(ctx: JobContext, exc: Exception) -> str | None:
    job = ctx.job
    # Anything raised once a stop was signalled is the handler stopping (the engine raises
    # its own "cancelled" errors from inside the progress callback).
    if isinstance(exc, JobStopped) or ctx.should_stop():
        return _stopped(ctx)
    if isinstance(exc, JobFailed):
        return services.fail(job, message=str(exc), code=exc.code)
    if isinstance(exc, TransientError | OperationalError | InterfaceError):
        log.warning("job %s: transient error, will retry: %s", job.pk, exc)
        return services.fail(job, message=_describe(exc), code="TRANSIENT", retry=True)
    log.exception("job %s (%s) failed", job.pk, job.kind)
    return services.fail(job, message=_describe(exc), code="INTERNAL_ERROR")


def _stopped(ctx: JobContext) -> str | None:
    reason = ctx.stop_reason
    if reason == STOP_LEASE_LOST:
        return None  # the reaper or another worker owns the job now
    if reason == STOP_TIME_LIMIT:
        return _fail_time_limit(ctx)
    if reason == STOP_SHUTDOWN:
        return services.release(ctx.job)
    # Cancelled (or a handler that stopped on its own: the cancel check settles it).
    return services.fail(ctx.job, message="stopped", code="STOPPED", retry=True)


def _fail_time_limit(ctx: JobContext) -> str | None:
    limit = ctx.job.time_limit_seconds
    return services.fail(ctx.job, message=services.time_limit_message(limit), code="TIME_LIMIT")


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def claim_for_worker(queues: list[str]) -> list:
    """The next job, or jobs to run together (STYLEVAULT_BATCH_SIZE, STYLEVAULT_BATCH_WAIT_MS)."""
    return services.claim_batch(
        queues=queues,
        worker=worker_identity(),
        size=conf.batch_size(),
        wait=conf.batch_wait_seconds(),
    )
