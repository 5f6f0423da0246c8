"""Fixed-window rate limits on the shared cache (database cache embedded, Redis distributed).

One limiter serves the API throttles and the HTML forms, so a login form and the login API
share the same budget per IP.
"""

from __future__ import annotations

import re
import time

from django.core.cache import cache

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'5/5m' → (5, 300); '100/m' → (100, 60)."""
    match = _RATE.match(rate or "")
    if not match:
        raise ValueError(f"bad rate {rate!r}")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _SECONDS[unit]


def hit(scope: str, key: str, rate: str) -> int | None:
    """Counts one request; returns the seconds to wait when over the limit, else None."""
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    cache_key = f"rl:{scope}:{key}:{window}"
    if cache.add(cache_key, 1, timeout=period + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.set(cache_key, 1, timeout=period + 1)
            count = 1
    if count > limit:
        return max(1, int((window + 1) * period - now) + 1)
    return None


def client_ip(request) -> str:
    """The client address; behind a proxy, the proxy must be configured to set REMOTE_ADDR."""
    return request.META.get("REMOTE_ADDR", "unknown")
