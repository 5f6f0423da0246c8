"""A small keep-alive HTTP/1.1 load generator on asyncio: cheap enough to share 2 cores with
the server under test, and it measures each request's latency itself."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def row(self, name: str) -> dict:
        return {
            "benchmark": name,
            "p50 ms": round(self.percentile(50), 1),
            "p95 ms": round(self.percentile(95), 1),
            "req/s": round(self.rps),
            "errors": self.errors,
            "mean ms": round(statistics.fmean(self.latencies_ms), 1) if self.latencies_ms else 0,
        }


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _connection(host, port, paths, headers, deadline, counter, result) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    try:
        while time.perf_counter() < deadline and counter[0] > 0:
            counter[0] -= 1
            path = paths[counter[0] % len(paths)]
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode())
            status = await _read_response(reader)
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.requests += 1
            if status >= 400:
                result.errors += 1
    finally:
        writer.close()


async def _run(host, port, paths, headers, connections, total, max_seconds) -> LoadResult:
    result = LoadResult(0, 0, 0.0, [])
    counter = [total]
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _connection(host, port, paths, headers, started + max_seconds, counter, result)
            for _ in range(connections)
        )
    )
    result.seconds = time.perf_counter() - started
    return result


def load(
    host: str,
    port: int,
    paths: list[str],
    *,
    headers: dict[str, str],
    connections: int,
    total: int,
    max_seconds: float = 60.0,
    warmup: int = 200,
) -> LoadResult:
    asyncio.run(_run(host, port, paths, headers, min(connections, 10), warmup, max_seconds))
    return asyncio.run(_run(host, port, paths, headers, connections, total, max_seconds))
