"""Pure decisions of the style checks, on embedding matrices (rows are L2-normalised).

Thresholds are per embedding space (`engine.embedding.embedding_model` names it); how each was
calibrated is in docs/decisions/012-style-similarity.md. Two statistics compare styles:
- a set's centroid (`compare_styles`): two sets of works whose centroids are this close are one
  style, whichever pictures they hold. The strongest signal: same artist and different artists
  are far apart in handmade-v1;
- the best single pair (`is_similar`, fed by the vector index's per-style maxima): a work this
  close to one of another style's works is a copy of it, re-encoded or resized.
References (images rendered with the LoRA from the fixed prompts) flag with CLIP on a real base
model (0.92, as the SPEC says). In handmade-v1 they do not: on the tiny model the references of
unrelated LoRAs are practically the same pictures (cosine 1.000), so there the works decide.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

WORK = "work"
REFERENCE = "reference"
# A set is mixed when its dispersion is too high, or when this many works are outliers.
MIXED_OUTLIERS = 2


@dataclass(frozen=True)
class Thresholds:
    """One embedding space's thresholds; cosine similarities and cosine distances (1 - cos)."""

    style: float  # centroid similarity at or above which two sets are one style
    work: float  # best work-to-work similarity at or above which a work is copied
    reference: float | None  # best reference-to-reference similarity; None: never flags
    dispersion: float  # mean distance of the works to their centroid above which a set is mixed
    outlier: float  # a work farther than this from its set's centroid is an outlier
    split: float  # distance between the centroids of a set's two halves above which it is mixed


THRESHOLDS = {
    # SPEC: 0.92 for references. The rest are estimates, not measured here (no CLIP weights on
    # the build machines): recalibrate with `python -m tests.engine.test_styleqa`.
    "clip": Thresholds(
        style=0.92, work=0.95, reference=0.92, dispersion=0.25, outlier=0.45, split=0.25
    ),
    # Measured on 21 procedural artists (docs/decisions/012-style-similarity.md).
    "handmade-v1": Thresholds(
        style=0.975, work=0.987, reference=None, dispersion=0.09, outlier=0.25, split=0.10
    ),
}


def thresholds_for(space: str) -> Thresholds:
    """The thresholds of `space` ("clip:<path>" counts as "clip")."""
    family = "clip" if space.startswith("clip") else space
    if family not in THRESHOLDS:
        raise ValueError(f"no thresholds calibrated for embedding space {space!r}")
    return THRESHOLDS[family]


@dataclass(frozen=True)
class ConsistencyReport:
    """`outliers` are row indices of works unlike the rest of the set."""

    count: int
    dispersion: float
    threshold: float
    outliers: tuple[int, ...]
    split: float
    split_threshold: float
    flagged: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SimilarityReport:
    """Centroid similarities of two styles' works and references (None: a set is missing)."""

    works_similarity: float | None
    references_similarity: float | None
    threshold: float
    flagged_by: tuple[str, ...]  # WORK and/or REFERENCE

    @property
    def flagged(self) -> bool:
        return bool(self.flagged_by)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "flagged": self.flagged}


def centroid(embeddings: np.ndarray) -> np.ndarray:
    """The normalised mean of the rows: the set's style direction."""
    mean = np.asarray(embeddings, dtype=np.float32).mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def consistency(embeddings: np.ndarray, *, space: str) -> ConsistencyReport:
    """Whether the training works look like one artist's: tight around their centroid.

    A half-and-half mix of two artists raises the dispersion, unless the two are alike: then
    the set still falls into two groups far apart (`split`). A few works of another artist
    among many barely move either, but they stand out as outliers.
    """
    limits = thresholds_for(space)
    rows = np.asarray(embeddings, dtype=np.float32)
    if len(rows) < 2:
        return ConsistencyReport(len(rows), 0.0, limits.dispersion, (), 0.0, limits.split, False)
    distances = 1.0 - rows @ centroid(rows)
    dispersion = float(distances.mean())
    outliers = tuple(int(i) for i in np.flatnonzero(distances > limits.outlier))
    split = two_group_distance(rows)
    flagged = (
        dispersion > limits.dispersion or len(outliers) >= MIXED_OUTLIERS or split > limits.split
    )
    return ConsistencyReport(
        len(rows),
        round(dispersion, 4),
        limits.dispersion,
        outliers,
        round(split, 4),
        limits.split,
        flagged,
    )


def two_group_distance(rows: np.ndarray, *, rounds: int = 10) -> float:
    """Cosine distance between the centroids of the best split of `rows` in two groups
    (spherical 2-means, started from the principal direction); 0 when no split exists."""
    if len(rows) < 4:
        return 0.0
    centred = rows - rows.mean(axis=0)
    direction = np.linalg.svd(centred, full_matrices=False)[2][0]
    group = centred @ direction > 0
    for _ in range(rounds):
        if group.all() or not group.any():
            return 0.0
        first, second = centroid(rows[group]), centroid(rows[~group])
        regrouped = rows @ first > rows @ second
        if (regrouped == group).all():
            break
        group = regrouped
    if group.all() or not group.any():
        return 0.0
    return float(1.0 - centroid(rows[group]) @ centroid(rows[~group]))


def compare_styles(
    candidate_works: np.ndarray,
    candidate_references: np.ndarray,
    other_works: np.ndarray,
    other_references: np.ndarray,
    *,
    space: str,
) -> SimilarityReport:
    """Compares two styles by the centroids of their works and of their references.

    Empty sets (an imported LoRA has no works) are skipped. References count only where the
    space trusts them (`Thresholds.reference` is set).
    """
    limits = thresholds_for(space)
    works = _centroid_similarity(candidate_works, other_works)
    references = _centroid_similarity(candidate_references, other_references)
    flagged_by = []
    if works is not None and works >= limits.style:
        flagged_by.append(WORK)
    if limits.reference is not None and references is not None and references >= limits.style:
        flagged_by.append(REFERENCE)
    return SimilarityReport(works, references, limits.style, tuple(flagged_by))


def is_similar(similarity_by_kind: dict[str, float], *, space: str) -> bool:
    """Whether a best single-pair similarity (per vector kind) reaches the space's threshold."""
    limits = thresholds_for(space)
    by_kind = {WORK: limits.work, REFERENCE: limits.reference}
    return any(
        by_kind.get(kind) is not None and similarity >= by_kind[kind]
        for kind, similarity in similarity_by_kind.items()
    )


def _centroid_similarity(first: np.ndarray, second: np.ndarray) -> float | None:
    if not len(first) or not len(second):
        return None
    return round(float(centroid(first) @ centroid(second)), 4)
