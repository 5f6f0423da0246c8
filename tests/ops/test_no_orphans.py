"""`stylevault up` as an operator runs it: a worker killed mid-job has its job running again
elsewhere at once (not after its 600 s lease), a SIGKILL of `up` leaves none of its processes
(workers, `serve`, the web processes under it) running, and a new `up` on the same data
directory and port answers at once."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import eventually
from tests.e2e.conftest import free_port
from tests.jobs import process_handlers

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def _env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": "",
        "STYLEVAULT_BROKER_URL": "",
        "STYLEVAULT_REDIS_URL": "",
        "STYLEVAULT_DATA_DIR": str(data_dir),
        "STYLEVAULT_LOG_FORMAT": "text",
        "STYLEVAULT_WEB_PROCESSES": "2",  # up → serve → two web processes: three levels
        "STYLEVAULT_STOP_GRACE_SECONDS": "2",
        "STYLEVAULT_JOB_MODULES": "tests.jobs.process_handlers",
    }


def _stylevault(data_dir: Path, code: str) -> str:
    """Runs Python inside a `stylevault shell` on the data directory; returns what it prints."""
    out = subprocess.run(
        [sys.executable, "-m", "stylevault.cli", "shell", "--no-imports", "-c", code],
        env=_env(data_dir),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


def _start_up(data_dir: Path, port: int, log_name: str) -> subprocess.Popen:
    return _start(data_dir, ["up", "--port", str(port), "--workers", "1"], log_name)


def _start(data_dir: Path, args: list[str], log_name: str) -> subprocess.Popen:
    log = (data_dir / log_name).open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "stylevault.cli", *args],
        env=_env(data_dir),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the cleanup below can reach anything left, whatever happens
    )
    log.close()
    return proc


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _alive(pid: int) -> bool:
    """Running, not a zombie (a container's init may be slow to reap what it inherits)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _job(data_dir: Path, job_id: int) -> tuple[str, str, int]:
    with contextlib.closing(sqlite3.connect(data_dir / "stylevault.sqlite3", timeout=30)) as db:
        return db.execute(
            "SELECT status, worker, attempts FROM jobs_job WHERE id = ?", [job_id]
        ).fetchone()


def _worker_pid(worker: str) -> int:
    return int(worker.split(":")[1])


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def test_a_dead_workers_job_runs_again_at_once_and_sigkill_of_up_leaves_no_process(tmp_path):
    _stylevault(
        tmp_path,
        "from django.core.management import call_command; "
        "call_command('migrate', interactive=False, verbosity=0); "
        "from stylevault.accounts.services import create_user; "
        "create_user(username='operator1', password='correct horse battery 9')",
    )  # not empty: `up` loads no demo (and trains nothing)
    assert (tmp_path / "stylevault.sqlite3").exists()
    port = free_port()
    up = _start_up(tmp_path, port, "up-1.log")
    try:
        eventually(lambda: _answers(port), seconds=90, pause=0.3)
        job_id = int(
            _stylevault(
                tmp_path,
                "import tests.jobs.process_handlers; from stylevault.jobs import services; "
                f"print(services.enqueue(kind={process_handlers.SLOW_LONG_LEASE!r}, "
                "payload={'seconds': 120}).pk)",
            )
        )
        eventually(lambda: _job(tmp_path, job_id)[0] == "running", seconds=60, pause=0.2)
        first_worker = _job(tmp_path, job_id)[1]
        os.kill(_worker_pid(first_worker), signal.SIGKILL)
        killed_at = time.monotonic()

        def runs_elsewhere() -> bool:
            status, worker, _attempts = _job(tmp_path, job_id)
            return status == "running" and worker != first_worker

        # A restart takes 1 s plus Django's start; the lease would hold it for 600 s.
        eventually(runs_elsewhere, seconds=60, pause=0.2)
        assert time.monotonic() - killed_at < 60
        assert _job(tmp_path, job_id)[2] == 2, "the killed attempt counts"
        assert "exited holding jobs" in (tmp_path / "up-1.log").read_text()

        tree = _descendants(up.pid)
        assert len(tree) >= 4, f"up, serve, 2 web processes and a worker: {tree}"
        up.send_signal(signal.SIGKILL)
        up.wait(timeout=10)
        eventually(lambda: not any(_alive(pid) for pid in tree), seconds=20, pause=0.2)
        assert not _answers(port)
    finally:
        _kill_group(up)

    # The same data directory and port, at once: nothing is left holding either.
    again = _start_up(tmp_path, port, "up-2.log")
    try:
        eventually(lambda: _answers(port), seconds=90, pause=0.3)
        assert again.poll() is None
        # The job the SIGTERMed worker handed back runs again under the new `up`.
        eventually(lambda: _job(tmp_path, job_id)[0] == "running", seconds=60, pause=0.2)
        tree = _descendants(again.pid)
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=30) == 0
        assert not any(_alive(pid) for pid in tree)
    finally:
        _kill_group(again)


def test_stopping_serve_ends_open_event_streams_within_the_grace(tmp_path):
    token, generation = _stylevault(
        tmp_path,
        "from django.core.management import call_command; "
        "call_command('migrate', interactive=False, verbosity=0); "
        "from stylevault.accounts.services import create_token, create_user; "
        "from stylevault.generation.models import Generation; "
        "from stylevault.jobs.models import Job; "
        "user = create_user(username='watcher', password='correct horse battery 9'); "
        "token = create_token(user=user, name='sse')[1]; "
        "job = Job.objects.create(kind='generation', queue='generation'); "
        "g = Generation.objects.create(owner=user, steps=4, cost=1, seed=1, render_key='k', "
        "request_hash='h', job=job); "
        "print(token, g.pk)",  # queued, and no worker runs: its stream stays open
    ).split()
    port = free_port()
    serve = _start(tmp_path, ["serve", "--port", str(port), "--processes", "2"], "serve.log")
    streams = []
    try:
        eventually(lambda: _answers(port), seconds=90, pause=0.3)
        for _ in range(4):
            client = socket.create_connection(("127.0.0.1", port), timeout=30)
            client.sendall(
                f"GET /api/v1/generations/{generation}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\n\r\n".encode()
            )
            assert b"text/event-stream" in client.recv(4096)
            streams.append(client)
        stopped = time.monotonic()
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0
        took = time.monotonic() - stopped
        # STYLEVAULT_STOP_GRACE_SECONDS=2: the streams are cut after it, not after an hour.
        assert took < 2 + 4, f"stopped after {took:.1f} s"
        for client in streams:
            client.settimeout(5)
            with contextlib.suppress(ConnectionResetError):
                while client.recv(4096):
                    pass  # the rest of the stream, then its end
    finally:
        for client in streams:
            client.close()
        _kill_group(serve)
