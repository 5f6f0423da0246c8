"""Offline face detection: MediaPipe's BlazeFace full-range model run with LiteRT.

The model (`facemodel/face_detection_full_range_sparse.tflite`, Apache-2.0, from the
mediapipe 0.10.21 wheel; see decision 050) sits in the package, so nothing is downloaded at
run time. No torch and no Django: the web's upload check and the workers' variant check share it.

The decoding follows MediaPipe's own graph for this model: 192×192 letterboxed input scaled to
[-1, 1], 2304 anchors (one per cell of a 48×48 grid), sigmoid scores, weighted non-maximum
suppression at IoU 0.3.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

MODEL_PATH = Path(__file__).parent / "facemodel" / "face_detection_full_range_sparse.tflite"
MODEL_SHA256 = "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"
_SIDE = 192
_GRID = 48
_SUPPRESSION_IOU = 0.3
_local = threading.local()


@dataclass(frozen=True)
class Face:
    """A face box in the pixels of the image that was checked: (x, y, w, h) and its score."""

    x: int
    y: int
    w: int
    h: int
    score: float

    @property
    def box(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


@dataclass(frozen=True)
class FaceRules:
    """Exactly one face scores at least `accept`, no other reaches `reject`, and the accepted
    face's shorter side is at least `min_fraction` of the image's shorter side."""

    accept: float = 0.7
    reject: float = 0.4
    min_fraction: float = 0.08


@dataclass(frozen=True)
class FaceCheck:
    """The outcome: `verdict` is "ok", "no_face", "multiple_faces" or "face_too_small"."""

    verdict: str
    faces: tuple[Face, ...]

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"


def _anchors() -> np.ndarray:
    centres = (np.arange(_GRID, dtype=np.float32) + 0.5) / _GRID
    ys, xs = np.meshgrid(centres, centres, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


_ANCHORS = _anchors()


def _interpreter():
    # An interpreter is not thread-safe: one per thread, loaded on first use.
    interpreter = getattr(_local, "interpreter", None)
    if interpreter is None:
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(MODEL_PATH), num_threads=1)
        interpreter.allocate_tensors()
        _local.interpreter = interpreter
    return interpreter


def _letterbox(image: Image.Image) -> tuple[np.ndarray, float, int, int]:
    """The image fitted into 192×192 (aspect kept, zero borders), and how to map boxes back."""
    if image.mode not in ("RGB", "RGBA", "L"):
        image = image.convert("RGB")
    scale = _SIDE / max(image.size)
    width, height = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    # A box filter down to about twice the target first keeps 12-MP photos fast.
    factor = max(1, max(image.size) // (_SIDE * 2))
    small = (image.reduce(factor) if factor > 1 else image).convert("RGB")
    small = small.resize((width, height), Image.Resampling.BILINEAR)
    canvas = np.zeros((_SIDE, _SIDE, 3), dtype=np.float32)
    left, top = (_SIDE - width) // 2, (_SIDE - height) // 2
    canvas[top : top + height, left : left + width] = np.asarray(small, dtype=np.float32)
    return canvas / 127.5 - 1.0, scale, left, top


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[2], others[:, 2])
    y2 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def _weighted_nms(boxes: np.ndarray, scores: np.ndarray) -> list[tuple[np.ndarray, float]]:
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    merged = []
    while len(scores):
        overlap = _iou(boxes[0], boxes) >= _SUPPRESSION_IOU
        weights = scores[overlap]
        merged.append(((boxes[overlap] * weights[:, None]).sum(0) / weights.sum(), scores[0]))
        boxes, scores = boxes[~overlap], scores[~overlap]
    return merged


def _detect_once(image: Image.Image, min_score: float) -> list[tuple[np.ndarray, float]]:
    """(x1, y1, x2, y2) boxes in `image`'s pixels with their scores, after suppression."""
    tensor, scale, left, top = _letterbox(image)
    interpreter = _interpreter()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor[None])
    interpreter.invoke()
    outputs = {o["shape"][-1]: o["index"] for o in interpreter.get_output_details()}
    raw = interpreter.get_tensor(outputs[16])[0]
    logits = np.clip(interpreter.get_tensor(outputs[1])[0, :, 0].astype(np.float64), -100, 100)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = scores >= min_score
    if not keep.any():
        return []
    raw, scores, anchors = raw[keep], scores[keep], _ANCHORS[keep]
    cx = raw[:, 0] / _SIDE + anchors[:, 0]
    cy = raw[:, 1] / _SIDE + anchors[:, 1]
    w, h = raw[:, 2] / _SIDE, raw[:, 3] / _SIDE
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1) * _SIDE
    # Back from the 192-pixel letterbox to the image's pixels.
    boxes = (boxes - np.array([left, top, left, top])) / scale
    return _weighted_nms(boxes, scores)


