"""Perceptual fingerprints of delivered images and their lookup index.

An image is registered with one 128-bit hash (64-bit DCT hash + 64-bit gradient hash) per
window: the whole picture, and crops keeping 90% and 80% of its area at 9 and 25 positions,
so that a cropped copy still meets a window of nearly the same framing (35 windows). A query hashes the
whole picture it is given. Hashes are computed on a blurred 32×32 grey thumbnail, which JPEG,
resizing and small rotations barely move.

The index is faiss's multi-index hashing on binary codes (8 tables of 16 bits, one flipped bit
per table): every stored code within MATCH_MAX_BITS of the query is found (pigeonhole), in
time independent of the index size. MATCH_MAX_BITS is calibrated in
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
import faiss
import numpy as np
from PIL import Image

CODE_BITS = 128
FINGERPRINT_BYTES = CODE_BITS // 8
MATCH_MAX_BITS = 15
_SIDES = (1.0, 0.95, 0.894)  # full, ~90% and ~80% of the area
# Where crops of each size sit (shares of the free margin): finer for the tighter crops.
_OFFSETS = {1.0: (0.5,), 0.95: (0.0, 0.5, 1.0), 0.894: (0.0, 0.25, 0.5, 0.75, 1.0)}
_BORDER = 0.08
_TABLES, _TABLE_BITS, _FLIPS = 8, 16, 1


def _windows(width: int, height: int, registering: bool) -> list[tuple[int, int, int, int]]:
    if not registering:
        return [(0, 0, width, height)]
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


def fingerprints(image: Image.Image, *, registering: bool = True) -> np.ndarray:
    """uint8 rows of FINGERPRINT_BYTES: every window when registering, the whole when querying."""
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    height, width = grey.shape
    return np.stack(
        [
            _code(grey[top:bottom, left:right])
            for left, top, right, bottom in _windows(width, height, registering)
        ]
    )


@dataclass(frozen=True)
class Match:
    image_id: int
    distance: int  # differing bits of the closest window, out of CODE_BITS
    confidence: float  # 1 at distance 0, 0 at the threshold


class FingerprintIndex:
    """Image ids by fingerprint; safe for concurrent searches and adds."""

    def __init__(self) -> None:
        self._index = faiss.IndexBinaryMultiHash(CODE_BITS, _TABLES, _TABLE_BITS)
        self._index.nflip = _FLIPS
        self._owners: list[int] = []  # row number in the index -> image id
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(set(self._owners))

    def add(self, image_id: int, codes: np.ndarray) -> None:
        rows = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, FINGERPRINT_BYTES)
        with self._lock:
            self._index.add(rows)
            self._owners.extend([int(image_id)] * len(rows))

    def search(self, codes: np.ndarray) -> Match | None:
        """The registered image closest to any query row, if within MATCH_MAX_BITS."""
        rows = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, FINGERPRINT_BYTES)
        with self._lock:
            if not self._owners:
                return None
            _limits, distances, labels = self._index.range_search(rows, MATCH_MAX_BITS + 1)
        if not len(labels):
            return None
        best = int(np.argmin(distances))
        distance = int(distances[best])
        image_id = self._owners[int(labels[best])]
        return Match(image_id, distance, round(1 - distance / (MATCH_MAX_BITS + 1), 3))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the index atomically (codes and owners)."""
        with self._lock:
            codes = faiss.vector_to_array(self._index.storage.xb).reshape(-1, FINGERPRINT_BYTES)
            owners = np.asarray(self._owners, dtype=np.int64)
        target = Path(path)
        fd, temporary = tempfile.mkstemp(dir=target.parent, suffix=".npz")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, codes=codes, owners=owners)
        os.replace(temporary, target)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FingerprintIndex:
        index = cls()
        with np.load(path) as data:
            for image_id in np.unique(data["owners"]):
                index.add(int(image_id), data["codes"][data["owners"] == image_id])
        return index
