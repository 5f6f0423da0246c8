"""Provenance reads: heads, proofs, and the full audit behind `stylevault provenance verify`."""

from __future__ import annotations

import base64
import binascii
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Max, Model, QuerySet
from django.utils.translation import gettext as _

from stylevault.core import errors
from stylevault.provenance import canonical, keys, merkle, signing
from stylevault.provenance.models import Event, TreeHead

MAX_INDEX = 2**63 - 1


def latest_head() -> TreeHead | None:
    return TreeHead.objects.order_by("-tree_size").first()


def head_of_size(tree_size: int) -> TreeHead | None:
    return TreeHead.objects.filter(tree_size=tree_size).first()


def log_size() -> int:
    """How many events the log holds (indexes are 0 .. size - 1)."""
    last = Event.objects.aggregate(last=Max("seq"))["last"]
    return 0 if last is None else last + 1


def event(seq: int) -> Event:
    found = Event.objects.filter(seq=seq).first() if 0 <= seq <= MAX_INDEX else None
    if found is None:
        raise errors.NotFound(_("There is no event %(seq)s in the log.") % {"seq": seq})
    return found


def events_of(subject: Model | tuple[str, Any]) -> QuerySet[Event]:
    """Every event about one subject (a model instance or a ``(type, id)`` pair), oldest first."""
    if isinstance(subject, Model):
        subject_type, subject_id = subject._meta.label_lower, subject.pk
    else:
        subject_type, subject_id = subject
    return Event.objects.filter(subject_type=subject_type, subject_id=str(subject_id))


# -- the Merkle tree of stored leaf hashes ------------------------------------------------------


class _TreeCache:
    """One in-process tree of the stored leaf hashes, extended as the log grows.

    Rows never change, so the cached prefix stays right; the last cached leaf is compared with
    its row on every use, so a database restored from a backup or rolled back under a test is
    noticed and the tree is rebuilt. ~65 bytes of memory per event.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._tree = merkle.MerkleTree()

    def get(self, size: int) -> merkle.MerkleTree:
        with self._lock:
            tree = self._tree
            if tree.size:
                last = tree.size - 1
                stored = Event.objects.filter(seq=last).values_list("leaf_hash", flat=True)
                if list(stored) != [tree.leaf(last).hex()]:
                    tree = merkle.MerkleTree()
            if tree.size < size:
                rows = (
                    Event.objects.filter(seq__gte=tree.size, seq__lt=size)
                    .order_by("seq")
                    .values_list("seq", "leaf_hash")
                )
                for seq, leaf in rows.iterator(chunk_size=5000):
                    if seq != tree.size:
                        raise errors.DomainError(
                            _("The provenance log has a gap at event %(seq)s.") % {"seq": tree.size}
                        )
                    tree.append(bytes.fromhex(leaf))
                if tree.size < size:
                    raise errors.DomainError(
                        _("The provenance log has a gap at event %(seq)s.") % {"seq": tree.size}
                    )
            self._tree = tree
            return tree

    def clear(self) -> None:
        with self._lock:
            self._tree = merkle.MerkleTree()


_cache = _TreeCache()


def tree(size: int) -> merkle.MerkleTree:
    """A tree holding at least the first ``size`` stored leaf hashes."""
    return _cache.get(size)


# -- proofs for the API --------------------------------------------------------------------------


def head_payload(head: TreeHead | None) -> dict | None:
    if head is None:
        return None
    return {
        "tree_size": head.tree_size,
        "root_hash": head.root_hash,
        "timestamp": head.timestamp,
        "signature": head.signature,
        "key_id": head.key_id,
    }


def inclusion_proof(*, seq: int, tree_size: int) -> dict:
    """The audit path of event ``seq`` in the tree of the first ``tree_size`` events."""
    found = event(seq)
    size = log_size()
    if not seq < tree_size <= size:
        raise errors.ValidationFailed(
            _("tree_size must be between %(low)s and %(high)s for event %(seq)s.")
            % {"low": seq + 1, "high": size, "seq": seq},
            details={"tree_size": tree_size},
        )
    merkle_tree = tree(tree_size)
    return {
        "seq": seq,
        "leaf_index": seq,
        "leaf_hash": found.leaf_hash,
        "tree_size": tree_size,
        "root_hash": merkle_tree.root(tree_size).hex(),
        "audit_path": [h.hex() for h in merkle_tree.inclusion_proof(seq, tree_size)],
        "head": head_payload(head_of_size(tree_size)),
    }


def consistency_proof(*, first: int, second: int) -> dict:
    """The proof that the tree of ``second`` events extends the tree of ``first``."""
    size = log_size()
    if not 0 < first <= second <= size:
        raise errors.ValidationFailed(
            _("Sizes must satisfy 1 ≤ first ≤ second ≤ %(size)s.") % {"size": size},
            details={"first": first, "second": second, "log_size": size},
        )
    merkle_tree = tree(second)
    return {
        "first": first,
        "second": second,
        "first_root_hash": merkle_tree.root(first).hex(),
        "second_root_hash": merkle_tree.root(second).hex(),
        "proof": [h.hex() for h in merkle_tree.consistency_proof(first, second)],
        "first_head": head_payload(head_of_size(first)),
        "second_head": head_payload(head_of_size(second)),
    }


# -- the full audit ------------------------------------------------------------------------------


@dataclass
class AuditReport:
    events: int = 0
    heads: int = 0
    covered: int = 0  # events under the latest head
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems


def _event_problem(row: tuple) -> tuple[bytes | None, str | None]:
    """Recomputes one event's leaf hash from its stored canonical text; says what is wrong."""
    seq, kind, subject_type, subject_id, actor_id, payload, text, stored_leaf, created_at = row
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return None, f"event {seq}: its canonical text is not valid UTF-8"
    leaf = merkle.leaf_hash(data)
    if leaf.hex() != stored_leaf:
        return leaf, f"event {seq}: stored leaf hash does not match its canonical bytes"
    try:
        doc = json.loads(text)
        if canonical.dumps(doc) != text:
            return leaf, f"event {seq}: its stored text is not canonical JSON"
        expected = {
            "v": canonical.DOCUMENT_VERSION,
            "seq": seq,
            "kind": kind,
            "subject": {"type": subject_type, "id": subject_id},
            "actor": actor_id,
            "payload": payload,
            "created_at": canonical.timestamp(created_at),
        }
    except (ValueError, TypeError, AttributeError):
        return leaf, f"event {seq}: its canonical text is unreadable"
    if doc != expected:
        columns = sorted(k for k in expected if doc.get(k) != expected[k])
        return leaf, (
            f"event {seq}: columns {', '.join(columns)} differ from the hashed canonical text"
        )
    return leaf, None


