"""Per-process caches of reads that everyone shares and that cost far more to build than to
keep: the public feed's pages and style searches (measured at 1M images and 100k styles:
12–14 ms of Python and up to 14 ms of database per request; a cached page costs a lookup),
and, in web servers on PostgreSQL, the token behind each API request.

Each cache has a generation number. A service that changes what the cache shows calls
`changed()` in its own transaction, so the new number takes effect when the change commits;
what a process kept under an older number is not used again. The number lives:

- in the database (table ops_readgeneration), read with one indexed lookup per request;
- in web servers on PostgreSQL, also in the process itself: `changed()` sends a NOTIFY in its
  transaction, which PostgreSQL delivers on commit to every process LISTENing (`listen()`,
  started by stylevault.asgi), so requests read no row at all (decision 016). A change then
  shows in other processes as soon as its notification is heard (typically well under a
  millisecond on one host), and at once in the process that made it. While the listening
  connection is down or silent, caches fall back to the row (caches kept only while pushed,
  which have no row, keep nothing), and forget what they kept when it comes back.

Entries also expire after `seconds`, which bounds how long a change that does not bump (an
artist renaming a style shown in a tile) stays unseen.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
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
        self,
        name: str,
        *,
        seconds: float = 30.0,
        entries: int = 256,
        pushed_only: bool = False,
        per_key: bool = False,
    ) -> None:
        """`pushed_only`: keep entries only while changes are pushed (`listen()`), for reads
        that cost no more than reading a generation row would; such caches have no row.
        `per_key` (pushed only): each key has a generation of its own, for what one user's
        changes change (`changed(key)`)."""
        self.name, self.seconds, self.entries = name, seconds, entries
        self.pushed_only, self.per_key = pushed_only or per_key, per_key
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
        generation = self._generation(key) if keep is not False else None
        if generation is None:
            return build()
        now = time.monotonic()
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

    def changed(self, key: Hashable = None) -> None:
        """Call in the transaction that changes what this cache shows (for `key`'s entry,
        in a cache `per_key`)."""
        name = self._name(key)
        with connection.cursor() as cursor:
            if not self.pushed_only:
                cursor.execute(_BUMP, [name])
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, name])
        # This process need not wait for its own notification to read what it wrote.
        transaction.on_commit(lambda: _push.bump(name))

    def active(self) -> bool:
        """Whether `get` keeps and uses entries now."""
        return self._generation(None) is not None

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._kept.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def _name(self, key: Hashable) -> str:
        return f"{self.name}:{key}" if self.per_key and key is not None else self.name

    def _generation(self, key: Hashable) -> Hashable | None:
        """The current generation, or None when nothing may be kept or used now. A key of a
        cache `per_key` counts its own changes and the whole cache's (`changed()`)."""
        pushed = _push.generation(self.name, self._name(key))
        if pushed is not None:
            # Inside a transaction, reads may see its uncommitted writes, which no pushed
            # generation covers yet: neither keep them nor hide them behind kept values.
            return None if connection.in_atomic_block else pushed
        if self.pushed_only:
            return None
        with connection.cursor() as cursor:
            cursor.execute(_READ, [self.name])
            row = cursor.fetchone()
        return ("row", row[0] if row else 0)


class _Push:
    """The generations this process has been told of, while a connection LISTENs.

    Each (re)connection starts a new epoch: what was kept before it, under the rows' numbers
    or an older epoch, no longer matches, since changes may have gone unheard meanwhile. The
    connection proves itself every `ping_seconds` by reading the generation rows (a change
    that bumped a row without notifying, from an older release, counts too); if it has not
    for two pings, caches stop trusting it even before it fails."""

    retry_seconds = 1.0  # doubled after each failed attempt, up to 30 s
    ping_seconds = 5.0
    names = 100_000  # generations counted (per-key ones add up); past that, a new epoch

    def __init__(self) -> None:
        self.live = False
        self.backend_pid: int | None = None
        self._epoch = 0
        self._counts: dict[str, int] = {}
        self._rows: dict[str, int] = {}
        self._notified: Counter[str] = Counter()
        self._heard = 0.0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def generation(self, name: str, key_name: str) -> Hashable | None:
        if not self.live or time.monotonic() - self._heard > 2 * self.ping_seconds + 1:
            return None
        with self._lock:
            return (self._epoch, self._counts.get(name, 0), self._counts.get(key_name, 0))

    def heard(self, name: str) -> None:
        """A notification: counted, and not counted again when its row is read."""
        self._notified[name] += 1
        self.bump(name)

    def bump(self, name: str) -> None:
        with self._lock:
            if name not in self._counts and len(self._counts) >= self.names:
                self._counts.clear()  # forgetting counts would reuse old generations:
                self._epoch += 1  # start a new epoch instead, as after a reconnection
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

    def _listen(self, params: dict) -> None:
        # psycopg is needed (and installed) only on PostgreSQL.
        import psycopg

        delay = self.retry_seconds
        while not self._stop.is_set():
            try:
                with psycopg.connect(**params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._check_rows(conn, first=True)
                    with self._lock:
                        self._epoch += 1
                    self.backend_pid = conn.info.backend_pid
                    self.live = not self._stop.is_set()
                    logger.info("Read caches follow changes pushed by the database")
                    delay = self.retry_seconds
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=self.ping_seconds):
                            self.heard(note.payload)
                            self._heard = time.monotonic()
                        self._check_rows(conn)
            except Exception:
                if not self._stop.is_set():
                    logger.warning(
                        "Read caches lost the database's notifications; reading generation "
                        "rows, retrying in %.0f s",
                        delay,
                        exc_info=True,
                    )
            finally:
                self.live = False
            self._stop.wait(delay)
            delay = min(delay * 2, 30.0)

    def _check_rows(self, conn, *, first: bool = False) -> None:
        """Bumps what rows moved by more than the notifications heard for them said."""
        rows = dict(conn.execute("SELECT name, generation FROM ops_readgeneration").fetchall())
        for name, generation in rows.items():
            if not first and generation - self._rows.get(name, 0) > self._notified[name]:
                self.bump(name)
        self._notified.clear()
        self._rows = rows
        self._heard = time.monotonic()


_push = _Push()


def listen(alias: str = "default") -> bool:
    """Follows changes pushed by PostgreSQL in this process (web servers call it at start);
    returns whether the database can push them."""
    wrapper = connections[alias]
    if wrapper.vendor != "postgresql":
        return False
    params = wrapper.get_connection_params()
    params.pop("cursor_factory", None)
    # A half-open connection fails within seconds instead of the system's minutes.
    params.update(keepalives_idle=10, keepalives_interval=5, keepalives_count=3)
    params["tcp_user_timeout"] = 15_000
    params["application_name"] = LISTENER
    _push.start(params)
    return True


def stop_listening() -> None:
    _push.stop()


def clear_all() -> None:
    """Drops what every cache of this process keeps (tests start each from empty tables)."""
    for cache in _caches:
        cache.clear()
