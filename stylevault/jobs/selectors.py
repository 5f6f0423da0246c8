"""Job reads: lookups, queue depth, and the progress event stream for SSE endpoints."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, F, IntegerField, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from stylevault.jobs import conf, progress, registry
from stylevault.jobs.models import ACTIVE_STATUSES, TERMINAL_STATUSES, Job, JobStatus

log = logging.getLogger(__name__)

# Embedded mode: how often a stream re-reads the row. Distributed mode: how often it
# re-reads the row anyway, in case a pub/sub message was lost.
POLL_SECONDS = 0.25
RECHECK_SECONDS = 5.0


def job_of(*, job_id: int, owner=None) -> Job | None:
    """A job by id; with `owner`, only that owner's."""
    jobs = Job.objects.filter(pk=job_id)
    if owner is not None:
        jobs = jobs.filter(owner=owner)
    return jobs.first()


def jobs_of(owner) -> QuerySet[Job]:
    return Job.objects.filter(owner=owner)


def queue_depths() -> list[tuple[str, str, int]]:
    """(queue, status, count) for queued and running jobs."""
    rows = (
        Job.objects.filter(status__in=ACTIVE_STATUSES)
        .values_list("queue", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [(queue, status, n) for queue, status, n in rows]


def backlog() -> list[tuple[str, int, int, float]]:
    """(queue, priority, jobs waiting that could run now, age in seconds of the oldest): what
    an autoscaler scales workers by. The priority is the owner tier's queue priority."""
    now = timezone.now()
    rows = (
        Job.objects.filter(status=JobStatus.QUEUED)
        .filter(Q(run_after__isnull=True) | Q(run_after__lte=now))
        .values_list("queue", "priority")
        .annotate(n=Count("id"), oldest=Min("created_at"))
        .order_by()
    )
    return [(q, p, n, max(0.0, (now - oldest).total_seconds())) for q, p, n, oldest in rows]


def claimable(*, queue: str, kinds: list[str] | None = None) -> QuerySet[Job]:
    """Jobs a claim on `queue` could take now, in claim order (same rules as sql.claim)."""
    running = (
        Job.objects.filter(owner=OuterRef("owner"), kind=OuterRef("kind"), status=JobStatus.RUNNING)
        .order_by()
        .values("owner")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        Job.objects.filter(
            status=JobStatus.QUEUED,
            queue=queue,
            kind__in=kinds if kinds is not None else registry.kinds(),
        )
        .filter(Q(run_after__isnull=True) | Q(run_after__lte=Now()))
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=Now()))
        .annotate(owner_running=Coalesce(Subquery(running), 0, output_field=IntegerField()))
        .filter(
            Q(max_running__isnull=True)
            | Q(owner__isnull=True)
            | Q(max_running__gt=F("owner_running"))
        )
        .order_by("-priority", "fair_tag", "id")
    )


def claimable_priorities(*, queue: str, limit: int, settled_seconds: float = 0) -> list[int]:
    """Priorities of claimable jobs, leaving out those enqueued in the last `settled_seconds`
    (their message is normally on its way)."""
    jobs = claimable(queue=queue)
    if settled_seconds:
        jobs = jobs.filter(created_at__lt=timezone.now() - timedelta(seconds=settled_seconds))
    return list(jobs.values_list("priority", flat=True)[:limit])


# ----------------------------------------------------------------------------- progress


@dataclass
class _Stream:
    """Turns row snapshots and pub/sub messages into API.md's events, without repeats."""

    last_progress: dict | None = None
    done: bool = False
    pending: list[dict] = field(default_factory=list)

    def from_row(self, row: dict | None) -> list[dict]:
        if row is None:
            self.done = True
            return [{"event": progress.STATUS, "data": {"status": "not_found"}}]
        events = self._progress(row["progress"] or None)
        if row["status"] in TERMINAL_STATUSES:
            events.append({"event": progress.STATUS, "data": _status_data(row)})
            self.done = True
        return events

    def from_message(self, message: dict) -> list[dict]:
        if message["event"] == progress.PROGRESS:
            return self._progress(message["data"])
        self.done = message["data"].get("status") in TERMINAL_STATUSES
        return [message] if self.done else []

    def _progress(self, data: dict | None) -> list[dict]:
        if not data or data == self.last_progress:
            return []
        self.last_progress = data
        return [{"event": progress.PROGRESS, "data": data}]


