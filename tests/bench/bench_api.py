"""GET /api/v1/me with a bearer token at 50 concurrent connections on `stylevault serve`.

Goal (issue 2): p95 ≤ 50 ms on the 2-core machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.httpload import load  # noqa: E402
from tests.e2e.conftest import free_port  # noqa: E402


def _prepare(env: dict[str, str]) -> str:
    """Migrates the bench database and returns a fresh token (in a child, with its env)."""
    script = (
        "import django; django.setup();"
        "from django.core.management import call_command;"
        "call_command('migrate', verbosity=0); call_command('createcachetable', verbosity=0);"
        "from stylevault.accounts import services;"
        "u = services.create_user(username='bench', password='correct horse battery 9');"
        "print(services.create_token(user=u, name='bench')[1])"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "DJANGO_SETTINGS_MODULE": "stylevault.settings"},
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return out.stdout.strip().splitlines()[-1]


def _wait(port: int, server: subprocess.Popen) -> None:
    import httpx

    for _ in range(200):
        if server.poll() is not None:
            raise RuntimeError("server exited")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


PG_BENCH = "postgres://postgres@127.0.0.1:5432/stylevault_bench_api"
MODES = {
    # name: (environment, web processes)
    "embedded: SQLite, 2 processes": ({"DATABASE_URL": ""}, 2),
    "distributed: PostgreSQL + Redis, 2 processes": (
        {"DATABASE_URL": PG_BENCH, "STYLEVAULT_REDIS_URL": "redis://127.0.0.1:6379/14"},
        2,
    ),
}


def _fresh_postgres() -> None:
    subprocess.run(
        ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "stylevault_bench_api"],
        check=True,
    )
    subprocess.run(
        ["createdb", "-h", "127.0.0.1", "-U", "postgres", "stylevault_bench_api"], check=True
    )


def main(connections: int = 50, total: int = 6000) -> list[dict]:
    rows = []
    for name, (mode_env, processes) in MODES.items():
        if mode_env["DATABASE_URL"]:
            _fresh_postgres()
        result = _run(mode_env, processes, connections, total)
        row = result.row(f"GET /api/v1/me, token, {connections} conns, {name}")
        row["goal"] = "p95 ≤ 50 ms"
        rows.append(row)
    return rows


def _run(mode_env: dict, processes: int, connections: int, total: int):
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "STYLEVAULT_DATA_DIR": data_dir,
            "STYLEVAULT_LOG_FORMAT": "text",
            "STYLEVAULT_RATE_API": "1000000/m",
            **mode_env,
        }
        token = _prepare(env)
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stylevault.cli",
                "serve",
                "--port",
                str(port),
                "--processes",
                str(processes),
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(port, server)
            result = load(
                "127.0.0.1",
                port,
                ["/api/v1/me"],
                headers={"Authorization": f"Bearer {token}"},
                connections=connections,
                total=total,
            )
        finally:
            server.terminate()
            server.wait(timeout=20)
    return result


if __name__ == "__main__":
    from tests.bench.run import print_table

    print_table(main())
