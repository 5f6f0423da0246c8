"""Health, readiness and metrics endpoints (API.md §Health)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from stylevault.core import metrics
from stylevault.core.api import inline

log = logging.getLogger(__name__)


@inline()  # no turn to wait for: busy request threads never delay it
@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # any driver error means "not ready"
        log.warning("readiness: database unreachable", exc_info=True)
        return False


def _broker_ok() -> bool:
    if not settings.STYLEVAULT_BROKER_URL:
        return True
    # kombu is needed only when a broker is configured.
    from kombu import Connection

    try:
        with Connection(settings.STYLEVAULT_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:  # any transport error means "not ready"
        log.warning("readiness: broker unreachable", exc_info=True)
        return False


@never_cache
def readyz(request):
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    ready = all(checks.values())
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)


@never_cache
def metrics_view(request):
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")
