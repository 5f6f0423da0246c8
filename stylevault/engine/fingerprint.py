"""Perceptual fingerprints of delivered images and their lookup index.

An image is registered with one 128-bit hash (64-bit DCT hash + 64-bit gradient hash) per
window: the whole picture, and crops keeping 90% and 80% of its area at 9 and 25 positions,
so that a cropped copy still meets a window of nearly the same framing (35 windows). A query hashes the
whole picture it is given, as it is and turned by ±2°, so that a small rotation is undone (or
halved) by one of them. Hashes are computed on a blurred 32×32 grey thumbnail, which JPEG and resizing
barely move.

The index is multi-index hashing on the binary codes (8 tables of 16 bits, one flipped bit per
table): every stored code within MATCH_MAX_BITS of the query is found (pigeonhole), checking
only the codes that share a bucket. MATCH_MAX_BITS is calibrated in
docs/decisions/011-watermark-and-fingerprints.md: attacked copies stay far below it, unrelated
pictures far above.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

CODE_BITS = 128
FINGERPRINT_BYTES = CODE_BITS // 8
MATCH_MAX_BITS = 15
_SIDES = (1.0, 0.95, 0.894)  # full, ~90% and ~80% of the area
# Where crops of each size sit (shares of the free margin): finer for the tighter crops.
_OFFSETS = {1.0: (0.5,), 0.95: (0.0, 0.5, 1.0), 0.894: (0.0, 0.25, 0.5, 0.75, 1.0)}
_BORDER = 0.08
# Degrees a query is also turned by, and the size it is turned at. On busy pictures (fine texture,
# noise) a 2° turn alone moved the hash by up to 21 bits; turned back, within 11 (decision 011).
_QUERY_TURNS = (-2.0, 2.0)
_TURN_SIDE = 512
# A query row this close to a registered window is taken at once; a farther match waits for the
# other rows, which may find a closer image.
_SURE_BITS = 8
_TABLES = 8
_KEYS = 1 << 16  # 16-bit substrings


def _windows(width: int, height: int) -> list[tuple[int, int, int, int]]:
    boxes = []
    for side in _SIDES:
        w, h = round(width * side), round(height * side)
        steps = _OFFSETS[side]
        offsets = [(x, y) for x in steps for y in steps]
        for fx, fy in offsets:
            left, top = round((width - w) * fx), round((height - h) * fy)
            boxes.append((left, top, left + w, top + h))
    return boxes


def _code(grey: np.ndarray) -> np.ndarray:
    # The border is left out: rotations fill corners, crops shift edges.
    height, width = grey.shape
    dy, dx = round(height * _BORDER), round(width * _BORDER)
    small = cv2.resize(
        grey[dy : height - dy, dx : width - dx], (32, 32), interpolation=cv2.INTER_AREA
    )
    small = cv2.GaussianBlur(small, (3, 3), 0)
    low = cv2.dct(small)[:8, :8].flatten()[1:]
    dct_bits = np.append(low > np.median(low), False)
    tiny = cv2.resize(small, (9, 8), interpolation=cv2.INTER_AREA)
    gradient_bits = (tiny[:, 1:] > tiny[:, :-1]).flatten()
    return np.packbits(np.concatenate([dct_bits, gradient_bits]))


def _shrunk(grey: np.ndarray) -> np.ndarray:
    """`grey` at most _TURN_SIDE on its shorter side: the hash only looks at a 32×32 thumbnail,
    and turning 40 Mpx cost a second."""
    height, width = grey.shape
    scale = _TURN_SIDE / min(height, width)
    if scale >= 1.0:
        return grey
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def _turned(grey: np.ndarray, degrees: float) -> np.ndarray:
    height, width = grey.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(
        grey, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def fingerprints(image: Image.Image, *, registering: bool = True) -> np.ndarray:
    """uint8 rows of FINGERPRINT_BYTES: every window when registering; when querying, the whole
    picture as given, then turned by each of _QUERY_TURNS."""
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    if not registering:
        small = _shrunk(grey)
        return np.stack([_code(grey), *(_code(_turned(small, d)) for d in _QUERY_TURNS)])
    height, width = grey.shape
    return np.stack(
        [
            _code(grey[top:bottom, left:right])
            for left, top, right, bottom in _windows(width, height)
        ]
    )


@dataclass(frozen=True)
class Match:
    image_id: int
    distance: int  # differing bits of the closest window, out of CODE_BITS
    confidence: float  # 1 at distance 0, 0 at the threshold


class _MultiIndexHash:
    """Multi-index hashing (Norouzi et al.) of 128-bit codes: 8 tables keyed by 16-bit
    substrings, each probed at its key and the 16 keys one bit away. Two codes within 15 bits
    agree within one bit on at least one substring (pigeonhole), so every such code is found.

    Each table is one sorted uint64 array: the table's 16-bit key followed by the next 48 bits of
    the code, with the start of every key's run kept aside (no search to find a bucket). A
    probed bucket is then a contiguous run whose 64-bit distance to the query is
    checked in place, and only the rare rows within the radius on those 64 bits are fetched
    whole (at 35 million codes, fetching every bucket row at random cost ~15 ms a query; faiss's
    IndexBinaryMultiHash took ~75 ms). New codes wait in a small buffer searched by brute force
    until it is merged into the sorted tables.
    """

    MERGE_AT = 200_000

    def __init__(self) -> None:
        self.codes = np.zeros((0, FINGERPRINT_BYTES), dtype=np.uint8)
        self._packed = [np.zeros(0, dtype=np.uint64) for _ in range(_TABLES)]
        # Per table, where each 16-bit key's run starts (and the last one ends): no searching.
        self._starts = [np.zeros(_KEYS + 1, dtype=np.int64) for _ in range(_TABLES)]
        self._rows = [np.zeros(0, dtype=np.uint32) for _ in range(_TABLES)]
        self._pending: list[np.ndarray] = []
        self._sorted = 0  # codes[:_sorted] are in the tables

    def __len__(self) -> int:
        return self._sorted + sum(len(p) for p in self._pending)

    def add(self, codes: np.ndarray) -> None:
        self._pending.append(codes)
        if sum(len(p) for p in self._pending) >= self.MERGE_AT:
            self._merge()

    def _merge(self) -> None:
        self.codes = np.concatenate([self.codes[: self._sorted], *self._pending])
        self._pending = []
        self._sorted = len(self.codes)
        row_type = np.uint32 if self._sorted < 1 << 32 else np.int64
        for table in range(_TABLES):
            packed = _packed(self.codes, table)
            order = np.argsort(packed)
            self._packed[table] = packed[order]
            self._rows[table] = order.astype(row_type)
            counts = np.bincount(self._packed[table] >> np.uint64(48), minlength=_KEYS)
            self._starts[table] = np.concatenate([[0], np.cumsum(counts)])

    def search(self, query: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows (global numbers) of codes within `radius` bits of `query`, and their distances."""
        candidates = [self._probe(query, radius)]
        offset = self._sorted
        for block in self._pending:
            candidates.append(np.arange(offset, offset + len(block)))
            offset += len(block)
        rows = np.unique(np.concatenate(candidates))
        if not len(rows):
            return rows, rows
        # Rows come sorted: those in the tables, then those still pending (a small buffer; the
        # tables are never copied).
        codes = self.codes[rows[rows < self._sorted]]
        if self._pending:
            pending = np.concatenate(self._pending)[rows[rows >= self._sorted] - self._sorted]
            codes = np.concatenate([codes, pending])
        words = np.ascontiguousarray(codes).view(np.uint64)
        distances = np.bitwise_count(words ^ query.view(np.uint64)).sum(axis=1)
        near = distances <= radius
        return rows[near], distances[near]

    def _probe(self, query: np.ndarray, radius: int) -> np.ndarray:
        """Sorted rows whose 64 bits around a probed key are within `radius` of the query's."""
        found = []
        flips = np.concatenate([[0], 1 << np.arange(16)]).astype(np.uint64)
        for table in range(_TABLES):
            packed, own = self._packed[table], _packed(query[None], table)[0]
            keys = ((own >> np.uint64(48)) ^ flips).astype(np.int64)
            positions = _runs(self._starts[table][keys], self._starts[table][keys + 1])
            near = np.bitwise_count(packed[positions] ^ own) <= radius
            found.append(self._rows[table][positions[near]])
        return np.concatenate(found).astype(np.int64)


