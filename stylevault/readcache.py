"""Per-process caches of reads that everyone shares and that cost far more to build than to
keep: the public feed's pages and style searches (measured at 1M images and 100k styles:
12–14 ms of Python and up to 14 ms of database per request; a cached page costs a lookup).

Each cache has a generation number in the database. A service that changes what the cache
shows bumps it in its own transaction, so every process sees the new number exactly when
the change commits and stops using what it kept. Reading the number is one indexed lookup
per request. Entries also expire after `seconds`, which bounds how long a change that does
not bump (an artist renaming a style shown in a tile) stays unseen.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from django.db import connection

_READ = "SELECT generation FROM ops_readgeneration WHERE name = %s"
_BUMP = (
    "INSERT INTO ops_readgeneration (name, generation) VALUES (%s, 1) "
    "ON CONFLICT (name) DO UPDATE SET generation = ops_readgeneration.generation + 1"
)
_caches: list[ReadCache] = []


class ReadCache:
    def __init__(self, name: str, *, seconds: float = 30.0, entries: int = 256) -> None:
        self.name, self.seconds, self.entries = name, seconds, entries
        self._kept: OrderedDict[Hashable, tuple[int, float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        _caches.append(self)

    def get(self, key: Hashable, build: Callable[[], Any], *, keep: bool = True) -> Any:
        """The value kept for `key` while it is current, else `build()` (then kept). Values
        are shared between requests: callers must not change them. Callers pass keep=False
        for what is rarely shared (large pages, unusual queries), so that no client can fill
        the cache with pages nobody else asks for."""
        if not keep:
            return build()
        generation, now = self._generation(), time.monotonic()
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and kept[0] == generation and kept[1] > now:
                self._kept.move_to_end(key)
                return kept[2]
        value = build()
        with self._lock:
            self._kept[key] = (generation, now + self.seconds, value)
            self._kept.move_to_end(key)
            while len(self._kept) > self.entries:
                self._kept.popitem(last=False)
        return value

    def changed(self) -> None:
        """Call in the transaction that changes what this cache shows."""
        with connection.cursor() as cursor:
            cursor.execute(_BUMP, [self.name])

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def _generation(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(_READ, [self.name])
            row = cursor.fetchone()
        return row[0] if row else 0


def clear_all() -> None:
    """Drops what every cache of this process keeps (tests start each from empty tables)."""
    for cache in _caches:
        cache.clear()
