"""Pure decisions of the style checks, on embedding matrices (L2-normalised rows).

Thresholds are per embedding space (engine.embedding.embedding_model names it) and were
calibrated as docs/decisions/012-style-similarity.md describes. Two vector kinds are compared:
- "work": a training work's embedding. Near-identical works (the same picture re-encoded or
  resized) score ≥ 0.998 in handmade-v1, different artists' closest works ≤ 0.91.
- "reference": an image rendered with the LoRA from the fixed prompt set. Meaningful with CLIP
  on a real base model (0.92, as the SPEC says); on the tiny model, references of unrelated
  LoRAs look alike, so handmade-v1 does not use them to flag.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# Mean cosine distance of the works to their centroid above which a set looks mixed.
CONSISTENCY_MAX = {"clip": 0.25, "handmade-v1": 0.10}
# Similarity per vector kind at or above which two styles are flagged (None: not used).
SIMILARITY_MIN = {
    "clip": {"work": 0.95, "reference": 0.92},
    "handmade-v1": {"work": 0.97, "reference": None},
}


def _family(space: str) -> str:
    return "clip" if space.startswith("clip") else space


@dataclass(frozen=True)
class ConsistencyReport:
    dispersion: float
    threshold: float
    flagged: bool

    def as_dict(self) -> dict:
        return asdict(self)


def centroid(embeddings: np.ndarray) -> np.ndarray:
    mean = np.asarray(embeddings, dtype=np.float32).mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def consistency(embeddings: np.ndarray, *, space: str) -> ConsistencyReport:
    """How tightly the training works cluster; a set of two artists' works is flagged."""
    rows = np.asarray(embeddings, dtype=np.float32)
    dispersion = float(1.0 - (rows @ centroid(rows)).mean())
    threshold = CONSISTENCY_MAX.get(_family(space), CONSISTENCY_MAX["handmade-v1"])
    return ConsistencyReport(round(dispersion, 4), threshold, dispersion > threshold)


def is_similar(similarity_by_kind: dict[str, float], *, space: str) -> bool:
    """Whether any vector kind's best similarity reaches the space's threshold for it."""
    thresholds = SIMILARITY_MIN.get(_family(space), SIMILARITY_MIN["handmade-v1"])
    return any(
        thresholds.get(kind) is not None and similarity >= thresholds[kind]
        for kind, similarity in similarity_by_kind.items()
    )
