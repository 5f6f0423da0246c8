"""The fingerprint index finds exactly what a brute-force scan finds within the match radius."""

from __future__ import annotations

import numpy as np

from stylevault.engine.fingerprint import FINGERPRINT_BYTES, MATCH_MAX_BITS, FingerprintIndex


def _flip(code: np.ndarray, bits: np.ndarray) -> np.ndarray:
    flipped = np.unpackbits(code).copy()
    flipped[bits] ^= 1
    return np.packbits(flipped)


def test_every_code_within_the_radius_is_found_and_nothing_farther() -> None:
    rng = np.random.default_rng(3)
    index = FingerprintIndex()
    stored = rng.integers(0, 256, size=(3000, FINGERPRINT_BYTES), dtype=np.uint8)
    for image_id in range(1000):  # three windows an image
        index.add(image_id, stored[3 * image_id : 3 * image_id + 3])
    index._hash._merge()
    waiting = rng.integers(0, 256, size=(2, FINGERPRINT_BYTES), dtype=np.uint8)
    index.add(1000, waiting)  # stays in the pending buffer, found all the same
    near_waiting = _flip(waiting[1], np.arange(0, 120, 12))  # 10 bits away
    assert (index.search(near_waiting).image_id, index.search(near_waiting).distance) == (1000, 10)
    for trial in range(300):
        row = int(rng.integers(len(stored)))
        distance = int(rng.integers(0, 2 * MATCH_MAX_BITS))
        bits = rng.choice(8 * FINGERPRINT_BYTES, distance, replace=False)
        # Flips bunched in one 16-bit word or spread evenly are the hard cases for the tables.
        if trial % 3 == 1:
            bits = rng.permutation(16)[: min(distance, 16)] + 16 * int(rng.integers(8))
        query = _flip(stored[row], bits)
        words = np.ascontiguousarray(stored).view(np.uint64)
        brute = np.bitwise_count(words ^ query.view(np.uint64)).sum(axis=1)
        closest = int(brute.min())
        match = index.search(query)
        if closest <= MATCH_MAX_BITS:
            assert match is not None and match.distance == closest
            assert match.image_id in {int(r) // 3 for r in np.flatnonzero(brute == closest)}
        else:
            assert match is None
