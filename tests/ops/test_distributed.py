"""The distributed topology as an operator deploys it (scripts/distributed.py: PostgreSQL,
RabbitMQ, Redis, an S3 server, 2 web processes, 2 workers), driven over HTTP while a worker
and a web process are SIGKILLed mid-run: every generation ends once, every image comes back
from S3 (nothing in local media), the books and the provenance log check clean, and a SIGKILL
of the launcher leaves no process behind. Runs in the PostgreSQL phase of `make test`."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.conftest import eventually
from tests.e2e.conftest import free_port
from tests.ops.test_no_orphans import _alive, _descendants

ROOT = Path(__file__).resolve().parents[2]
GENERATIONS = 4  # two buyers, two each: a tier runs one job at a time per buyer
DEMO_PASSWORD = "stylevault-demo"
SECOND_PASSWORD = "correct horse battery 9"
pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the PostgreSQL phase of `make test` runs it (it needs RabbitMQ and Redis too)",
)


@pytest.fixture
def topology(tmp_path):
    name = f"sv_ops_dist_{uuid.uuid4().hex[:8]}"
    pg = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STYLEVAULT_")},
        "STYLEVAULT_LOG_FORMAT": "text",
        "STYLEVAULT_STOP_GRACE_SECONDS": "3",
        "STYLEVAULT_RATE_API": "100000/m",
        "STYLEVAULT_RATE_GENERATION": "1000/m",
        # The demo style trains in seconds on the tiny model, not a minute.
        "STYLEVAULT_TRAINING": '{"steps": 6, "rank": 4, "resolution": 64, "learning_rate": 0.01}',
        "STYLEVAULT_STYLE_CHECKS": '{"reference_steps": 2, "reference_size": 64}',
    }
    log = (tmp_path / "distributed.log").open("w")
    launcher = subprocess.Popen(
        [
            sys.executable,
            "scripts/distributed.py",
            *("--port", str(port), "--name", name, "--pg", pg),
            *("--data-dir", str(tmp_path / "data"), "--redis", "redis://127.0.0.1:6379/11"),
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    topology = {
        "url": f"http://127.0.0.1:{port}",
        "launcher": launcher,
        "data_dir": tmp_path / "data",
        "log": tmp_path / "distributed.log",
        "database_url": f"{pg}/{name}",
    }
    try:
        yield topology
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait(timeout=30)
        subprocess.run(
            ["psql", f"{pg}/postgres", "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
            capture_output=True,
        )
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], capture_output=True)


def _log(topology) -> str:
    return topology["log"].read_text()[-6000:]


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _token(url: str, username: str, password: str = DEMO_PASSWORD) -> dict:
    with httpx.Client(base_url=url, timeout=30) as client:
        login = client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert login.status_code == 200, login.text
        made = client.post(
            "/api/v1/auth/tokens",
            json={"name": "distributed"},
            headers={"X-CSRFToken": client.cookies.get("csrftoken", ""), "Referer": url},
        )
        assert made.status_code == 201, made.text
        return {"Authorization": f"Bearer {made.json()['token']}"}


def _published_style(url: str) -> dict | None:
    try:
        found = httpx.get(f"{url}/api/v1/styles", params={"q": "Ink Hills"}, timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return None
    return found["results"][0] if found.get("results") else None


def _sql(database_url: str, query: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(query).fetchall()


def _stylevault(topology, *args: str) -> subprocess.CompletedProcess:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STYLEVAULT_")},
        "DATABASE_URL": topology["database_url"],
        "STYLEVAULT_DATA_DIR": str(topology["data_dir"]),
    }
    return subprocess.run(
        [sys.executable, "-m", "stylevault.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _web_processes(launcher_pid: int) -> list[int]:
    return sorted(
        pid
        for pid in _descendants(launcher_pid)
        if b"--socket-fd" in Path(f"/proc/{pid}/cmdline").read_bytes()
    )


def test_generations_survive_sigkills_in_the_distributed_topology(topology):
    url, launcher = topology["url"], topology["launcher"]
    eventually(lambda: _answers(url) or launcher.poll() is not None, seconds=120, pause=0.5)
    assert launcher.poll() is None, _log(topology)
    eventually(lambda: _published_style(url) is not None, seconds=400, pause=1)
    style = _published_style(url)
    made_user = _stylevault(
        topology, "createuser", "buyer2", "--password", SECOND_PASSWORD, "--credits", "200"
    )
    assert made_user.returncode == 0, made_user.stderr
    buyers = [_token(url, "demo-buyer"), _token(url, "buyer2", SECOND_PASSWORD)]
    before = [httpx.get(f"{url}/api/v1/wallet", headers=b).json() for b in buyers]

    made = []  # (buyer's headers, generation)
    for n in range(GENERATIONS):
        buyer = buyers[n % 2]
        body = {"styles": [{"id": style["id"], "weight": 1}], "prompt": f"a harbour, {n}"}
        created = httpx.post(
            f"{url}/api/v1/generations", json={**body, "steps": 6}, headers=buyer, timeout=30
        )
        assert created.status_code == 202, created.text
        made.append((buyer, created.json()))

    database = topology["database_url"]
    running = "SELECT worker FROM jobs_job WHERE kind = 'generation' AND status = 'running'"
    eventually(lambda: _sql(database, running), seconds=120, pause=0.1)
    os.kill(int(_sql(database, running)[0][0].split(":")[1]), signal.SIGKILL)
    os.kill(_web_processes(launcher.pid)[0], signal.SIGKILL)

    def finished() -> list[dict] | None:
        try:
            found = [
                httpx.get(f"{url}/api/v1/generations/{g['id']}", headers=b, timeout=10).json()
                for b, g in made
            ]
        except (httpx.HTTPError, ValueError):
            return None
        return found if all(g["status"] not in ("queued", "running") for g in found) else None

    eventually(lambda: finished() is not None, seconds=300, pause=1)
    done = finished()
    assert [g["status"] for g in done] == ["succeeded"] * GENERATIONS, done
    assert "exited holding jobs" in _log(topology), "the killed worker's job was handed back"

    for (buyer, _made), generation in zip(made, done, strict=True):
        for image in generation["images"]:
            file = httpx.get(f"{url}{image['url']}", headers=buyer, timeout=30)
            assert file.status_code == 200
            assert Image.open(io.BytesIO(file.content)).size == (image["width"], image["height"])
    media = topology["data_dir"] / "media"
    assert not media.exists() or not any(media.rglob("*.*")), "images live in S3 only"
    stored = _sql(database, "SELECT COUNT(*) FROM generation_image")[0][0]
    assert stored == sum(len(g["images"]) for g in done)

    for n, buyer in enumerate(buyers):
        after = httpx.get(f"{url}/api/v1/wallet", headers=buyer).json()
        cost = sum(g["cost"] for b, g in made if b is buyer)
        assert after == {"balance": before[n]["balance"] - cost, "held": 0, "debt": 0}, (
            "each paid once"
        )
    books = _stylevault(topology, "ledger", "check")
    assert books.returncode == 0, books.stdout + books.stderr
    log = _stylevault(topology, "provenance", "verify")
    assert log.returncode == 0 and "provenance verify OK" in log.stdout, log.stdout + log.stderr

    tree = _descendants(launcher.pid)
    launcher.send_signal(signal.SIGKILL)
    launcher.wait(timeout=10)
    eventually(lambda: not any(_alive(pid) for pid in tree), seconds=60, pause=0.5)
