"""`stylevault serve --processes N`: each process listens on a socket of its own, so a burst
of connections is spread over all of them; one that dies is replaced on the same port."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def _serve(tmp_path, port: int, processes: int = 2) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": "", "STYLEVAULT_DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "stylevault.cli", "serve", "--port", str(port)]
    return subprocess.Popen(
        [*cmd, "--processes", str(processes)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _healthy(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def _wait_until(check, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(0.2)


def _holders(port: int) -> Counter:
    """Open connections to the port, by the process id that holds their server side."""
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"sport = :{port}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return Counter(re.findall(r"pid=(\d+)", out))


@pytest.fixture
def server(tmp_path):
    port = free_port()
    proc = _serve(tmp_path, port)
    try:
        _wait_until(lambda: _healthy(port))
        yield port, proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_a_burst_of_connections_is_spread_over_the_processes(server):
    port, _proc = server
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(60)]
    try:
        for client in clients:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for client in clients:
            assert client.recv(64).startswith(b"HTTP/1.1 200")
        held = _holders(port)
    finally:
        for client in clients:
            client.close()
    assert sum(held.values()) == 60 and len(held) == 2
    assert min(held.values()) >= 15, f"spread unevenly: {sorted(held.values())}"


def test_a_process_that_dies_is_replaced_on_the_same_port(server):
    port, proc = server
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert client.recv(64).startswith(b"HTTP/1.1 200")
        (victim,) = _holders(port)
    os.kill(int(victim), signal.SIGKILL)
    _wait_until(lambda: len(_listeners(port)) == 2 and victim not in _listeners(port))
    assert all(_healthy(port) for _ in range(20))
    assert proc.poll() is None


def _listeners(port: int) -> set[str]:
    out = subprocess.run(
        ["ss", "-tlnpH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return set(re.findall(r"pid=(\d+)", out))


def test_a_port_in_use_is_reported_in_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = _serve(tmp_path, taken.getsockname()[1])
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "Cannot listen on 127.0.0.1:" in err and "Traceback" not in err
