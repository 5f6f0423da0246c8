"""`stylevault serve --processes N`: each process accepts on a listening socket of its own, so
a burst of connections is spread over all of them; one that dies is replaced, one that cannot
start stops the server, and stopping the parent stops them all."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from stylevault.ops import processes
from tests.conftest import eventually
from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not shutil.which("ss") or not hasattr(socket, "SO_REUSEPORT"),
    reason="needs Linux's SO_REUSEPORT and `ss` (iproute2)",
)
PROCESSES = ("--processes", "2")
HEALTH = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


class Server:
    def __init__(self, tmp_path, port: int, **env: str) -> None:
        self.port, self.log = port, tmp_path / "serve.log"
        env = {**os.environ, "DATABASE_URL": "", "STYLEVAULT_DATA_DIR": str(tmp_path), **env}
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "stylevault.cli", "serve", "--port", str(port), *PROCESSES],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def children(self) -> set[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return {int(pid) for pid in out.stdout.split()}

    def kill_everything(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


def _answered(port: int, connections: int = 20, seconds: float = 3.0) -> bool:
    """Fresh connections each get an answer within `seconds` (one hashed to a process still
    starting waits for it)."""
    clients = []
    try:
        for _ in range(connections):
            client = socket.create_connection(("127.0.0.1", port), timeout=seconds)
            clients.append(client)
            client.sendall(HEALTH)
        return all(client.recv(64).startswith(b"HTTP/1.1 200") for client in clients)
    except OSError:
        return False
    finally:
        for client in clients:
            client.close()


def _holders(port: int) -> Counter:
    """Open connections to the port, by the process that accepted them."""
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"sport = :{port}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return Counter(int(pid) for pid in re.findall(r"pid=(\d+)", out))


@pytest.fixture
def server(tmp_path):
    server = Server(tmp_path, free_port())
    try:
        eventually(lambda: _answered(server.port), seconds=60, pause=0.2)
        yield server
    finally:
        server.kill_everything()


def test_a_burst_of_connections_is_spread_over_the_processes(server):
    clients = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(60)]
    try:
        for client in clients:
            client.sendall(HEALTH)
        for client in clients:
            assert client.recv(64).startswith(b"HTTP/1.1 200")
        held = _holders(server.port)
    finally:
        for client in clients:
            client.close()
    assert sum(held.values()) == 60 and set(held) == server.children()
    assert min(held.values()) >= 15, f"spread unevenly: {sorted(held.values())}"


def test_a_process_that_dies_is_replaced_and_its_waiting_connections_served(server):
    (victim, survivor) = sorted(server.children())
    os.kill(victim, signal.SIGKILL)
    # Its replacement starts after a second, then loads Django (seconds on a busy machine).
    assert _answered(server.port, connections=40, seconds=60), "they wait for its heir"
    assert server.children() - {survivor} and victim not in server.children()
    assert server.proc.poll() is None
    assert "restarting" in server.log.read_text()


def test_stopping_the_parent_stops_every_process_without_restarts(server):
    children = server.children()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=30) == 0
    eventually(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children), 15, 0.2)
    assert "restarting" not in server.log.read_text()


def test_a_process_that_cannot_start_stops_the_server(tmp_path):
    """Each process dies at start (a bad setting): after a few quick restarts, not forever."""
    server = Server(tmp_path, free_port(), STYLEVAULT_WEB_THREADS="many")
    try:
        assert server.proc.wait(timeout=120) != 0
    finally:
        server.kill_everything()
    log = server.log.read_text()
    assert "cannot start" in log and log.count("restarting") <= 2 * (processes.YOUNG_DEATHS - 1)


def test_a_port_in_use_is_reported_in_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = Server(tmp_path, taken.getsockname()[1])
        assert server.proc.wait(timeout=60) != 0
    log = server.log.read_text()
    assert "Cannot listen on 127.0.0.1:" in log and "Traceback" not in log


def test_a_second_server_cannot_share_the_port(server, tmp_path):
    (tmp_path / "second").mkdir()
    second = Server(tmp_path / "second", server.port)
    try:
        assert second.proc.wait(timeout=60) != 0
    finally:
        second.kill_everything()
    assert "Cannot listen on" in second.log.read_text()
