"""Chaos: 300 jobs while worker processes are killed with SIGKILL at random.

Every job must end exactly once (succeeded, or failed after its attempts), none may be lost,
and none may have its effects applied twice. Runs with real worker processes: on SQLite with
database polling, on PostgreSQL with RabbitMQ.
"""

from __future__ import annotations

import contextlib
import random
import socket
import time
import uuid
from collections import Counter

import pytest
from django.db import connection

from stylevault.jobs import services
from stylevault.jobs.models import TERMINAL_STATUSES, Job, JobStatus
from tests.jobs import chaos_handlers
from tests.jobs.workers import WorkerPool, worker_env

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
JOBS = 300
WORKERS = 4
# Kills stop after this long so the run converges; the whole test stays under ~90 s.
CHAOS_SECONDS = 25
DEADLINE_SECONDS = 75
MIX = ["normal"] * 240 + ["transient_once"] * 30 + ["always_transient"] * 15 + ["fail"] * 15


pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def chaos_tables():
    with connection.cursor() as cursor:
        for statement in (*chaos_handlers.DROP_TABLES, *chaos_handlers.CREATE_TABLES):
            cursor.execute(statement)
    yield
    with connection.cursor() as cursor:
        for statement in chaos_handlers.DROP_TABLES:
            cursor.execute(statement)


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _purge(queue: str) -> None:
    from kombu import Connection

    from stylevault.jobs import conf

    # An absent queue has nothing to purge.
    with Connection(RABBITMQ_URL) as conn, contextlib.suppress(Exception):
        conn.default_channel.queue_delete(conf.broker_queue(queue))


def _enqueue_all(queue: str) -> dict[int, str]:
    modes = {}
    mix = MIX.copy()
    random.shuffle(mix)
    for mode in mix:
        max_attempts = 3 if mode == "always_transient" else None
        job = services.enqueue(
            kind=chaos_handlers.KIND,
            queue=queue,
            payload={"mode": mode},
            max_attempts=max_attempts,
        )
        modes[job.pk] = mode
    return modes


def _pid_of(worker_id: str) -> int | None:
    try:
        return int(worker_id.split(":")[1])
    except (IndexError, ValueError):
        return None


def _kill_one(pool: WorkerPool, queue: str) -> tuple[int, int]:
    """SIGKILLs a worker in the middle of a job (and now and then one that holds none: idle
    or still starting); returns (kills, kills mid-job).

    Only jobs with two attempts to spare are killed: near the end of the run the few jobs
    left are the retried ones, and killing them again and again would use up their attempts
    (a job killed on every attempt rightly fails, but then its outcome no longer says whether
    retries work). Two, not one, because the victim may have moved on to another job between
    this query and the kill.
    """
    alive = {p.pid: p for p in pool.alive()}
    running = Job.objects.filter(queue=queue, status=JobStatus.RUNNING)
    held = [
        (pid, attempts < most - 1)
        for worker, attempts, most in running.values_list("worker", "attempts", "max_attempts")
        if (pid := _pid_of(worker))
    ]
    holders = [pid for pid, spare in held if spare and pid in alive]
    busy = {pid for pid, _ in held}
    idle = [proc for pid, proc in alive.items() if pid not in busy]
    if holders:
        victim, mid_job = alive[random.choice(holders)], 1
    elif idle and random.random() < 0.15:
        victim, mid_job = random.choice(idle), 0
    else:
        return 0, 0
    pool.kill(victim)
    pool.start()
    return 1, mid_job


def _run_chaos(pool: WorkerPool, queue: str) -> tuple[dict[int, str], int, int]:
    for _ in range(WORKERS):
        pool.start()
    modes = _enqueue_all(queue)
    started = time.monotonic()
    kills = kills_mid_job = 0
    while time.monotonic() - started < DEADLINE_SECONDS:
        pending = Job.objects.filter(pk__in=modes).exclude(status__in=TERMINAL_STATUSES)
        if not pending.exists():
            break
        if time.monotonic() - started < CHAOS_SECONDS:
            killed, mid_job = _kill_one(pool, queue)
            kills, kills_mid_job = kills + killed, kills_mid_job + mid_job
        time.sleep(random.uniform(0.2, 0.8))
    pool.stop()
    return modes, kills, kills_mid_job