def verify_log() -> AuditReport:
    """Re-checks the whole log from the stored bytes: every leaf hash, contiguous indexes,
    every head's root and signature, and consistency between consecutive heads."""
    report = AuditReport()
    recomputed = merkle.MerkleTree()
    rows = (
        Event.objects.order_by("seq")
        .values_list(
            "seq",
            "kind",
            "subject_type",
            "subject_id",
            "actor_id",
            "payload",
            "canonical",
            "leaf_hash",
            "created_at",
        )
        .iterator(chunk_size=2000)
    )
    expected = 0
    for row in rows:
        seq = row[0]
        if seq != expected:
            report.problems.append(
                f"events {expected}..{seq - 1} are missing (leaf indexes must be contiguous from 0)"
            )
        expected = seq + 1
        leaf, problem = _event_problem(row)
        if problem:
            report.problems.append(problem)
        recomputed.append(leaf if leaf is not None else b"\x00" * 32)
        report.events += 1

    public_key, current_key_id = None, None
    previous: TreeHead | None = None
    previous_root: bytes | None = None
    for head in TreeHead.objects.order_by("tree_size", "pk"):
        report.heads += 1
        if public_key is None:
            public_key, current_key_id = keys.public_key(), keys.key_id()
        name = f"head {head.pk} (tree size {head.tree_size})"
        try:
            root = bytes.fromhex(head.root_hash)
            signature = base64.b64decode(head.signature, validate=True)
            if len(root) != 32:
                raise ValueError
        except (ValueError, binascii.Error):
            report.problems.append(f"{name}: root hash or signature is not well-formed")
            previous, previous_root = head, None
            continue
        if head.key_id != current_key_id:
            report.problems.append(
                f"{name}: signed by key {head.key_id}, not the platform key {current_key_id}"
            )
        elif not signing.verify_tree_head(
            public_key,
            timestamp=head.timestamp,
            tree_size=head.tree_size,
            root_hash=root,
            signature=signature,
        ):
            report.problems.append(f"{name}: the signature does not verify (forged or altered)")
        if head.tree_size > recomputed.size:
            report.problems.append(
                f"{name}: covers {head.tree_size} events but the log holds {recomputed.size}"
            )
            previous, previous_root = head, None
            continue
        if recomputed.root(head.tree_size) != root:
            report.problems.append(
                f"{name}: root hash does not match the events 0..{head.tree_size - 1} "
                "(an event under this head was changed or removed)"
            )
        if previous is not None:
            if head.timestamp < previous.timestamp:
                report.problems.append(f"{name}: timestamp is earlier than the previous head's")
            if previous_root is not None and previous.tree_size > 0:
                proof = recomputed.consistency_proof(previous.tree_size, head.tree_size)
                if not merkle.verify_consistency(
                    previous.tree_size, head.tree_size, proof, previous_root, root
                ):
                    report.problems.append(
                        f"{name}: not consistent with the previous head at tree size "
                        f"{previous.tree_size}"
                    )
        previous, previous_root = head, root
        report.covered = head.tree_size
    return report
