"""Ledger benchmark: hold+capture pairs per second with 32 concurrent workers.

    python tests/bench/bench_ledger.py [--seconds 10] [--workers 32] [--db postgres|sqlite]

Each database runs in its own child process that sets Django up against a throwaway
database (PostgreSQL database ``stylevault_bench``, created and dropped here; a temporary
SQLite file), migrates it, funds one wallet per worker, then lets the workers (threads, each
with its own connection) reserve 10 credits and capture them for one of 8 artists, over and
over. ``stylevault ledger check`` runs on the books afterwards.

Goal: ≥ 1,000 pairs/s on PostgreSQL. ``main() -> list[dict]`` is what the bench runner imports.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("STYLEVAULT_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BENCH_DB = "stylevault_bench"
ARTISTS = 8
AMOUNT = 10


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql)


def _run_one(db: str, seconds: float, workers: int) -> dict:
    """In the child process: set up, run, check, tear down; returns the result row."""
    tmp = tempfile.mkdtemp(prefix="sv-bench-ledger-")
    os.environ["STYLEVAULT_DATA_DIR"] = tmp
    os.environ["STYLEVAULT_LOG_FORMAT"] = "text"
    os.environ["DJANGO_SETTINGS_MODULE"] = "stylevault.settings"
    if db == "postgres":
        base = PG_URL.rsplit("/", 1)[0]
        _pg_admin(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        _pg_admin(f"CREATE DATABASE {BENCH_DB}")
        os.environ["DATABASE_URL"] = f"{base}/{BENCH_DB}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        return _bench(db, seconds, workers)
    finally:
        if db == "postgres":
            from django.db import connections

            connections.close_all()
            _pg_admin(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def _bench(db: str, seconds: float, workers: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    from stylevault.accounts.models import Role, User
    from stylevault.ledger import selectors, services

    call_command("migrate", verbosity=0)
    artists = [User.objects.create(username=f"artist{i}", role=Role.ARTIST) for i in range(ARTISTS)]
    buyers = [User.objects.create(username=f"buyer{i}") for i in range(workers)]
    for buyer in buyers:
        services.grant_credits(user=buyer, amount=10**9, reason="bench")
    connections.close_all()

    stop = threading.Event()
    start = threading.Barrier(workers + 1)
    counts = [0] * workers
    failures: list[str] = []

    def worker(n: int) -> None:
        buyer, artist_ids = buyers[n].pk, [a.pk for a in artists]
        done = 0
        try:
            start.wait()
            while not stop.is_set():
                hold = services.reserve(user=buyer, amount=AMOUNT)
                services.capture(hold=hold, artists=[(artist_ids[done % ARTISTS], 1)])
                done += 1
        except Exception as exc:  # reported in the result row
            failures.append(repr(exc))
        finally:
            counts[n] = done
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    pairs = sum(counts)
    report = selectors.check_books()
    connections.close_all()
    row = {
        "benchmark": "ledger hold+capture",
        "db": db,
        "workers": workers,
        "seconds": round(elapsed, 2),
        "pairs": pairs,
        "pairs_per_s": round(pairs / elapsed, 1),
        "check_clean": report.clean and not failures,
    }
    if db == "postgres":
        row["goal"] = ">= 1000 pairs/s"
    if report.problems or failures:
        row["problems"] = (report.problems + failures)[:5]
    return row


def _child(db: str, seconds: float, workers: int) -> dict:
    from tests.bench.child import run_child  # ROOT is on sys.path by now

    result, stderr = run_child(__file__, [db, "--seconds", str(seconds), "--workers", str(workers)])
    if result is None:
        return {
            "benchmark": "ledger hold+capture",
            "db": db,
            "workers": workers,
            "pairs_per_s": 0.0,
            "check_clean": False,
            "problems": [stderr],
        }
    return result


def main(
    seconds: float = 10.0, workers: int = 32, dbs: tuple[str, ...] = ("postgres", "sqlite")
) -> list[dict]:
    """Runs the benchmark on each database; one result dict per database."""
    return [_child(db, seconds, workers) for db in dbs]


def table(rows: list[dict]) -> str:
    lines = [
        "| database | workers | hold+capture pairs/s | ledger check |",
        "|---|---|---|---|",
    ]
    for row in rows:
        check = "clean" if row.get("check_clean") else "FAILED"
        lines.append(f"| {row['db']} | {row['workers']} | {row['pairs_per_s']:,.0f} | {check} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--db", choices=["postgres", "sqlite"], action="append")
    parser.add_argument("--child", choices=["postgres", "sqlite"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_run_one(args.child, args.seconds, args.workers)))
        sys.exit(0)
    results = main(args.seconds, args.workers, tuple(args.db or ("postgres", "sqlite")))
    print(table(results))
    for row in results:
        for problem in row.get("problems") or []:
            print(f"{row['db']}: {problem}", file=sys.stderr)
    sys.exit(0 if all(r.get("check_clean") for r in results) else 1)
