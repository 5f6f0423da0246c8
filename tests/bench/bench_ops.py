"""Operations: the distributed topology (scripts/distributed.py: PostgreSQL, RabbitMQ, Redis,
S3, 2 web processes, 2 workers) against the embedded one (`stylevault up --workers 2`,
SQLite) in the same run: generations per second and platform overhead per image (end to end
minus render, queue wait included, from the database's own timestamps), and the time from a
SIGKILL of the worker rendering a generation to that generation running again elsewhere.

Each topology trains its own demo style first (minutes on a busy machine; not timed).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
GENERATIONS = 8
BUYERS = 4  # a tier runs one job at a time per buyer: several, so both workers are busy
PASSWORD = "correct horse battery 9"
LEASE_SECONDS = 120  # the generation kind's lease: what recovery would take without hand-back
PG = "postgres://postgres@127.0.0.1:5432"
ENV = {
    "STYLEVAULT_LOG_FORMAT": "text",
    "STYLEVAULT_RATE_API": "100000/m",
    "STYLEVAULT_RATE_GENERATION": "100000/m",
    "STYLEVAULT_TRAINING": '{"steps": 6, "rank": 4, "resolution": 64, "learning_rate": 0.01}',
    "STYLEVAULT_STYLE_CHECKS": '{"reference_steps": 2, "reference_size": 64}',
    "STYLEVAULT_STOP_GRACE_SECONDS": "3",
}
# (created, finished, engine seconds) of finished generation jobs, oldest first.
TIMES_PG = """SELECT extract(epoch FROM created_at), extract(epoch FROM finished_at),
    (result->>'engine_seconds')::float FROM jobs_job
    WHERE kind = 'generation' AND status = 'succeeded' ORDER BY id"""
TIMES_SQLITE = """SELECT strftime('%s', created_at) + (strftime('%f', created_at) % 1),
    strftime('%s', finished_at) + (strftime('%f', finished_at) % 1),
    json_extract(result, '$.engine_seconds') FROM jobs_job
    WHERE kind = 'generation' AND status = 'succeeded' ORDER BY id"""
RUNNING = "SELECT id, worker FROM jobs_job WHERE kind = 'generation' AND status = 'running'"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(check: Callable[[], object], seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def _style(url: str) -> dict | None:
    with contextlib.suppress(httpx.HTTPError, ValueError, KeyError, IndexError):
        return httpx.get(f"{url}/api/v1/styles", params={"q": "Ink Hills"}, timeout=5).json()[
            "results"
        ][0]
    return None


def _buyer(url: str, username: str) -> dict:
    with httpx.Client(base_url=url, timeout=30) as client:
        client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        ).raise_for_status()
        made = client.post(
            "/api/v1/auth/tokens",
            json={"name": "bench"},
            headers={"X-CSRFToken": client.cookies.get("csrftoken", ""), "Referer": url},
        )
        return {"Authorization": f"Bearer {made.json()['token']}"}


def _generate(url: str, buyers: list[dict], style: dict, n: int, steps: int) -> list[int]:
    ids = []
    for i in range(n):
        body = {"styles": [{"id": style["id"], "weight": 1}], "prompt": f"bench {i}"}
        made = httpx.post(
            f"{url}/api/v1/generations",
            json={**body, "steps": steps},
            headers=buyers[i % len(buyers)],
            timeout=30,
        )
        made.raise_for_status()
        ids.append(made.json()["id"])
    return ids


def _all_done(url: str, buyers: list[dict], ids: list[int]) -> bool:
    with contextlib.suppress(httpx.HTTPError, ValueError):
        statuses = [
            httpx.get(
                f"{url}/api/v1/generations/{i}", headers=buyers[n % len(buyers)], timeout=10
            ).json()["status"]
            for n, i in enumerate(ids)
        ]
        return all(s not in ("queued", "running") for s in statuses)
    return False


def _measure(
    name: str, url: str, query: Callable[[str], list[tuple]], times_sql: str, env: dict
) -> list:
    _wait(lambda: _style(url), 900, "the demo style")
    for n in range(BUYERS):
        command = [sys.executable, "-m", "stylevault.cli", "createuser", f"bench{n}"]
        command += ["--password", PASSWORD, "--credits", "1000"]
        subprocess.run(
            command,
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    buyers, style = [_buyer(url, f"bench{n}") for n in range(BUYERS)], _style(url)
    ids = _generate(url, buyers, style, GENERATIONS, steps=4)
    _wait(lambda: _all_done(url, buyers, ids), 600, "the generations")
    rows = [tuple(map(float, row)) for row in query(times_sql)][-GENERATIONS:]
    span = max(r[1] for r in rows) - min(r[0] for r in rows)
    overheads = [(finished - created - engine) * 1000 for created, finished, engine in rows]
    print(f"{name}: {len(rows)} generations over {span:.1f} s", file=sys.stderr, flush=True)
    results = [
        {
            "benchmark": f"ops {name}: generations end to end",
            "generations": len(rows),
            "generations_per_s": round(len(rows) / span, 3),
            "overhead_incl_queue_wait_p50_ms": round(statistics.median(overheads), 1),
            "goal": "distributed overhead within a few hundred ms of embedded",
        }
    ]
    # A long render, its worker SIGKILLed: how soon does it run again on another worker?
    (victim,) = _generate(url, buyers[:1], style, 1, steps=30)  # within every tier's max
    job, worker = _wait(lambda: query(RUNNING), 300, "the render to start")[0]
    os.kill(int(worker.split(":")[1]), signal.SIGKILL)
    killed = time.monotonic()
    _wait(
        lambda: any(j == job and w != worker for j, w in query(RUNNING)),
        LEASE_SECONDS + 60,
        "the job to run elsewhere",
    )
    results.append(
        {
            "benchmark": f"ops {name}: SIGKILL of a worker → its job running elsewhere",
            "seconds": round(time.monotonic() - killed, 2),
            "goal": f"≤ lease + 5 s = {LEASE_SECONDS + 5} s",
        }
    )
    _wait(lambda: _all_done(url, buyers[:1], [victim]), 600, "the killed generation")
    return results


def _pg_query(database_url: str) -> Callable[[str], list[tuple]]:
    def query(sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(database_url, autocommit=True) as conn:
            return conn.execute(sql).fetchall()

    return query


def _sqlite_query(path: Path) -> Callable[[str], list[tuple]]:
    def query(sql: str) -> list[tuple]:
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
            return db.execute(sql).fetchall()

    return query


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main() -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix="sv-bench-ops-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith("STYLEVAULT_")}
    results = []

    port, name = _free_port(), f"sv_bench_ops_{uuid.uuid4().hex[:6]}"
    command = [sys.executable, "scripts/distributed.py", "--port", str(port), "--name", name]
    command += ["--data-dir", str(tmp / "distributed")]
    distributed = _start(
        command,
        {**base, **ENV, "DATABASE_URL": ""},
        tmp / "distributed.log",
    )
    try:
        url = f"http://127.0.0.1:{port}"
        env = {
            **base,
            "DATABASE_URL": f"{PG}/{name}",
            "STYLEVAULT_DATA_DIR": str(tmp / "distributed"),
        }
        results += _measure("distributed", url, _pg_query(f"{PG}/{name}"), TIMES_PG, env)
    finally:
        _stop(distributed)  # drops its database

    port, data = _free_port(), tmp / "embedded"
    env = {**base, "DATABASE_URL": "", "STYLEVAULT_DATA_DIR": str(data)}
    embedded = _start(
        [sys.executable, "-m", "stylevault.cli", "up", "--port", str(port), "--workers", "2"],
        {**env, **ENV},
        tmp / "embedded.log",
    )
    try:
        url = f"http://127.0.0.1:{port}"
        query = _sqlite_query(data / "stylevault.sqlite3")
        results += _measure("embedded", url, query, TIMES_SQLITE, env)
    finally:
        _stop(embedded)
    return results


if __name__ == "__main__":
    for row in main():
        print(row)
