"""Prometheus metrics. Per process; scrape every web and worker process (see docs/operations.md)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

http_requests = Counter(
    "stylevault_http_requests_total",
    "HTTP requests answered, by method and status class.",
    ["method", "status"],
    registry=REGISTRY,
)
http_errors = Counter(
    "stylevault_http_errors_total", "Responses with status 500 or above.", registry=REGISTRY
)
http_latency = Histogram(
    "stylevault_http_request_seconds",
    "Time to answer an HTTP request.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)

_collectors: list = []


def register_collector(collector) -> None:
    """Other apps add gauges computed at scrape time (queue depth, credits moved...)."""
    REGISTRY.register(collector)
    _collectors.append(collector)


def render() -> bytes:
    return generate_latest(REGISTRY)
