"""Real worker processes: graceful SIGTERM, and the Redis broker end to end."""

from __future__ import annotations

import signal
import socket
import time
import uuid

import pytest

from stylevault.jobs import runner, services
from stylevault.jobs.models import Job, JobStatus
from stylevault.jobs.selectors import progress_events
from tests.jobs import process_handlers
from tests.jobs.workers import WorkerPool, worker_env

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = "redis://127.0.0.1:6379/15"


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _status(job: Job) -> str:
    return Job.objects.values_list("status", flat=True).get(pk=job.pk)


def _pool(tmp_path, queue: str, *extra: str, **env) -> WorkerPool:
    return WorkerPool(
        args=["--queues", queue, "--import", "tests.jobs.process_handlers", *extra],
        env=worker_env(**env),
        log_dir=tmp_path / "logs",
    )


@pytest.mark.parametrize(
    ("grace", "seconds", "ends_as"),
    [
        ("0.3", 30, JobStatus.QUEUED),  # too long for the grace period: handed back
        ("10", 0.6, JobStatus.SUCCEEDED),  # short enough: finished before exiting
    ],
)
def test_sigterm_finishes_or_hands_back_the_current_job(tmp_path, grace, seconds, ends_as):
    queue = f"term-{uuid.uuid4().hex[:8]}"
    pool = _pool(tmp_path, queue, "--grace", grace)
    proc = pool.start()
    try:
        job = services.enqueue(
            kind=process_handlers.SLOW, queue=queue, payload={"seconds": seconds}
        )
        _wait_for(lambda: _status(job) == JobStatus.RUNNING, 30, "the worker to claim the job")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, pool.logs_tail()
    finally:
        pool.stop()

    job.refresh_from_db()
    assert job.status == ends_as, (job.status, job.error, pool.logs_tail())
    if ends_as == JobStatus.QUEUED:
        assert (job.attempts, job.worker) == (0, ""), "a hand-back does not count as an attempt"


def test_a_step_that_hangs_past_the_time_limit_fails_its_job_and_recycles_the_worker(tmp_path):
    queue = f"hang-{uuid.uuid4().hex[:8]}"
    pool = _pool(tmp_path, queue, "--grace", "1", "--concurrency", "2")
    slow = services.enqueue(kind=process_handlers.SLOW, queue=queue, payload={"seconds": 60})
    proc = pool.start()
    try:
        _wait_for(lambda: _status(slow) == JobStatus.RUNNING, 30, "the worker to claim a job")
        hung = services.enqueue(kind=process_handlers.HANG, queue=queue)
        # 1 s of limit, then 1 s for the stuck step to give up, then the process goes.
        assert proc.wait(timeout=30) == runner.EXIT_RECYCLE, pool.logs_tail()
    finally:
        pool.stop()

    hung.refresh_from_db()
    assert (hung.status, hung.error_code) == (JobStatus.FAILED, "TIME_LIMIT"), pool.logs_tail()
    slow.refresh_from_db()
    assert (slow.status, slow.attempts) == (JobStatus.QUEUED, 0), "its neighbour, handed back"


@pytest.mark.parametrize("broker", ["", REDIS_URL])
def test_exit_when_idle_waits_for_the_running_job_then_exits(tmp_path, broker):
    queue = f"idle-{uuid.uuid4().hex[:8]}"
    job = services.enqueue(kind=process_handlers.SLOW, queue=queue, payload={"seconds": 3})
    pool = _pool(
        tmp_path,
        queue,
        "--exit-when-idle",
        "1.5",
        "--maintenance-interval",
        "0.2",
        broker_url=broker,
        redis_url=broker,
    )
    proc = pool.start()
    try:
        assert proc.wait(timeout=60) == 0, pool.logs_tail()
        ended = time.monotonic()
    finally:
        pool.stop()
        if broker:
            _forget_redis_queue(queue)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, "idle means no job: the running one finished"
    assert job.finished_at is not None and "--exit-when-idle" in pool.logs_tail()
    assert ended - pool.started_at[proc.pid] >= 3 + 1.5


def test_redis_broker_and_progress_events_end_to_end(tmp_path, settings):
    """enqueue → Celery over Redis → worker → progress on Redis pub/sub → status event."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        pytest.fail("Redis is not reachable on 127.0.0.1:6379 (run `make services`)")
    queue = f"smoke-{uuid.uuid4().hex[:8]}"
    # No top-up (maintenance): the job can only be reached through the published message.
    pool = _pool(
        tmp_path, queue, "--maintenance-interval", "1000", broker_url=REDIS_URL, redis_url=REDIS_URL
    )
    pool.start()
    settings.STYLEVAULT_BROKER_URL = REDIS_URL
    settings.STYLEVAULT_REDIS_URL = REDIS_URL
    try:
        time.sleep(3)  # let the worker start consuming
        job = services.enqueue(kind=process_handlers.ECHO, queue=queue, payload={"hello": 1})
        events = list(progress_events(job.pk, timeout=30))
    finally:
        pool.stop()
        _forget_redis_queue(queue)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, (job.status, job.error, pool.logs_tail())
    assert job.result == {"echo": {"hello": 1}}
    assert events[-1] == {"event": "status", "data": {"status": "succeeded"}}
    assert {"event": "progress", "data": {"step": 2, "total": 2}} in events


def _forget_redis_queue(queue: str) -> None:
    import redis

    from stylevault.jobs import conf

    client = redis.Redis.from_url(REDIS_URL)
    keys = client.keys(f"{conf.broker_queue(queue)}*") + client.keys(f"*{queue}*")
    if keys:
        client.delete(*keys)
