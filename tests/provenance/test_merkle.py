"""RFC 9162 Merkle trees: the published Certificate Transparency vectors, and random sizes
checked against the RFC's recursive definitions written out literally below."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stylevault.provenance import merkle

# RFC 6962 / 9162 test vectors (certificate-transparency's merkle tree tests).
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
PATHS = {
    (0, 1): [],
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CONSISTENCY = {
    (1, 1): [],
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


# -- RFC 9162 §2.1, literally -------------------------------------------------------------------


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return _sha(b"")
    if n == 1:
        return _sha(b"\x00" + d[0])
    k = _k(n)
    return _sha(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def _tree(data: list[bytes]) -> merkle.MerkleTree:
    return merkle.MerkleTree(merkle.leaf_hash(x) for x in data)


def _hex(hashes: list[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


# -- published vectors ---------------------------------------------------------------------------


def test_roots_match_the_published_vectors():
    tree = _tree(LEAVES)
    assert [tree.root(n).hex() for n in range(9)] == ROOTS
    assert merkle.root_hash([]).hex() == ROOTS[0]
    assert merkle.root_hash(merkle.leaf_hash(x) for x in LEAVES).hex() == ROOTS[8]


@pytest.mark.parametrize(("index", "size"), list(PATHS))
def test_audit_paths_match_the_published_vectors(index, size):
    tree = _tree(LEAVES)
    path = tree.inclusion_proof(index, size)
    assert _hex(path) == PATHS[(index, size)]
    leaf = merkle.leaf_hash(LEAVES[index])
    assert merkle.verify_inclusion(leaf, index, size, path, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("first", "second"), list(CONSISTENCY))
def test_consistency_proofs_match_the_published_vectors(first, second):
    proof = _tree(LEAVES).consistency_proof(first, second)
    assert _hex(proof) == CONSISTENCY[(first, second)]
    assert merkle.verify_consistency(
        first, second, proof, bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second])
    )


def test_every_proof_of_small_trees_matches_the_rfc_and_verifies():
    data = [bytes([i]) * (i % 5) for i in range(40)]
    tree = _tree(data)
    for n in range(1, len(data) + 1):
        root = tree.root(n)
        assert root == ref_mth(data[:n])
        for m in range(n):
            path = tree.inclusion_proof(m, n)
            assert path == ref_path(m, data[:n])
            assert merkle.verify_inclusion(merkle.leaf_hash(data[m]), m, n, path, root)
        for m in range(1, n + 1):
            proof = tree.consistency_proof(m, n)
            assert proof == ref_subproof(m, data[:n], True)
            assert merkle.verify_consistency(m, n, proof, tree.root(m), root)


# -- random sizes --------------------------------------------------------------------------------


@st.composite
def tree_and_index(draw):
    n = draw(st.integers(1, 600))
    size = draw(st.integers(1, n))
    index = draw(st.integers(0, size - 1))
    first = draw(st.integers(1, size))
    return n, size, index, first


def _data(n: int) -> list[bytes]:
    return [i.to_bytes(4, "big") for i in range(n)]


@settings(max_examples=150, deadline=None)
@given(tree_and_index())
def test_random_trees_match_the_rfc_definitions(case):
    n, size, index, first = case
    data = _data(n)
    tree = _tree(data)
    root = tree.root(size)
    assert root == ref_mth(data[:size])
    path = tree.inclusion_proof(index, size)
    assert path == ref_path(index, data[:size])
    assert merkle.verify_inclusion(merkle.leaf_hash(data[index]), index, size, path, root)
    proof = tree.consistency_proof(first, size)
    assert proof == ref_subproof(first, data[:size], True)
    assert merkle.verify_consistency(first, size, proof, tree.root(first), root)


@settings(max_examples=150, deadline=None)
@given(tree_and_index(), st.data())
def test_tampered_inclusion_proofs_fail(case, draw):
    n, size, index, _first = case
    data = _data(n)
    tree = _tree(data)
    root, leaf = tree.root(size), merkle.leaf_hash(data[index])
    path = tree.inclusion_proof(index, size)
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), index, size, path, root)
    assert not merkle.verify_inclusion(leaf, index, size, path, merkle.leaf_hash(b"other root"))
    if path:
        i = draw.draw(st.integers(0, len(path) - 1))
        bad = [*path]
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        assert not merkle.verify_inclusion(leaf, index, size, bad, root)
        assert not merkle.verify_inclusion(leaf, index, size, path[:-1], root)
    assert not merkle.verify_inclusion(leaf, index, size, [*path, root], root)
    if size > 1:
        other = (index + 1) % size
        assert not merkle.verify_inclusion(leaf, other, size, path, root)
    assert not merkle.verify_inclusion(leaf, size, size, path, root)


@settings(max_examples=150, deadline=None)
@given(tree_and_index(), st.data())
def test_tampered_consistency_proofs_fail(case, draw):
    n, size, _index, first = case
    data = _data(n)
    tree = _tree(data)
    old, new = tree.root(first), tree.root(size)
    proof = tree.consistency_proof(first, size)
    forged = _tree([*data[: first - 1], b"forged", *data[first:size]])
    assert not merkle.verify_consistency(first, size, proof, forged.root(first), new)
    assert not merkle.verify_consistency(first, size, proof, old, forged.root(size))
    if proof:
        i = draw.draw(st.integers(0, len(proof) - 1))
        bad = [*proof]
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        assert not merkle.verify_consistency(first, size, bad, old, new)
        assert not merkle.verify_consistency(first, size, proof[:-1], old, new)
    assert not merkle.verify_consistency(first, size, [*proof, new], old, new)
    assert not merkle.verify_consistency(0, size, proof, old, new)


def test_bad_arguments_are_refused():
    tree = _tree(LEAVES)
    with pytest.raises(ValueError):
        tree.inclusion_proof(8, 8)
    with pytest.raises(ValueError):
        tree.root(9)
    with pytest.raises(ValueError):
        tree.consistency_proof(0, 8)
    with pytest.raises(ValueError):
        tree.consistency_proof(5, 4)
    with pytest.raises(ValueError):
        tree.append(b"short")
    assert not merkle.verify_inclusion(b"\x00" * 32, 0, 0, [], merkle.EMPTY_ROOT)
    assert not merkle.verify_inclusion(b"\x00" * 32, 0, 2, [b"short"], merkle.EMPTY_ROOT)


def test_a_large_tree_is_cheap_to_prove():
    """~100k leaves: building is linear, each proof logarithmic (no rehashing of the tree)."""
    import time

    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(100_000)]
    started = time.perf_counter()
    tree = merkle.MerkleTree(leaves)
    root = tree.root()
    for index in range(0, 100_000, 997):
        path = tree.inclusion_proof(index)
        assert len(path) <= 17
        assert merkle.verify_inclusion(leaves[index], index, tree.size, path, root)
    proof = tree.consistency_proof(65_537)
    assert merkle.verify_consistency(65_537, tree.size, proof, tree.root(65_537), root)
    assert time.perf_counter() - started < 5
