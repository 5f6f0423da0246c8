"""Per-process caches of reads that everyone shares and that cost far more to build than to
keep: the public feed's pages and style searches (measured at 1M images and 100k styles:
12–14 ms of Python and up to 14 ms of database per request; a cached page costs a lookup),
and, in web servers on PostgreSQL, the token behind each API request.

Each cache has a generation number. A service that changes what the cache shows calls
`changed()` in its own transaction, so the new number takes effect exactly when the change
commits; what a process kept under an older number is not used again. The number lives:

- in the database (table ops_readgeneration), read with one indexed lookup per request;
- in web servers on PostgreSQL, also in the process itself: `changed()` sends a NOTIFY in its
  transaction, which PostgreSQL delivers on commit to every process LISTENing (`listen()`,
  started by stylevault.asgi), so requests read no row at all (decision 016). A change then
  shows in other processes as soon as its notification arrives (well under a millisecond on
  one host), and at once in the process that made it. While the listening connection is
  down, caches fall back to the row, and forget what they kept when it comes back.

Entries also expire after `seconds`, which bounds how long a change that does not bump (an
artist renaming a style shown in a tile) stays unseen.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from django.db import connection, connections, transaction

logger = logging.getLogger(__name__)

CHANNEL = "stylevault_reads"
LISTENER = "stylevault-read-caches"  # the listening connection's name in pg_stat_activity
_READ = "SELECT generation FROM ops_readgeneration WHERE name = %s"
_BUMP = (
    "INSERT INTO ops_readgeneration (name, generation) VALUES (%s, 1) "
    "ON CONFLICT (name) DO UPDATE SET generation = ops_readgeneration.generation + 1"
)
_caches: list[ReadCache] = []


class ReadCache:
    def __init__(
        self, name: str, *, seconds: float = 30.0, entries: int = 256, pushed_only: bool = False
    ) -> None:
        """`pushed_only`: keep entries only while changes are pushed (`listen()`), for reads
        that cost no more than reading the generation row would."""
        self.name, self.seconds, self.entries = name, seconds, entries
        self.pushed_only = pushed_only
        self._kept: OrderedDict[Hashable, tuple[Hashable, float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        _caches.append(self)

    def get(
        self, key: Hashable, build: Callable[[], Any], *, keep: bool | Callable[[Any], bool] = True
    ) -> Any:
        """The value kept for `key` while it is current, else `build()` (then kept). Values
        are shared between requests: callers must not change them. Callers pass keep=False
        for what is rarely shared (large pages, unusual queries), so that no client can fill
        the cache with pages nobody else asks for, or a test of the value built."""
        if keep is False or (self.pushed_only and not _push.live):
            return build()
        generation, now = self._generation(), time.monotonic()
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and kept[0] == generation and kept[1] > now:
                self._kept.move_to_end(key)
                return kept[2]
        value = build()
        if keep is True or keep(value):
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
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, self.name])
        # This process need not wait for its own notification to read what it wrote.
        transaction.on_commit(lambda: _push.bump(self.name))

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._kept.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def _generation(self) -> Hashable:
        pushed = _push.generation(self.name)
        if pushed is not None:
            return pushed
        with connection.cursor() as cursor:
            cursor.execute(_READ, [self.name])
            row = cursor.fetchone()
        return ("row", row[0] if row else 0)


class _Push:
    """The generations this process has been told of, while a connection LISTENs.

    Each (re)connection starts a new epoch: what was kept before it, under the row's numbers
    or an older epoch, no longer matches, since changes may have gone unheard meanwhile."""

    retry_seconds = 1.0
    ping_seconds = 5.0  # how soon a dead connection is noticed, and stop() is heard

    def __init__(self) -> None:
        self.live = False
        self._epoch = 0
        self._counts: dict[str, int] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def generation(self, name: str) -> Hashable | None:
        return (self._epoch, self._counts.get(name, 0)) if self.live else None

    def bump(self, name: str) -> None:
        self._counts[name] = self._counts.get(name, 0) + 1

    def start(self, params: dict) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._listen, args=(params,), name="readcache-listen", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stops listening (tests; a server's thread ends with its process)."""
        self._stop.set()
        self.live = False
        if self._thread is not None:
            self._thread.join(timeout=self.ping_seconds + 5)
        self.live = False

    def _listen(self, params: dict) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(**params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._epoch += 1
                    self.live = not self._stop.is_set()
                    logger.info("Read caches follow changes pushed by the database")
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=self.ping_seconds):
                            self.bump(note.payload)
                            if self._stop.is_set():
                                break
                        conn.execute("SELECT 1")  # a dead connection raises here
            except Exception:
                if not self._stop.is_set():
                    logger.warning("Read cache notifications lost; reading generation rows")
            finally:
                self.live = False
            self._stop.wait(self.retry_seconds)


_push = _Push()


def listen(alias: str = "default") -> bool:
    """Follows changes pushed by PostgreSQL in this process (web servers call it at start);
    returns whether the database can push them."""
    wrapper = connections[alias]
    if wrapper.vendor != "postgresql":
        return False
    params = wrapper.get_connection_params()
    params.pop("cursor_factory", None)
    params.setdefault("keepalives_idle", 10)
    params["application_name"] = LISTENER
    _push.start(params)
    return True


def stop_listening() -> None:
    _push.stop()


def clear_all() -> None:
    """Drops what every cache of this process keeps (tests start each from empty tables)."""
    for cache in _caches:
        cache.clear()
