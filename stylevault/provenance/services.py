"""Provenance writes: record an event, sign a tree head.

Leaf indexes are gap-free and in commit order. Both writes serialise on the log:
PostgreSQL takes a transaction-level advisory lock (held until the caller's transaction
commits or rolls back), SQLite's IMMEDIATE transactions already admit one writer at a time.
Under that lock the next index is ``MAX(seq) + 1``; the primary key refuses a duplicate
should anything bypass the lock. ``record_event`` is meant to run *inside* other apps'
service transactions, so an event exists exactly when the act it records was committed.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from stylevault.core import errors
from stylevault.provenance import canonical, keys, merkle, selectors, signing
from stylevault.provenance.models import Event, EventKind, TreeHead

# One 64-bit advisory lock key for the whole log (derived from a name, so it cannot collide
# with another app's keys by accident).
LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"stylevault.provenance.log").digest()[:8], "big", signed=True
)
MAX_CANONICAL_BYTES = 256 * 1024
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TYPE = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")


def lock_log() -> None:
    """Serialises writers of the log until the current transaction ends (call inside one)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def _subject(subject: Model | tuple[str, Any]) -> tuple[str, str]:
    if isinstance(subject, Model):
        if subject.pk is None:
            raise errors.ValidationFailed(_("The event's subject has not been saved yet."))
        subject_type = subject._meta.label_lower
        subject_id = subject.pk
    else:
        try:
            subject_type, subject_id = subject
        except (TypeError, ValueError):
            raise errors.ValidationFailed(
                _("An event's subject is a saved model or a (type, id) pair.")
            ) from None
    subject_id = str(subject_id)
    if not isinstance(subject_type, str) or not _TYPE.match(subject_type):
        raise errors.ValidationFailed(
            _("An event's subject type is a lowercase name like “generation.image”."),
            details={"subject_type": str(subject_type)},
        )
    if not 0 < len(subject_id) <= 64:
        raise errors.ValidationFailed(_("An event's subject id has 1 to 64 characters."))
    return subject_type, subject_id


def _actor_id(actor: Any) -> int | None:
    if actor is None:
        return None
    if isinstance(actor, Model):
        actor = actor.pk
    if isinstance(actor, bool) or not isinstance(actor, int):
        raise errors.ValidationFailed(_("An event's actor is a user or a user id."))
    return actor


def _now():
    """The current time at microsecond precision (what both databases store)."""
    return timezone.now()


@dataclass(frozen=True)
class NewEvent:
    """One event as an app's `events.py` builds it: a declared kind, its subject, its payload."""

    kind: EventKind
    subject: Model | tuple[str, Any]
    payload: dict[str, Any]
    actor: Model | int | None = field(default=None)


def record(event: NewEvent) -> Event:
    """Appends an event built by an app's `events.py` (see record_event)."""
    return record_event(
        kind=event.kind, subject=event.subject, payload=event.payload, actor=event.actor
    )


def record_event(
    *,
    kind: str,
    subject: Model | tuple[str, Any],
    payload: dict[str, Any],
    actor: Model | int | None = None,
) -> Event:
    """Appends one event to the log and returns it (with its ``seq`` = leaf index).

    ``subject`` is the thing the event is about: a saved model instance, or a
    ``(type, id)`` pair such as ``("generation.image", image_id)``. ``payload`` is a JSON
    object (str keys; str, int, float, bool, None, lists and objects only) — hashes, ids and
    settings, never secrets: leaf hashes are public and events are shown in certificates.
    Call it inside the transaction of the act it records.
    """
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise errors.ValidationFailed(
            _("An event kind is a lowercase name like “image_generated”."),
            details={"kind": str(kind)},
        )
    subject_type, subject_id = _subject(subject)
    actor_id = _actor_id(actor)
    if not isinstance(payload, dict):
        raise errors.ValidationFailed(_("An event's payload is a JSON object."))
    try:
        canonical.dumps(payload)
    except canonical.NotCanonicalizable as exc:
        raise errors.ValidationFailed(
            _("An event's payload holds only JSON values."), details={"reason": str(exc)}
        ) from exc

    with transaction.atomic():
        lock_log()
        last = Event.objects.aggregate(last=Max("seq"))["last"]
        seq = 0 if last is None else last + 1
        created_at = _now()
        text = canonical.event_document(
            seq=seq,
            kind=kind,
            subject_type=subject_type,
            subject_id=subject_id,
            actor_id=actor_id,
            payload=payload,
            created_at=created_at,
        )
        data = text.encode("utf-8")
        if len(data) > MAX_CANONICAL_BYTES:
            raise errors.ValidationFailed(
                _("An event is limited to %(limit)d KiB.") % {"limit": MAX_CANONICAL_BYTES // 1024}
            )
        return Event.objects.create(
            seq=seq,
            kind=kind,
            subject_type=subject_type,
            subject_id=subject_id,
            actor_id=actor_id,
            payload=payload,
            canonical=text,
            leaf_hash=merkle.leaf_hash(data).hex(),
            created_at=created_at,
        )


def sign_tree_head() -> TreeHead:
    """Signs a head over every event recorded so far, unless the latest head already covers
    them all (then returns that one). Safe to call often and from several processes."""
    latest = selectors.latest_head()
    if latest is not None and latest.tree_size == selectors.log_size():
        return latest
    with transaction.atomic():
        lock_log()
        latest = selectors.latest_head()
        size = selectors.log_size()
        if latest is not None and latest.tree_size >= size:
            return latest
        root = selectors.tree(size).root(size)
        # Never earlier than the previous head, even if the clock stepped back.
        timestamp = max(int(time.time() * 1000), latest.timestamp if latest else 0)
        key = keys.signing_key()
        signature = signing.sign_tree_head(key, timestamp=timestamp, tree_size=size, root_hash=root)
        return TreeHead.objects.create(
            tree_size=size,
            root_hash=root.hex(),
            timestamp=timestamp,
            signature=base64.b64encode(signature).decode(),
            key_id=signing.key_id(key.public_key()),
        )
