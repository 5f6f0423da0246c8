"""Issue 21 under load, on `stylevault serve` (embedded mode, one process):

- eight anonymous verify uploads at once, each a PNG of 6300×6300 (just under the 40 MP
  cap): the web process's peak resident memory above its idle level, and /healthz p95
  meanwhile (goal: < 600 MB added, p95 < 100 ms);
- a 500 MB body announced by its Content-Length: the time from the end of the headers to
  the 413 (goal: < 50 ms).
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.security.conftest import _environment, png_bytes, serve  # noqa: E402

MIGRATE = (
    "import django; django.setup(); from django.core.management import call_command;"
    "call_command('migrate', verbosity=0); call_command('createcachetable', verbosity=0)"
)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def _verify_burst(live, picture: bytes, uploads: int) -> dict:
    import httpx

    idle_kb = live.rss_kb()
    health: list[float] = []
    done = threading.Event()

    def probe() -> None:
        with httpx.Client() as client:
            while not done.is_set():
                started = time.perf_counter()
                client.get(f"{live.url}/healthz", timeout=30)
                health.append(time.perf_counter() - started)
                time.sleep(0.02)

    def verify(n: int) -> int:
        files = {"image": (f"cap{n}.png", picture, "image/png")}
        return httpx.post(f"{live.url}/api/v1/verify", files=files, timeout=300).status_code

    prober = threading.Thread(target=probe)
    prober.start()
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(uploads) as pool:
            statuses = list(pool.map(verify, range(uploads)))
    finally:
        done.set()
        prober.join()
    return {
        "benchmark": f"{uploads} parallel anonymous verify uploads at the pixel cap (6300×6300)",
        "statuses": sorted(set(statuses)),
        "seconds": round(time.perf_counter() - started, 2),
        "peak MB added": round((live.rss_kb("VmHWM") - idle_kb) / 1024),
        "MB held after": round((live.rss_kb() - idle_kb) / 1024),
        "healthz p95 ms": round(_p95(health) * 1000, 1),
        "healthz max ms": round(max(health) * 1000, 1),
        "goal": "< 600 MB added, /healthz p95 < 100 ms",
    }


def _time_to_413(port: int, tries: int) -> dict:
    head = (
        "POST /api/v1/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {500 * 1024 * 1024}\r\n\r\n"
    ).encode()
    seconds, first = [], b""
    for _ in range(tries):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(head)
            started = time.perf_counter()
            first = sock.recv(64)
            seconds.append(time.perf_counter() - started)
    return {
        "benchmark": "500 MB body: headers to 413",
        "status": first.split(b"\r\n")[0].decode(),
        "median ms": round(statistics.median(seconds) * 1000, 2),
        "max ms": round(max(seconds) * 1000, 2),
        "goal": "< 50 ms",
    }


def main(uploads: int = 8, tries: int = 20) -> list[dict]:
    picture = png_bytes(6300, 6300)
    with tempfile.TemporaryDirectory() as where:
        seed = Path(where) / "seed"
        seed.mkdir()
        subprocess.run(
            [sys.executable, "-c", MIGRATE], env=_environment(seed), cwd=ROOT, check=True
        )
        with serve((seed, {}), Path(where)) as live:
            return [_verify_burst(live, picture, uploads), _time_to_413(live.port, tries)]


if __name__ == "__main__":
    from tests.bench.run import print_table

    print_table(main())
