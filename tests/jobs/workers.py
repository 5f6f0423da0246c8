"""Real worker processes against the test database, for the chaos and broker tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The test database as a URL for child processes (they are not in test mode)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        f"{db['NAME']}"
    )


def worker_env(*, broker_url: str = "", redis_url: str = "") -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        STYLEVAULT_DATA_DIR=str(settings.DATA_DIR),
        STYLEVAULT_BROKER_URL=broker_url,
        STYLEVAULT_REDIS_URL=redis_url,
        STYLEVAULT_LOG_FORMAT="text",
        PYTHONUNBUFFERED="1",
    )
    return env


class WorkerPool:
    """Starts, kills and restarts `stylevault worker` processes; logs go to one folder."""

    def __init__(self, *, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.args, self.env, self.log_dir = args, env, log_dir
        self.procs: list[subprocess.Popen] = []
        self.started_at: dict[int, float] = {}
        self._spawned = 0
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self) -> subprocess.Popen:
        self._spawned += 1
        log = (self.log_dir / f"worker-{self._spawned}.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "stylevault.cli", "worker", *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs.append(proc)
        self.started_at[proc.pid] = time.monotonic()
        return proc

    def alive(self) -> list[subprocess.Popen]:
        return [p for p in self.procs if p.poll() is None]

    def kill(self, proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        for proc in self.alive():
            proc.terminate()
        deadline = time.monotonic() + 15
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def logs_tail(self, chars: int = 4000) -> str:
        text = "".join(
            f"--- {p.name}\n{p.read_text()[-chars // 4 :]}"
            for p in sorted(self.log_dir.glob("*.log"))[-4:]
        )
        return text[-chars:]