_ROW_FIELDS = ("status", "progress", "error_code")


def _status_data(row: dict) -> dict:
    data = {"status": row["status"]}
    if row.get("error_code"):
        data["error_code"] = row["error_code"]
    return data


def _row(job_id: int) -> dict | None:
    return Job.objects.filter(pk=job_id).values(*_ROW_FIELDS).first()


def progress_events(job_id: int, *, timeout: float | None = None) -> Iterator[dict]:
    """Events for one job until it ends: {"event": "progress", "data": {"step", "total", ...}}
    whenever progress changes, then one {"event": "status", "data": {"status", ...}}.

    Reads Redis pub/sub when configured (after subscribing, the row is read once so nothing
    between is missed), else the Job row every POLL_SECONDS.
    """
    stream = _Stream()
    deadline = None if timeout is None else time.monotonic() + timeout
    pubsub = _subscribe(job_id)
    try:
        yield from stream.from_row(_row(job_id))
        last_read = time.monotonic()
        while not stream.done and (deadline is None or time.monotonic() < deadline):
            if pubsub is not None:
                message = pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_SECONDS)
                decoded = progress.decode(message["data"]) if message else None
                if decoded:
                    yield from stream.from_message(decoded)
                if time.monotonic() - last_read < RECHECK_SECONDS:
                    continue
            else:
                time.sleep(POLL_SECONDS)
            last_read = time.monotonic()
            yield from stream.from_row(_row(job_id))
    finally:
        if pubsub is not None:
            pubsub.close()


def _subscribe(job_id: int):

    url = conf.redis_url()
    if not url:
        return None
    # redis is used only in distributed mode (STYLEVAULT_REDIS_URL).
    import redis

    try:
        pubsub = redis.Redis.from_url(url, socket_connect_timeout=1).pubsub()
        pubsub.subscribe(progress.channel(job_id))
    except redis.RedisError:
        log.warning("progress stream of job %s: Redis unavailable, reading the row", job_id)
        return None
    return pubsub


async def aprogress_events(job_id: int, *, timeout: float | None = None) -> AsyncIterator[dict]:
    """The same events for async views (an ASGI SSE endpoint)."""

    stream = _Stream()
    deadline = None if timeout is None else time.monotonic() + timeout
    url = conf.redis_url()
    pubsub = None
    if url:
        # redis is used only in distributed mode (STYLEVAULT_REDIS_URL).
        import redis
        import redis.asyncio as aioredis

        try:
            pubsub = aioredis.Redis.from_url(url, socket_connect_timeout=1).pubsub()
            await pubsub.subscribe(progress.channel(job_id))
        except redis.RedisError:
            log.warning("progress stream of job %s: Redis unavailable, reading the row", job_id)
            pubsub = None
    try:
        for event in stream.from_row(await _arow(job_id)):
            yield event
        last_read = time.monotonic()
        while not stream.done and (deadline is None or time.monotonic() < deadline):
            if pubsub is not None:
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=POLL_SECONDS
                )
                decoded = progress.decode(message["data"]) if message else None
                for event in stream.from_message(decoded) if decoded else []:
                    yield event
                if time.monotonic() - last_read < RECHECK_SECONDS:
                    continue
            else:
                await asyncio.sleep(POLL_SECONDS)
            last_read = time.monotonic()
            for event in stream.from_row(await _arow(job_id)):
                yield event
    finally:
        if pubsub is not None:
            await pubsub.aclose()


async def _arow(job_id: int) -> dict | None:
    return await Job.objects.filter(pk=job_id).values(*_ROW_FIELDS).afirst()
