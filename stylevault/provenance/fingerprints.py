"""Fingerprints of delivered images: stored as rows, looked up through an in-memory binary-hash
index (engine.fingerprint.FingerprintIndex) that each process keeps and tops up from new rows."""

from __future__ import annotations

import base64
import threading

import numpy as np

from stylevault.provenance.models import ImageFingerprint

_lock = threading.Lock()
_state: dict[str, object] = {"index": None, "last_id": 0}


def _unpack(data: bytes, rows: int) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype=np.uint8).reshape(rows, -1)


def store(*, image, packed: str) -> ImageFingerprint:
    """Records an image's fingerprints (base64 of the packed uint8 rows)."""
    # The engine (NumPy/OpenCV, torch behind its lazy names) loads on first use, not at web start.
    from stylevault.engine.fingerprint import FINGERPRINT_BYTES

    data = base64.b64decode(packed)
    return ImageFingerprint.objects.create(
        image=image, data=data, rows=len(data) // FINGERPRINT_BYTES
    )


def index():
    """This process's index, with every fingerprint row stored so far."""
    # The engine (NumPy/OpenCV, torch behind its lazy names) loads on first use, not at web start.
    from stylevault.engine.fingerprint import FingerprintIndex

    with _lock:
        if _state["index"] is None:
            _state["index"] = FingerprintIndex()
        current = _state["index"]
        fresh = ImageFingerprint.objects.filter(pk__gt=_state["last_id"]).order_by("pk")
        for pk, image_id, data, rows in fresh.values_list(
            "pk", "image_id", "data", "rows"
        ).iterator():
            current.add(image_id, _unpack(data, rows))
            _state["last_id"] = pk
        return current


def forget_index() -> None:
    """Drops this process's index (tests that flush the database)."""
    with _lock:
        _state.update(index=None, last_id=0)
