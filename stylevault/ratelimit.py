"""Fixed-window rate limits shared by every process: Redis INCR in distributed mode, one
atomic UPSERT on the database in embedded mode.

One limiter serves the API throttles and the HTML forms, so a login form and the login API
share the same budget per IP.
"""

from __future__ import annotations

import functools
import re
import time

from django.conf import settings
from django.db import connection

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# Counts in the current window; a new window restarts at 1. Valid on SQLite ≥ 3.35 and PostgreSQL.
_UPSERT = (
    "INSERT INTO ops_ratecounter (key, slot, count) VALUES (%s, %s, 1) "
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN ops_ratecounter.slot = excluded.slot "
    "THEN ops_ratecounter.count + 1 ELSE 1 END, slot = excluded.slot "
    "RETURNING count"
)


def parse_rate(rate: str) -> tuple[int, int]:
    """'5/5m' → (5, 300); '100/m' → (100, 60)."""
    match = _RATE.match(rate or "")
    if not match:
        raise ValueError(f"bad rate {rate!r}")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _SECONDS[unit]


# One command per request: INCR, and the window's expiry set by the request that opens it.
_INCR_WITH_EXPIRY = (
    "local n = redis.call('INCR', KEYS[1]) "
    "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n"
)


@functools.cache
def _redis_counter():
    from django.core.cache import cache

    return cache._cache.get_client(None, write=True).register_script(_INCR_WITH_EXPIRY)


def _count_in_redis(key: str, period: int) -> int:
    return int(_redis_counter()(keys=[key], args=[period + 1]))


def _count_in_database(key: str, window: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [key, window])
        return int(cursor.fetchone()[0])


def hit(scope: str, key: str, rate: str) -> int | None:
    """Counts one request; returns the seconds to wait when over the limit, else None."""
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    counter_key = f"rl:{scope}:{key}"[:200]
    if settings.CONFIG.cache_url:
        count = _count_in_redis(f"{counter_key}:{window}", period)
    else:
        count = _count_in_database(counter_key, window)
    if count > limit:
        return max(1, int((window + 1) * period - now) + 1)
    return None


def client_ip(request) -> str:
    """The client address; behind a proxy, the proxy must be configured to set REMOTE_ADDR."""
    return request.META.get("REMOTE_ADDR", "unknown")
