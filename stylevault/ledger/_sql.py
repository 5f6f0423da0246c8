"""The ledger's hot statements, run on the current transaction's connection.

On PostgreSQL they go through a server-side-binding psycopg cursor with ``prepare=True``:
each statement is parsed and planned once per connection, which roughly halves the database's
CPU per hold+capture. Elsewhere (SQLite) Django's cursor runs them; sqlite3 caches statements.
All SQL here is portable (``%s`` placeholders, RETURNING, UPDATE ... FROM).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime

try:
    import psycopg
except ImportError:  # pragma: no cover - SQLite-only installs
    psycopg = None


def execute(sql: str, params: Sequence[Any] = (), *, rows: bool = True) -> list[tuple]:
    """Runs one statement; returns its rows, or (``rows=False``) an empty list whose
    ``rowcount`` says how many rows it changed."""
    db = connections[DEFAULT_DB_ALIAS]
    db.ensure_connection()
    with db.wrap_database_errors:
        if db.vendor == "postgresql":
            with psycopg.Cursor(db.connection) as cursor:
                cursor.execute(sql, params, prepare=True)
                return cursor.fetchall() if rows else _rowcount(cursor)
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if rows else _rowcount(cursor)


class _Count(list):
    """An empty result that remembers how many rows the statement changed."""

    rowcount = 0


def _rowcount(cursor) -> list:
    result = _Count()
    result.rowcount = cursor.rowcount
    return result


def changed(result: list) -> int:
    return getattr(result, "rowcount", len(result))


def dt(value: datetime | None):
    """A datetime parameter as the ORM would store it (SQLite keeps naive UTC text)."""
    return None if value is None else connection.ops.adapt_datetimefield_value(value)


def parse_dt(value):
    """A datetime column read by raw SQL, as the ORM would return it."""
    if value is None or isinstance(value, datetime):
        return value

    parsed = parse_datetime(value)
    return parsed.replace(tzinfo=UTC) if timezone.is_naive(parsed) else parsed


def js(value: dict) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def parse_js(value) -> dict:
    return json.loads(value) if isinstance(value, str) else value


def placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)
