"""Canonical JSON for events: the exact bytes that become a Merkle leaf.

Keys sorted, no whitespace, UTF-8 (non-ASCII characters kept, not escaped), no NaN or
infinities. The text is stored next to the event and hashed as stored, so verifying the log
never depends on serialising JSON again the same way. No Django imports.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

DOCUMENT_VERSION = 1


class NotCanonicalizable(ValueError):
    """The value cannot be written as canonical JSON (a non-JSON type, NaN, a lone surrogate)."""


def _check_keys(value: Any) -> None:
    """json.dumps would turn a number key into a string silently; refuse it instead."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonicalizable(f"object keys must be strings, not {key!r}")
            _check_keys(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_keys(item)


def dumps(value: Any) -> str:
    _check_keys(value)
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        text.encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:  # UnicodeEncodeError: ValueError
        raise NotCanonicalizable(str(exc)) from exc
    return text


def timestamp(value: datetime) -> str:
    """A datetime as UTC ISO 8601 with microseconds: ``2025-01-31T12:00:00.000001Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def event_document(
    *,
    seq: int,
    kind: str,
    subject_type: str,
    subject_id: str,
    actor_id: int | None,
    payload: dict,
    created_at: datetime,
) -> str:
    """The canonical text of one event; every column of the event row is in it."""
    return dumps(
        {
            "v": DOCUMENT_VERSION,
            "seq": seq,
            "kind": kind,
            "subject": {"type": subject_type, "id": subject_id},
            "actor": actor_id,
            "payload": payload,
            "created_at": timestamp(created_at),
        }
    )