def _check(modes: dict[int, str], kills: int, kills_mid_job: int, logs: str) -> None:
    jobs = {j.pk: j for j in Job.objects.filter(pk__in=modes)}
    statuses = Counter(j.status for j in jobs.values())
    # None lost: every job ended, and only as succeeded or failed.
    assert set(statuses) <= {JobStatus.SUCCEEDED, JobStatus.FAILED}, (statuses, logs)

    # Exactly once: one effect row per job, matching its final status.
    effects = _rows(f"SELECT job_id, outcome FROM {chaos_handlers.EFFECT_TABLE}")
    per_job = Counter(job_id for job_id, _ in effects)
    assert [j for j, n in per_job.items() if n > 1] == [], "effects applied twice"
    assert set(per_job) == set(modes), "a job ended without its effect"
    assert all(jobs[job_id].status == outcome for job_id, outcome in effects)

    # Outcomes follow the handler's behaviour.
    for job in jobs.values():
        mode = modes[job.pk]
        expected = JobStatus.FAILED if mode in ("always_transient", "fail") else JobStatus.SUCCEEDED
        assert job.status == expected, (job.pk, mode, job.status, job.error, job.attempts)
        assert job.attempts <= job.max_attempts
        if mode == "always_transient":
            assert job.attempts == job.max_attempts == 3

    # Retries really happened: started handlers outnumber jobs, killed work was redone.
    starts = Counter(
        job_id for (job_id,) in _rows(f"SELECT job_id FROM {chaos_handlers.START_TABLE}")
    )
    assert all(starts[pk] <= jobs[pk].attempts for pk in jobs), "a start without a claim"
    # A transient_once job fails its first attempt (by the handler or by a kill).
    assert all(jobs[pk].attempts >= 2 for pk, m in modes.items() if m == "transient_once")
    normal = [pk for pk, m in modes.items() if m == "normal"]
    redone = sum(1 for pk in normal if jobs[pk].attempts >= 2)
    assert kills_mid_job >= 10, (kills, kills_mid_job)
    assert redone >= 1, "no killed job was ever retried"
    print(  # shown with -s: what the chaos did
        f"\nchaos: {kills} kills ({kills_mid_job} mid-job), {sum(starts.values())} handler starts "
        f"for {len(jobs)} jobs, {redone} normal jobs redone, outcomes {dict(statuses)}"
    )


def test_chaos_sqlite_polling(chaos_tables, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite run (polling); PostgreSQL runs the broker variant")
    queue = f"chaos-{uuid.uuid4().hex[:8]}"
    pool = WorkerPool(
        args=[
            "--queues",
            queue,
            "--import",
            "tests.jobs.chaos_handlers",
            "--maintenance-interval",
            "0.5",
        ],
        env=worker_env(),
        log_dir=tmp_path / "logs",
    )
    try:
        modes, kills, mid = _run_chaos(pool, queue)
    finally:
        pool.stop()
    _check(modes, kills, mid, pool.logs_tail())


def test_chaos_postgres_rabbitmq(chaos_tables, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL run (RabbitMQ); SQLite runs the polling variant")
    if not _reachable(5672):
        pytest.fail("RabbitMQ is not reachable on 127.0.0.1:5672 (run `make services`)")
    queue = f"chaos-{uuid.uuid4().hex[:8]}"
    _purge(queue)
    pool = WorkerPool(
        args=[
            "--queues",
            queue,
            "--import",
            "tests.jobs.chaos_handlers",
            "--maintenance-interval",
            "0.5",
        ],
        env=worker_env(broker_url=RABBITMQ_URL),
        log_dir=tmp_path / "logs",
    )
    try:
        with pytest.MonkeyPatch.context() as patch:
            from django.conf import settings

            patch.setattr(settings, "STYLEVAULT_BROKER_URL", RABBITMQ_URL)
            modes, kills, mid = _run_chaos(pool, queue)
    finally:
        pool.stop()
        _purge(queue)
    _check(modes, kills, mid, pool.logs_tail())
