"""Merkle tree hashing, proofs and their verification, exactly as RFC 9162 §2.1 defines them.

Pure functions and one class over 32-byte SHA-256 hashes; no Django, so a verifier (or a
test) can use this module alone.

- ``MTH({}) = SHA-256()``; a leaf is ``SHA-256(0x00 || d)``; an interior node is
  ``SHA-256(0x01 || left || right)``, where the left subtree holds the largest power of two
  of leaves smaller than the number of leaves.
- ``MerkleTree`` keeps every *perfect* subtree hash (aligned blocks of ``2**j`` leaves). Those
  never change once complete, so appending a leaf costs O(1) amortised hashes and any root,
  audit path or consistency proof for any tree size up to the current one costs O(log n):
  every range the RFC's recursion visits splits into aligned perfect blocks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: the hash of one leaf's bytes."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only list of leaf hashes with every perfect subtree hash cached."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()):
        # _levels[j][i] is the hash of leaves [i * 2**j, (i + 1) * 2**j).
        self._levels: list[list[bytes]] = [[]]
        self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def leaf(self, index: int) -> bytes:
        return self._levels[0][index]

    def append(self, leaf: bytes) -> None:
        if len(leaf) != HASH_SIZE:
            raise ValueError("a leaf hash is 32 bytes")
        levels = self._levels
        levels[0].append(leaf)
        j = 0
        while len(levels[j]) % 2 == 0:
            parent = node_hash(levels[j][-2], levels[j][-1])
            if j + 1 == len(levels):
                levels.append([])
            levels[j + 1].append(parent)
            j += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        for leaf in leaf_hashes:
            self.append(leaf)

    # -- hashes of ranges --------------------------------------------------------------------

    def _range(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for a range that RFC 9162's recursion can visit."""
        n = hi - lo
        if n == 1:
            return self._levels[0][lo]
        if n & (n - 1) == 0 and lo % n == 0:
            return self._levels[n.bit_length() - 1][lo // n]
        k = split_point(n)
        return node_hash(self._range(lo, lo + k), self._range(lo + k, hi))

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} is outside 0..{self.size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (all of them by default)."""
        size = self._check_size(size)
        return EMPTY_ROOT if size == 0 else self._range(0, size)

    # -- proofs ------------------------------------------------------------------------------

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 §2.1.3.1, ordered from the leaf upwards."""
        size = self._check_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf index {index} is outside 0..{size - 1}")
        path: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = split_point(hi - lo)
            if index < lo + k:
                path.append(self._range(lo + k, hi))
                hi = lo + k
            else:
                path.append(self._range(lo, lo + k))
                lo = lo + k
        path.reverse()
        return path

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """PROOF(first, D[second]) of RFC 9162 §2.1.4.1 (``0 < first <= second``)."""
        second = self._check_size(second)
        if not 0 < first <= second:
            raise ValueError(f"first size {first} is outside 1..{second}")
        proof: list[bytes] = []
        lo, hi, m, complete = 0, second, first, True
        while True:
            n = hi - lo
            if m == n:
                if not complete:
                    proof.append(self._range(lo, hi))
                break
            k = split_point(n)
            if m <= k:
                proof.append(self._range(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._range(lo, lo + k))
                lo, m, complete = lo + k, m - k, False
        proof.reverse()
        return proof


def root_hash(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH over the given leaf hashes."""
    return MerkleTree(leaf_hashes).root()


# -- verification (what a client does with a proof) --------------------------------------------


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show ``leaf`` at ``index`` in the tree ``root``?"""
    if not 0 <= index < tree_size or any(len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree ``second_root`` an append-only extension of ``first_root``?"""
    if not 0 < first <= second or any(len(p) != HASH_SIZE for p in proof):
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