def _tiles(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """2×2 overlapping crops, each 55 % of a side: faces under the full view's ~10 % reach."""
    w, h = round(0.55 * width), round(0.55 * height)
    return [(x, y, x + w, y + h) for y in (0, height - h) for x in (0, width - w)]


def detect_faces(
    image: Image.Image,
    *,
    min_score: float = 0.3,
    tiled: bool = False,
    tile_min_score: float | None = None,
) -> list[Face]:
    """Every face scoring at least `min_score`, best first, in the image's own pixels.

    The model sees the whole image at 192×192, so faces under about a tenth of the longer
    side go unseen; `tiled` also looks at four overlapping crops to find those, keeping what
    they alone see only at `tile_min_score` (default `min_score`).
    """
    if tiled:
        # Tiles are cut from one copy at four times the model's side, not from the full photo.
        factor = max(1, max(image.size) // (_SIDE * 4))
        source = image.reduce(factor) if factor > 1 else image
        return [
            Face(f.x * factor, f.y * factor, f.w * factor, f.h * factor, f.score)
            for f in _faces_in(source, min_score, tile_min_score or min_score)
        ]
    return _faces_in(image, min_score, None)


def _inside_tile(box: np.ndarray, tile: tuple[int, int, int, int], size: tuple[int, int]) -> bool:
    """False for a box cut by the tile's edge (a face the whole view or another tile holds)."""
    x1, y1, x2, y2 = tile
    margin = 0.02 * (x2 - x1)
    return (
        (box[0] > x1 + margin or x1 == 0)
        and (box[1] > y1 + margin or y1 == 0)
        and (box[2] < x2 - margin or x2 == size[0])
        and (box[3] < y2 - margin or y2 == size[1])
    )


def _merge(found: list[tuple[np.ndarray, float]]) -> list[tuple[np.ndarray, float]]:
    """One box per face across views: a box mostly inside a better one is the same face."""
    kept: list[tuple[np.ndarray, float]] = []
    for box, score in sorted(found, key=lambda item: -item[1]):
        area = max((box[2] - box[0]) * (box[3] - box[1]), 1e-9)
        if all(_overlap(box, other) / area < 0.5 for other, _s in kept):
            kept.append((box, score))
    return kept


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def _faces_in(image: Image.Image, min_score: float, tile_min_score: float | None) -> list[Face]:
    found = _detect_once(image, min_score)
    if tile_min_score is not None:
        for tile in _tiles(image.width, image.height):
            offset = np.array(tile[:2] * 2)
            found += [
                (box + offset, s)
                for box, s in _detect_once(image.crop(tile), tile_min_score)
                if _inside_tile(box + offset, tile, image.size)
            ]
        found = _merge(found)
    faces = []
    for (x1, y1, x2, y2), score in sorted(found, key=lambda item: -item[1]):
        x1, x2 = min(max(x1, 0), image.width), min(max(x2, 0), image.width)
        y1, y2 = min(max(y1, 0), image.height), min(max(y2, 0), image.height)
        if x2 - x1 >= 1 and y2 - y1 >= 1:
            faces.append(Face(round(x1), round(y1), round(x2 - x1), round(y2 - y1), float(score)))
    return faces


def check_one_face(image: Image.Image, rules: FaceRules = FaceRules()) -> FaceCheck:
    """Applies the photo studio's rule: exactly one clear face, big enough, nobody else."""
    # The whole view finds faces over a tenth of the picture, the tiles the smaller ones (a
    # face in the background, or one person too far away); a face only the tiles see must be
    # clear, since textures that look faintly like one are many at that scale.
    faces = tuple(
        detect_faces(image, min_score=rules.reject, tiled=True, tile_min_score=rules.accept)
    )
    accepted = [f for f in faces if f.score >= rules.accept]
    if not accepted:
        return FaceCheck("no_face", faces)
    if len(faces) > 1:
        return FaceCheck("multiple_faces", faces)
    face = accepted[0]
    if min(face.w, face.h) < rules.min_fraction * min(image.width, image.height):
        return FaceCheck("face_too_small", faces)
    return FaceCheck("ok", faces)
