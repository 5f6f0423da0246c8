"""The event log: append-only in the database, and `stylevault provenance verify` catching
whatever gets past the database anyway."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from stylevault.core import errors
from stylevault.provenance import keys, merkle, selectors, services, signing
from stylevault.provenance.models import Event, EventKind, TreeHead
from tests.conftest import on_sqlite
from tests.provenance.conftest import triggers_disabled

pytestmark = pytest.mark.django_db


def _record(n: int, start: int = 0) -> list[Event]:
    return [
        services.record_event(
            kind=EventKind.IMAGE_GENERATED,
            subject=("generation.image", f"img-{i}"),
            payload={"output_sha256": hashlib.sha256(str(i).encode()).hexdigest(), "n": i},
            actor=i + 1,
        )
        for i in range(start, start + n)
    ]


def _verify() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("provenance", "verify", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _verify_fails() -> str:
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("provenance", "verify", stdout=io.StringIO(), stderr=err)
    assert caught.value.returncode == 1
    assert "provenance verify FAILED" in str(caught.value)
    return err.getvalue()


# -- recording -----------------------------------------------------------------------------------


def test_events_get_contiguous_leaf_indexes_and_hash_their_stored_bytes(user):
    first = services.record_event(
        kind="artist_verified", subject=user, payload={"note": "서명 확인", "b": [1, 2.5, None]}
    )
    assert first.seq == 0
    assert first.subject_type == "accounts.user" and first.subject_id == str(user.pk)
    # Canonical JSON: sorted keys, no spaces, UTF-8 kept as is, every column inside.
    at = first.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert first.canonical == (
        f'{{"actor":null,"created_at":"{at}","kind":"artist_verified",'
        '"payload":{"b":[1,2.5,null],"note":"서명 확인"},"seq":0,'
        f'"subject":{{"id":"{user.pk}","type":"accounts.user"}},"v":1}}'
    )
    assert first.leaf_hash == hashlib.sha256(b"\x00" + first.canonical.encode()).hexdigest()

    events = _record(4)
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert events[0].actor_id == 1
    stored = Event.objects.get(seq=3)
    assert stored.canonical == events[2].canonical and stored.payload == events[2].payload
    assert list(selectors.events_of(("generation.image", "img-2"))) == [stored]
    assert list(selectors.events_of(user)) == [first]


def test_an_event_rolled_back_with_its_act_leaves_no_gap():
    _record(2)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.record_event(kind="license_bought", subject=("ledger.hold", 9), payload={})
        raise RuntimeError("the purchase failed")
    again = services.record_event(kind="license_bought", subject=("ledger.hold", 9), payload={})
    assert again.seq == 2
    assert selectors.log_size() == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "Image Generated"},
        {"kind": ""},
        {"kind": 5},
        {"subject": "generation.image:1"},
        {"subject": ("Generation Image", 1)},
        {"subject": ("generation.image", "")},
        {"subject": ("generation.image", "x" * 65)},
        {"payload": ["not", "an", "object"]},
        {"payload": {"x": float("nan")}},
        {"payload": {"x": object()}},
        {"payload": {"x": "\ud800"}},
        {"payload": {1: "int key"}},
        {"payload": {"big": "x" * 300_000}},
        {"actor": "alice"},
        {"actor": True},
    ],
)
def test_bad_events_are_refused(kwargs):
    args = {"kind": "image_generated", "subject": ("generation.image", 1), "payload": {}}
    with pytest.raises(errors.ValidationFailed):
        services.record_event(**{**args, **kwargs})
    assert selectors.log_size() == 0


def test_an_unsaved_subject_is_refused():
    from stylevault.accounts.models import User

    with pytest.raises(errors.ValidationFailed):
        services.record_event(kind="artist_verified", subject=User(username="x"), payload={})


# -- the database refuses to rewrite history -----------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE provenance_event SET payload = '{}' WHERE seq = 1",
        "UPDATE provenance_event SET kind = kind",
        "DELETE FROM provenance_event WHERE seq = 2",
        "DELETE FROM provenance_event",
        "UPDATE provenance_treehead SET root_hash = '00'",
        "DELETE FROM provenance_treehead",
    ],
)
def test_sql_cannot_change_or_delete_events_or_heads(statement):
    _record(3)
    services.sign_tree_head()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert Event.objects.count() == 3 and TreeHead.objects.count() == 1
    _verify()


def test_the_orm_cannot_change_or_delete_events_either():
    (event,) = _record(1)
    original = dict(event.payload)
    event.payload = {"forged": True}
    with pytest.raises(DatabaseError), transaction.atomic():
        event.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        Event.objects.all().delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        Event.objects.filter(seq=0).update(kind="x")
    assert Event.objects.get(seq=0).payload == original


# -- verify --------------------------------------------------------------------------------------


def test_verify_passes_on_a_clean_log():
    out, err = _verify()
    assert "provenance verify OK: 0 events" in out and not err
    _record(5)
    services.sign_tree_head()
    _record(6, start=5)
    services.sign_tree_head()
    _record(2, start=11)
    out, err = _verify()
    assert "OK: 13 events, 2 signed heads" in out
    assert "2 newer events are not under a signed head yet" in out
    assert not err


def _tamper(sql: str, params=(), table: str = "provenance_event") -> None:
    with triggers_disabled(table) as cursor:
        cursor.execute(sql, params)


def _canonical_of(seq: int) -> dict:
    return json.loads(Event.objects.get(seq=seq).canonical)


def test_verify_catches_a_column_changed_behind_the_triggers():
    _record(6)
    services.sign_tree_head()
    _tamper("UPDATE provenance_event SET payload = %s WHERE seq = 3", ['{"n": 999}'])
    err = _verify_fails()
    assert "event 3: columns payload differ from the hashed canonical text" in err


def test_verify_catches_rewritten_canonical_bytes():
    _record(6)
    services.sign_tree_head()
    doc = _canonical_of(2)
    doc["payload"]["n"] = 999
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    _tamper(
        "UPDATE provenance_event SET canonical = %s, payload = %s WHERE seq = 2",
        [text, json.dumps(doc["payload"])],
    )
    err = _verify_fails()
    assert "event 2: stored leaf hash does not match its canonical bytes" in err


def test_verify_catches_a_consistent_rewrite_through_the_signed_head():
    """An attacker who rewrites an event *and* its leaf hash still cannot re-sign the head."""
    _record(6)
    services.sign_tree_head()
    doc = _canonical_of(4)
    doc["payload"]["n"] = 999
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    leaf = merkle.leaf_hash(text.encode()).hex()
    _tamper(
        "UPDATE provenance_event SET canonical = %s, payload = %s, leaf_hash = %s WHERE seq = 4",
        [text, json.dumps(doc["payload"]), leaf],
    )
    err = _verify_fails()
    assert "event 4" not in err
    assert "head 1 (tree size 6): root hash does not match the events 0..5" in err.replace(
        f"head {TreeHead.objects.get().pk} ", "head 1 "
    )


def test_verify_catches_a_deleted_event():
    _record(6)
    services.sign_tree_head()
    _tamper("DELETE FROM provenance_event WHERE seq = 2")
    err = _verify_fails()
    assert "events 2..2 are missing" in err
    assert "events 3..3" not in err
    assert "covers 6 events but the log holds 5" in err


def test_verify_catches_a_truncated_log():
    _record(6)
    services.sign_tree_head()
    _tamper("DELETE FROM provenance_event WHERE seq >= 4")
    err = _verify_fails()
    assert "covers 6 events but the log holds 4" in err


def test_verify_catches_an_altered_head():
    _record(4)
    services.sign_tree_head()
    _record(3, start=4)
    head = services.sign_tree_head()
    _tamper(
        "UPDATE provenance_treehead SET tree_size = 5 WHERE id = %s",
        [head.pk],
        table="provenance_treehead",
    )
    err = _verify_fails()
    assert "tree size 5): the signature does not verify" in err


def test_a_forged_head_fails_verify():
    _record(5)
    services.sign_tree_head()
    _record(2, start=5)
    root = selectors.tree(7).root(7)
    # Signed by someone else, claiming the platform's key id.
    forger = Ed25519PrivateKey.generate()
    forged = signing.sign_tree_head(forger, timestamp=10**13, tree_size=7, root_hash=root)
    TreeHead.objects.create(
        tree_size=7,
        root_hash=root.hex(),
        timestamp=10**13,
        signature=base64.b64encode(forged).decode(),
        key_id=keys.key_id(),
    )
    err = _verify_fails()
    assert "(tree size 7): the signature does not verify (forged or altered)" in err
    assert signing.verify_tree_head(
        forger.public_key(), timestamp=10**13, tree_size=7, root_hash=root, signature=forged
    )


def test_a_head_under_another_key_fails_verify():
    _record(2)
    forger = Ed25519PrivateKey.generate()
    root = selectors.tree(2).root(2)
    signature = signing.sign_tree_head(forger, timestamp=1, tree_size=2, root_hash=root)
    TreeHead.objects.create(
        tree_size=2,
        root_hash=root.hex(),
        timestamp=1,
        signature=base64.b64encode(signature).decode(),
        key_id=signing.key_id(forger.public_key()),
    )
    assert "not the platform key" in _verify_fails()


def test_a_head_inconsistent_with_its_predecessor_fails_verify(signing_key):
    """Two validly signed heads that disagree about history (a split view)."""
    _record(4)
    services.sign_tree_head()
    _record(2, start=4)
    other = merkle.MerkleTree(merkle.leaf_hash(bytes([i])) for i in range(6)).root()
    signature = signing.sign_tree_head(signing_key, timestamp=10**13, tree_size=6, root_hash=other)
    TreeHead.objects.create(
        tree_size=6,
        root_hash=other.hex(),
        timestamp=10**13,
        signature=base64.b64encode(signature).decode(),
        key_id=keys.key_id(),
    )
    err = _verify_fails()
    assert "(tree size 6): root hash does not match" in err
    assert "not consistent with the previous head at tree size 4" in err


# -- signed tree heads ---------------------------------------------------------------------------


def test_sign_tree_head_is_idempotent_and_verifiable_with_the_published_key():
    empty = services.sign_tree_head()
    assert empty.tree_size == 0 and empty.root_hash == merkle.EMPTY_ROOT.hex()
    _record(3)
    head = services.sign_tree_head()
    assert head.tree_size == 3
    assert services.sign_tree_head() == head
    assert TreeHead.objects.count() == 2
    assert head.key_id == keys.key_id() == signing.key_id(keys.public_key())
    assert head.timestamp >= empty.timestamp
    ok = signing.verify_tree_head(
        keys.public_key(),
        timestamp=head.timestamp,
        tree_size=head.tree_size,
        root_hash=bytes.fromhex(head.root_hash),
        signature=base64.b64decode(head.signature),
    )
    assert ok
    leaves = [bytes.fromhex(e.leaf_hash) for e in Event.objects.order_by("seq")]
    assert merkle.root_hash(leaves).hex() == head.root_hash
    message = signing.tree_head_message(
        timestamp=head.timestamp, tree_size=3, root_hash=bytes.fromhex(head.root_hash)
    )
    assert len(message) == 50 and message[:2] == b"\x00\x01"
    assert message[2:10] == head.timestamp.to_bytes(8, "big")
    assert message[10:18] == (3).to_bytes(8, "big")


def test_sign_head_command():
    _record(2)
    out = io.StringIO()
    call_command("provenance", "sign-head", stdout=out)
    assert "tree head: size 2" in out.getvalue()
    assert selectors.latest_head().tree_size == 2


def test_the_tree_cache_notices_a_rolled_back_log():
    _record(3)
    with pytest.raises(RuntimeError), transaction.atomic():
        _record(3, start=3)
        assert selectors.tree(6).size == 6
        raise RuntimeError
    _record(4, start=30)
    leaves = [bytes.fromhex(e.leaf_hash) for e in Event.objects.order_by("seq")]
    assert selectors.tree(7).root(7) == merkle.root_hash(leaves)


@pytest.mark.skipif("not on_sqlite()")
def test_flush_on_sqlite_empties_the_log_and_keeps_the_triggers():
    assert on_sqlite()
    _record(2)
    services.sign_tree_head()
    call_command("flush", interactive=False, verbosity=0)
    assert Event.objects.count() == 0 and TreeHead.objects.count() == 0
    _record(1)
    with pytest.raises(DatabaseError), transaction.atomic():
        Event.objects.all().delete()
