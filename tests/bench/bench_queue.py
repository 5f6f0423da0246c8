"""Queue benchmark: enqueue-to-claim latency (p50/p95) and no-op jobs per second.

Two set-ups, each on throwaway databases and real `stylevault worker` processes:
polling workers on SQLite (embedded mode) and Celery workers over RabbitMQ on PostgreSQL.
Goals: p50 <= 50 ms polling, <= 20 ms RabbitMQ; >= 200 jobs/s with RabbitMQ.

    python tests/bench/bench_queue.py [--mode polling|rabbitmq] [--latency-jobs 200]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("STYLEVAULT_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
RABBITMQ_URL = os.environ.get("STYLEVAULT_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
BENCH_DB = "stylevault_bench_queue"
MODES = {
    # mode: (database, broker, worker processes, threads per worker, goals)
    "polling": ("sqlite", "", 2, 1, {"p50_ms": 50.0}),
    "rabbitmq": ("postgres", RABBITMQ_URL, 2, 1, {"p50_ms": 20.0, "jobs_per_s": 200.0}),
}


# ----------------------------------------------------------------------------- child process


def _setup_environment(mode: str, tmp: str) -> None:
    """Points Django at throwaway databases; must run before django.setup()."""
    database, broker, *_ = MODES[mode]
    os.environ.update(
        STYLEVAULT_DATA_DIR=tmp,
        STYLEVAULT_LOG_FORMAT="text",
        STYLEVAULT_BROKER_URL=broker,
        STYLEVAULT_REDIS_URL="",
        DJANGO_SETTINGS_MODULE="stylevault.settings",
    )
    if database == "postgres":
        _recreate_pg_database()
        os.environ["DATABASE_URL"] = f"{PG_URL.rsplit('/', 1)[0]}/{BENCH_DB}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"


def _admin_pg(statements: list[str]) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _recreate_pg_database() -> None:
    _admin_pg([f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)", f"CREATE DATABASE {BENCH_DB}"])


def _start_workers(queue: str, count: int, threads: int, logs: Path) -> list[subprocess.Popen]:
    env = dict(os.environ)
    procs = []
    for n in range(count):
        log = (logs / f"worker-{n}.log").open("w")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "stylevault.cli",
                    "worker",
                    "--queues",
                    queue,
                    "--concurrency",
                    str(threads),
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        log.close()
    return procs


def _wait_until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the workers did not finish in time")
        time.sleep(0.002)


def _enqueue_stamped(queue: str) -> tuple[int, list[float]]:
    """Enqueues one no-op job; returns its id and a cell filled with the commit time."""
    from django.db import transaction

    from stylevault.jobs import services

    committed: list[float] = []
    with transaction.atomic():
        # Registered before enqueue's own wake-up, so it runs first, right after COMMIT.
        transaction.on_commit(lambda: committed.append(time.time()))
        job = services.enqueue(kind="jobs.noop", queue=queue)
    return job.pk, committed


def _measure_latency(queue: str, jobs: int) -> list[float]:
    """Sporadic arrivals (workers idle in between): commit → claim, in milliseconds."""
    from stylevault.jobs.models import Job

    latencies = []
    for _ in range(jobs):
        time.sleep(random.uniform(0.02, 0.08))
        job_id, committed = _enqueue_stamped(queue)
        claimed = Job.objects.filter(pk=job_id, started_at__isnull=False)
        _wait_until(claimed.exists, timeout=30)
        started = Job.objects.values_list("started_at", flat=True).get(pk=job_id)
        latencies.append((started.timestamp() - committed[0]) * 1000)
    return latencies


def _measure_throughput(queue: str, jobs: int) -> float:
    """A burst of no-op jobs in one transaction: jobs finished per second after the commit."""
    from django.db import transaction
    from django.db.models import Max

    from stylevault.jobs import services
    from stylevault.jobs.models import ACTIVE_STATUSES, Job

    with transaction.atomic():
        for _ in range(jobs):
            services.enqueue(kind="jobs.noop", queue=queue)
        committed: list[float] = []
        transaction.on_commit(lambda: committed.append(time.time()))
    # A cheap check (partial indexes) so the benchmark itself does not eat the CPU.
    active = Job.objects.filter(queue=queue, status__in=ACTIVE_STATUSES)
    deadline = time.monotonic() + 120
    while active.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("throughput burst did not finish")
        time.sleep(0.1)
    last = Job.objects.filter(queue=queue).aggregate(t=Max("finished_at"))["t"]
    assert Job.objects.filter(queue=queue).exclude(status="succeeded").count() == 0
    return jobs / (last.timestamp() - committed[0])


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run_mode(mode: str, latency_jobs: int, burst_jobs: int, workers: str = "") -> dict:
    database, _broker, processes, threads, goals = MODES[mode]
    if workers:  # "PxT": P processes of T threads each
        processes, threads = (int(n) for n in workers.split("x"))
    with tempfile.TemporaryDirectory(prefix="sv-bench-queue-") as tmp:
        _setup_environment(mode, tmp)
        import django
        from django.core.management import call_command
        from django.db import connections

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        workers = _start_workers(queue, processes, threads, Path(tmp))
        try:
            # Warm up: every worker started, connected and has run jobs.
            _measure_latency(queue, 10)
            latencies = _measure_latency(queue, latency_jobs)
            jobs_per_s = _measure_throughput(queue, burst_jobs)
        finally:
            for proc in workers:
                proc.terminate()
            for proc in workers:
                proc.wait(timeout=20)
            connections.close_all()
            if database == "postgres":
                _admin_pg([f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"])
            if mode == "rabbitmq":
                _delete_broker_queue(queue)
    p50, p95 = _percentile(latencies, 50), _percentile(latencies, 95)
    row = {
        "bench": "queue",
        "mode": f"{mode} ({database})",
        "workers": f"{processes}x{threads}",
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "jobs_per_s": round(jobs_per_s, 1),
        "goal": ", ".join(
            f"p50 <= {v:g} ms" if k == "p50_ms" else f">= {v:g} jobs/s" for k, v in goals.items()
        ),
    }
    row["goal_met"] = all(row[k] <= v if k == "p50_ms" else row[k] >= v for k, v in goals.items())
    return row


def _delete_broker_queue(queue: str) -> None:
    from kombu import Connection

    from stylevault.jobs import conf

    try:
        with Connection(RABBITMQ_URL) as conn:
            conn.default_channel.queue_delete(conf.broker_queue(queue))
    except Exception as exc:  # leftover queue: harmless, name is unique
        print(f"could not delete broker queue: {exc}", file=sys.stderr)


# ----------------------------------------------------------------------------- parent


def _child(mode: str, latency_jobs: int, burst_jobs: int, workers: str = "") -> dict:
    from tests.bench.child import run_child  # ROOT is on sys.path by now

    args = [mode, "--latency-jobs", str(latency_jobs), "--burst-jobs", str(burst_jobs)]
    result, stderr = run_child(__file__, [*args, *(["--workers", workers] if workers else [])])
    return result if result is not None else {"bench": "queue", "mode": mode, "error": stderr}


def main(
    modes: tuple[str, ...] = ("polling", "rabbitmq"),
    latency_jobs: int = 200,
    burst_jobs: int = 2000,
    workers: str = "",
) -> list[dict]:
    """One result row per mode (each measured in its own process)."""
    return [_child(mode, latency_jobs, burst_jobs, workers) for mode in modes]


def table(rows: list[dict]) -> str:
    lines = [
        "| mode | workers | enqueue→claim p50 | p95 | no-op jobs/s | goal | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['mode']} | | | | | | ERROR |")
            continue
        lines.append(
            f"| {row['mode']} | {row['workers']} | {row['p50_ms']} ms | {row['p95_ms']} ms | "
            f"{row['jobs_per_s']:,.0f} | {row['goal']} | {'yes' if row['goal_met'] else 'NO'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), action="append")
    parser.add_argument("--latency-jobs", type=int, default=200)
    parser.add_argument("--burst-jobs", type=int, default=2000)
    parser.add_argument("--workers", default="", help="PxT: P worker processes of T threads")
    parser.add_argument("--child", choices=sorted(MODES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_mode(args.child, args.latency_jobs, args.burst_jobs, args.workers)))
        sys.exit(0)
    modes = tuple(args.mode or ("polling", "rabbitmq"))
    results = main(modes, args.latency_jobs, args.burst_jobs, args.workers)
    print(table(results))
    for row in results:
        if "error" in row:
            print(f"{row['mode']}: {row['error']}", file=sys.stderr)
    sys.exit(0 if all(r.get("goal_met") for r in results) else 1)
