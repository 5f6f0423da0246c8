"""Signed tree heads: the signed message's fixed binary layout, signing and checking.

The message is RFC 6962's ``TreeHeadSignature`` (§3.5), 50 bytes, big-endian::

    version          1 byte    0 (v1)
    signature_type   1 byte    1 (tree_hash)
    timestamp        8 bytes   milliseconds since the Unix epoch, UTC
    tree_size        8 bytes   number of leaves
    root_hash       32 bytes   RFC 9162 Merkle tree hash of the first tree_size leaves

signed with Ed25519 (RFC 8032, pure, no pre-hash). A key is named by its key id: the
lowercase hex SHA-256 of its DER SubjectPublicKeyInfo (RFC 6962's log id). No Django imports.
"""

from __future__ import annotations

import hashlib
import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

VERSION_V1 = 0
SIGNATURE_TYPE_TREE_HASH = 1
_LAYOUT = struct.Struct(">BBQQ32s")


def tree_head_message(*, timestamp: int, tree_size: int, root_hash: bytes) -> bytes:
    if len(root_hash) != 32:
        raise ValueError("a root hash is 32 bytes")
    return _LAYOUT.pack(VERSION_V1, SIGNATURE_TYPE_TREE_HASH, timestamp, tree_size, root_hash)


def sign_tree_head(
    key: Ed25519PrivateKey, *, timestamp: int, tree_size: int, root_hash: bytes
) -> bytes:
    return key.sign(
        tree_head_message(timestamp=timestamp, tree_size=tree_size, root_hash=root_hash)
    )


def verify_tree_head(
    public_key: Ed25519PublicKey,
    *,
    timestamp: int,
    tree_size: int,
    root_hash: bytes,
    signature: bytes,
) -> bool:
    try:
        message = tree_head_message(timestamp=timestamp, tree_size=tree_size, root_hash=root_hash)
        public_key.verify(signature, message)
    except (InvalidSignature, ValueError, struct.error):
        return False
    return True


def key_id(public_key: Ed25519PublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()
