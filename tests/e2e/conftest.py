"""A real `stylevault up` on a fresh data directory, driven over HTTP and by Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server_url(tmp_path_factory):
    """Starts the product the way a newcomer does, on SQLite, and stops it afterwards."""
    data_dir = tmp_path_factory.mktemp("live")
    port = free_port()
    env = {
        **os.environ,
        "STYLEVAULT_DATA_DIR": str(data_dir),
        "DATABASE_URL": "",
        "STYLEVAULT_LOG_FORMAT": "text",
        # One budget for every e2e test from 127.0.0.1, schemathesis's fuzzed log-ins included
        # (the limit itself is tested in tests/accounts and tests/ops/test_ratelimit.py).
        "STYLEVAULT_RATE_LOGIN": "5000/5m",
        "STYLEVAULT_RATE_LOGIN_ACCOUNT": "5000/15m",
        "STYLEVAULT_RATE_API": "100000/m",
        # The demo style `up` loads into the empty database trains in seconds, not a minute.
        "STYLEVAULT_TRAINING": '{"steps": 8, "rank": 4, "resolution": 64, "learning_rate": 0.01}',
        "STYLEVAULT_STYLE_CHECKS": '{"reference_steps": 3, "reference_size": 64}',
    }
    log = (data_dir / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "stylevault.cli", "up", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
        if server.poll() is not None:
            raise RuntimeError((data_dir / "server.log").read_text())
    else:
        server.kill()
        raise RuntimeError("stylevault up did not answer in 120 s")
    yield url
    server.terminate()
    server.wait(timeout=20)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path("/usr/bin/chromium").exists():
        pytest.fail("Debian's chromium is missing: run scripts/ensure-chromium.sh (make test does)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"), full_page=True)
    context.close()
