"""Fixed-window rate limits shared by every process: Redis INCRBY in distributed mode, one
atomic UPSERT on the database in embedded mode.

One limiter serves the API throttles and the HTML forms, so a login form and the login API
share the same budget per IP.

A process takes several requests' worth of a window's count at once while the limit is far
(an eighth of what is left, shared by the web processes, at most 16) and spends them before
counting again, so a busy client costs one shared count every few requests instead of one
per request. A process never lets through more than it counted; what the processes took and
did not spend is at most an eighth of the limit, so a client always gets at least seven
eighths of it (decision 001).
"""

from __future__ import annotations

import functools
import os
import re
import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.db import connection

from stylevault.core import errors

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# Adds to the current window's count; a new window restarts from what is added. Valid on
# SQLite ≥ 3.35 and PostgreSQL.
_UPSERT = (
    "INSERT INTO ops_ratecounter (key, slot, count) VALUES (%s, %s, %s) "
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN ops_ratecounter.slot = excluded.slot "
    "THEN ops_ratecounter.count + excluded.count "
    "WHEN ops_ratecounter.slot < excluded.slot THEN excluded.count "
    "ELSE ops_ratecounter.count END, "  # a late request of a past window changes nothing
    "slot = CASE WHEN ops_ratecounter.slot < excluded.slot "
    "THEN excluded.slot ELSE ops_ratecounter.slot END RETURNING count, slot"
)
MAX_TAKEN = 16


def parse_rate(rate: str) -> tuple[int, int]:
    """'5/5m' → (5, 300); '100/m' → (100, 60)."""
    match = _RATE.match(rate or "")
    if not match:
        raise ValueError(f"bad rate {rate!r}")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _SECONDS[unit]


# One command: INCRBY, and the window's expiry set by the call that opens it.
_INCR_WITH_EXPIRY = (
    "local n = redis.call('INCRBY', KEYS[1], ARGV[2]) "
    "if n == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n"
)


@functools.cache
def _redis_counter():
    # core.config imports this module while the settings are still being built.
    from django.core.cache import cache

    return cache._cache.get_client(None, write=True).register_script(_INCR_WITH_EXPIRY)


def _count_in_redis(key: str, period: int, window: int, taken: int) -> int:
    return int(_redis_counter()(keys=[f"{key}:{window}"], args=[period + 1, taken]))


def _count_in_database(key: str, period: int, window: int, taken: int) -> int:
    """The window's count; for a late request of a past window (processes' clocks differ a
    little), as if it were the window's first: it passes and takes nothing ahead."""
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [key, window, taken])
        count, slot = cursor.fetchone()
    return int(count) if slot == window else 1


class _Spare:
    """Requests this process counted and has not spent yet, per key, for one window each."""

    entries = 10_000  # keys kept; forgetting one only loses what it had taken

    def __init__(self) -> None:
        self._kept: OrderedDict[str, tuple[int, int, int]] = OrderedDict()  # window, spare, seen
        self._lock = threading.Lock()

    def spend(self, key: str, window: int) -> tuple[bool, int | None]:
        """(whether a counted request was left to spend, the window's count last seen)."""
        with self._lock:
            kept_window, spare, seen = self._kept.get(key, (window, 0, None))
            if kept_window != window:
                return False, None
            if spare:
                self._kept[key] = (window, spare - 1, seen)
                self._kept.move_to_end(key)
            return spare > 0, seen

    def keep(self, key: str, window: int, spare: int, seen: int) -> None:
        """Adds `spare` counted requests; threads that counted at once keep all they took."""
        with self._lock:
            kept_window, kept_spare, kept_seen = self._kept.get(key, (window, 0, 0))
            if kept_window == window:
                spare, seen = spare + kept_spare, max(seen, kept_seen)
            self._kept[key] = (window, spare, seen)
            self._kept.move_to_end(key)
            while len(self._kept) > self.entries:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


_spare = _Spare()
_now = time.time  # tests set the clock here


def _sharing_processes() -> int:
    """Web processes of this host (`stylevault serve --processes` sets it for its workers)."""
    return max(1, int(os.environ.get("STYLEVAULT_WEB_PROCESSES") or 1))


def hit(scope: str, key: str, rate: str) -> int | None:
    """Counts one request; returns the seconds to wait when over the limit, else None."""
    limit, period = parse_rate(rate)
    now = _now()
    window = int(now // period)
    counter_key = f"rl:{scope}:{key}"[:200]
    spent, seen = _spare.spend(counter_key, window)
    if spent:
        return None
    # Unseen in this window: count one, to learn where the window stands.
    ahead = 0 if seen is None else (limit - seen) // (8 * _sharing_processes())
    taken = max(1, min(MAX_TAKEN, ahead))
    count_in = _count_in_redis if settings.CONFIG.cache_url else _count_in_database
    count = count_in(counter_key, period, window, taken)
    allowed = min(taken, limit - (count - taken), count)  # of the requests just counted
    if allowed <= 0:
        if _spare.spend(counter_key, window)[0]:
            return None  # another thread of this process counted these meanwhile
        return max(1, int((window + 1) * period - now) + 1)
    _spare.keep(counter_key, window, allowed - 1, count)
    return None


def enforce(scope: str, key: str, rate: str) -> None:
    """Counts one request and raises RATE_LIMITED (with Retry-After) when over the limit: the
    one check a service makes, so every door to it (API, pages, console) shares the limit."""
    wait = hit(scope, key, rate)
    if wait is not None:
        raise errors.RateLimited(wait)


def forget_spare() -> None:
    """Drops what this process counted ahead (tests start each from fresh counters)."""
    _spare.clear()


def client_ip(request) -> str:
    """The client address; behind a proxy, the proxy must be configured to set REMOTE_ADDR."""
    return request.META.get("REMOTE_ADDR", "unknown")