def _runs(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Every position of the half-open runs [low, high), concatenated, without a Python loop."""
    lengths = (high - low).astype(np.int64)
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    run_starts = np.repeat(low.astype(np.int64) - (np.cumsum(lengths) - lengths), lengths)
    return np.arange(total, dtype=np.int64) + run_starts


def _packed(codes: np.ndarray, table: int) -> np.ndarray:
    """Per code: 16-bit substring `table`, then the next three (wrapping), as one uint64."""
    words = codes.view(np.uint16)
    packed = np.zeros(len(codes), dtype=np.uint64)
    for part in range(4):
        column = words[:, (table + part) % _TABLES].astype(np.uint64)
        packed |= column << np.uint64(48 - 16 * part)
    return packed


class FingerprintIndex:
    """Image ids by fingerprint; safe for concurrent searches and adds."""

    def __init__(self) -> None:
        self._hash = _MultiIndexHash()
        self._owners = np.zeros(0, dtype=np.int64)  # row number -> image id
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(np.unique(self._owners))

    def add(self, image_id: int, codes: np.ndarray) -> None:
        rows = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, FINGERPRINT_BYTES)
        with self._lock:
            self._hash.add(rows)
            self._owners = np.concatenate([self._owners, np.full(len(rows), int(image_id))])

    def search(self, codes: np.ndarray) -> Match | None:
        """The registered image closest to any query row, if within MATCH_MAX_BITS. Rows come
        in order of preference: a match within _SURE_BITS ends the search (a plain copy costs
        one probe)."""
        queries = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, FINGERPRINT_BYTES)
        best: tuple[int, int] | None = None
        for query in queries:
            with self._lock:
                rows, distances = self._hash.search(query, MATCH_MAX_BITS)
                if len(rows):
                    closest = int(np.argmin(distances))
                    found = (int(distances[closest]), int(self._owners[rows[closest]]))
                    best = found if best is None or found < best else best
            if best is not None and best[0] <= _SURE_BITS:
                break
        if best is None:
            return None
        distance, image_id = best
        return Match(image_id, distance, round(1 - distance / (MATCH_MAX_BITS + 1), 3))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the index atomically (codes and owners)."""
        with self._lock:
            pending = self._hash._pending
            codes = np.concatenate([self._hash.codes[: self._hash._sorted], *pending])
            owners = self._owners.copy()
        target = Path(path)
        fd, temporary = tempfile.mkstemp(dir=target.parent, suffix=".npz")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, codes=codes, owners=owners)
        os.replace(temporary, target)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FingerprintIndex:
        index = cls()
        with np.load(path) as data:
            index._hash.add(data["codes"])
            index._hash._merge()
            index._owners = data["owners"].astype(np.int64)
        return index
