"""The public provenance API: heads, the key, inclusion and consistency proofs that a client
verifies with nothing but the published key and RFC 9162."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from stylevault.provenance import merkle, services, signing
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def _record(n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        services.record_event(
            kind="image_generated", subject=("generation.image", i), payload={"i": i}
        )


def _published_key(client) -> Ed25519PublicKey:
    body = client.get("/api/v1/provenance/key").json()
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(body["public_key"]))
    pem_key = serialization.load_pem_public_key(body["public_key_pem"].encode())
    assert pem_key.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    ) == base64.b64decode(body["public_key"])
    assert body["algorithm"] == "Ed25519"
    assert body["key_id"] == signing.key_id(key)
    return key


def _head_verifies(head: dict, key: Ed25519PublicKey) -> bool:
    return signing.verify_tree_head(
        key,
        timestamp=head["timestamp"],
        tree_size=head["tree_size"],
        root_hash=bytes.fromhex(head["root_hash"]),
        signature=base64.b64decode(head["signature"]),
    )


def test_head_and_key_are_public_and_the_head_verifies(api_client, signing_key):
    _record(3)
    response = api_client.get("/api/v1/provenance/head")
    assert response.status_code == 200
    head = response.json()
    assert set(head) == {"tree_size", "root_hash", "timestamp", "signature", "key_id"}
    assert head["tree_size"] == 3
    key = _published_key(api_client)
    assert _head_verifies(head, key)
    # A head with any field changed no longer verifies.
    for field, value in [("tree_size", 2), ("timestamp", head["timestamp"] + 1)]:
        assert not _head_verifies({**head, field: value}, key)
    assert not _head_verifies({**head, "root_hash": "00" * 32}, key)
    # No new events: the same head again.
    assert api_client.get("/api/v1/provenance/head").json() == head


def test_a_bad_token_does_not_lock_anyone_out_of_public_endpoints(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert api_client.get("/api/v1/provenance/head").status_code == 200
    assert api_client.get("/api/v1/provenance/key").status_code == 200


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13])
def test_every_event_has_a_verifying_inclusion_proof(api_client, size):
    _record(size)
    key = _published_key(api_client)
    for seq in range(size):
        response = api_client.get(f"/api/v1/provenance/events/{seq}/proof")
        assert response.status_code == 200, response.content
        proof = response.json()
        head = proof["head"]
        assert head is not None and head["tree_size"] == size == proof["tree_size"]
        assert _head_verifies(head, key)
        assert proof["root_hash"] == head["root_hash"]
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        leaf = bytes.fromhex(proof["leaf_hash"])
        root = bytes.fromhex(head["root_hash"])
        assert merkle.verify_inclusion(leaf, seq, size, path, root)
        # A tampered leaf or path fails.
        assert not merkle.verify_inclusion(merkle.leaf_hash(b"x"), seq, size, path, root)
        if path:
            assert not merkle.verify_inclusion(leaf, seq, size, [*path[::-1], root], root)


def test_inclusion_in_an_older_tree_and_consistency_between_heads(api_client):
    _record(5)
    old = api_client.get("/api/v1/provenance/head").json()
    _record(6, start=5)
    new = api_client.get("/api/v1/provenance/head").json()
    assert (old["tree_size"], new["tree_size"]) == (5, 11)

    proof = api_client.get("/api/v1/provenance/events/3/proof?tree_size=5").json()
    assert proof["head"] == old and proof["root_hash"] == old["root_hash"]
    assert merkle.verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        3,
        5,
        [bytes.fromhex(h) for h in proof["audit_path"]],
        bytes.fromhex(old["root_hash"]),
    )
    # A size with no signed head still gets a proof against that size's root.
    unsigned = api_client.get("/api/v1/provenance/events/3/proof?tree_size=7").json()
    assert unsigned["head"] is None and unsigned["tree_size"] == 7

    body = api_client.get("/api/v1/provenance/consistency?first=5&second=11").json()
    assert body["first_head"] == old and body["second_head"] == new
    args = (
        5,
        11,
        [bytes.fromhex(h) for h in body["proof"]],
        bytes.fromhex(old["root_hash"]),
        bytes.fromhex(new["root_hash"]),
    )
    assert merkle.verify_consistency(*args)
    assert not merkle.verify_consistency(5, 11, args[2], bytes.fromhex(new["root_hash"]), args[4])
    # second defaults to the latest head
    assert api_client.get("/api/v1/provenance/consistency?first=5").json() == body
    # every pair verifies
    for first in range(1, 12):
        for second in range(first, 12):
            b = api_client.get(f"/api/v1/provenance/consistency?first={first}&second={second}")
            b = b.json()
            assert merkle.verify_consistency(
                first,
                second,
                [bytes.fromhex(h) for h in b["proof"]],
                bytes.fromhex(b["first_root_hash"]),
                bytes.fromhex(b["second_root_hash"]),
            )


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/api/v1/provenance/events/abc/proof", 400, "VALIDATION_ERROR"),
        ("/api/v1/provenance/events/-1/proof", 400, "VALIDATION_ERROR"),
        ("/api/v1/provenance/events/1.5/proof", 400, "VALIDATION_ERROR"),
        ("/api/v1/provenance/events/99999999999999999999999/proof", 400, "VALIDATION_ERROR"),
        ("/api/v1/provenance/events/9223372036854775807/proof", 404, "NOT_FOUND"),
        ("/api/v1/provenance/events/3/proof", 404, "NOT_FOUND"),
        ("/api/v1/provenance/events/1/proof?tree_size=abc", 400, "VALIDATION_ERROR"),
        ("/api/v1/provenance/events/1/proof?tree_size=0", 400, "VALIDATION_ERROR"),
        ("/api/v1/provenance/events/1/proof?tree_size=1", 400, "VALIDATION_ERROR"),
        ("/api/v1/provenance/events/1/proof?tree_size=4", 400, "VALIDATION_ERROR"),
        ("/api/v1/provenance/events/1/proof?tree_size=" + "9" * 30, 400, "VALIDATION_ERROR"),
        ("/api/v1/provenance/consistency", 400, "VALIDATION_ERROR"),
        ("/api/v1/provenance/consistency?first=x", 400, "VALIDATION_ERROR"),
        ("/api/v1/provenance/consistency?first=0&second=2", 400, "VALIDATION_ERROR"),
        ("/api/v1/provenance/consistency?first=3&second=2", 400, "VALIDATION_ERROR"),
        ("/api/v1/provenance/consistency?first=1&second=4", 400, "VALIDATION_ERROR"),
        ("/api/v1/provenance/consistency?first=1&second=" + "9" * 30, 400, "VALIDATION_ERROR"),
    ],
)
def test_bad_input_gets_the_documented_errors(api_client, url, status, code):
    _record(3)
    assert_error(api_client.get(url), status, code)


def test_proofs_of_an_empty_log(api_client):
    head = api_client.get("/api/v1/provenance/head").json()
    assert head["tree_size"] == 0 and head["root_hash"] == merkle.EMPTY_ROOT.hex()
    assert_error(api_client.get("/api/v1/provenance/events/0/proof"), 404, "NOT_FOUND")
    assert_error(api_client.get("/api/v1/provenance/consistency?first=1"), 400, "VALIDATION_ERROR")


def test_the_api_is_read_only(api_client):
    assert api_client.post("/api/v1/provenance/head").status_code == 405
    assert api_client.delete("/api/v1/provenance/events/0/proof").status_code == 405


def test_the_schema_documents_the_endpoints(api_client):
    response = api_client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/provenance/head",
        "/api/v1/provenance/key",
        "/api/v1/provenance/events/{seq}/proof",
        "/api/v1/provenance/consistency",
    ]:
        assert "get" in paths[path], path


def test_admin_shows_the_log_read_only(client, make_user):
    _record(2)
    services.sign_tree_head()
    operator = make_user("operator1", operator=True)
    operator.is_staff = True
    operator.save()
    client.force_login(operator)
    assert client.get("/admin/provenance/event/").status_code == 200
    assert client.get("/admin/provenance/event/1/change/").status_code == 200
    assert client.get("/admin/provenance/event/?q=abc").status_code == 200
    assert client.get("/admin/provenance/treehead/").status_code == 200
    assert client.get("/admin/provenance/event/add/").status_code == 403
    assert client.get("/admin/provenance/event/1/delete/").status_code == 403
