"""Counts requests and their latency; cheaper drop-ins for two middleware of the chain."""

from __future__ import annotations

import functools
import time
from dataclasses import asdict

from csp import middleware as csp
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.utils import build_policy
from django.conf import settings
from django.contrib.messages import middleware as messages
from django.contrib.messages.storage import default_storage
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import SimpleLazyObject, empty

from stylevault.core import metrics


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


# Response attributes through which a view asks django-csp for a policy of its own.
_PER_VIEW_POLICY = (
    *("_csp_config", "_csp_update", "_csp_replace", "_csp_exempt"),
    *("_csp_config_ro", "_csp_update_ro", "_csp_replace_ro", "_csp_exempt_ro"),
)


@functools.cache
def _site_policy() -> tuple[tuple[str, str], ...]:
    """The site-wide (header, policy) pairs: the same for every response without a nonce or
    a policy of its own, so they are built once (building them was 7% of an API request)."""
    parts = asdict(csp.PolicyParts())
    pairs = (
        (HEADER, build_policy(**parts)),
        (HEADER_REPORT_ONLY, build_policy(**parts, report_only=True)),
    )
    return tuple((header, policy) for header, policy in pairs if policy)


@receiver(setting_changed)
def _forget_site_policy(*, setting: str, **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _site_policy.cache_clear()


def _excluded(request, setting: str) -> bool:
    prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
    return request.path_info.startswith(tuple(prefixes))


class CSPMiddleware(csp.CSPMiddleware):
    """django-csp, with the site-wide policy built once instead of for every response."""

    def process_response(self, request, response):
        if (
            settings.DEBUG
            or getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _PER_VIEW_POLICY)
        ):
            return super().process_response(request, response)
        for header, policy in _site_policy():
            setting = "CONTENT_SECURITY_POLICY" + ("_REPORT_ONLY" if header != HEADER else "")
            if header not in response and not _excluded(request, setting):
                response[header] = policy
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = csp.CheckableLazyObject(self._csp_nonce_post_response)
        return response


class MessageMiddleware(messages.MessageMiddleware):
    """Django's messages, with the storage made on first use: an API request never uses it,
    and making it (two cookie signers) was 3% of one."""

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        stored = getattr(request, "_messages", None)
        if isinstance(stored, SimpleLazyObject) and stored._wrapped is empty:
            return response
        return super().process_response(request, response)
