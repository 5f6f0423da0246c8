"""Reads of styles. Who may see what is decided here: published styles are public; every
other status is visible to the style's artist and to operators only."""

from __future__ import annotations

import threading

import numpy as np
from django.db.models import Max, QuerySet

from stylevault.styles.models import Style, StyleStatus, StyleVector, VectorKind


def _is_operator(viewer) -> bool:
    return bool(getattr(viewer, "is_authenticated", False) and viewer.is_operator)


def can_manage(viewer, style: Style) -> bool:
    """The style's artist and operators see its status, progress and check report."""
    return bool(getattr(viewer, "is_authenticated", False)) and (
        style.artist_id == viewer.pk or viewer.is_operator
    )


def published_styles() -> QuerySet[Style]:
    return Style.objects.filter(status=StyleStatus.PUBLISHED).select_related("artist")


def showcase_styles(artist_username: str, limit: int = 3) -> list[Style]:
    """The published styles of `artist_username` (the demo artist), else the newest published
    ones, with their samples and tags loaded: what the home page shows first."""
    rows = published_styles().prefetch_related("samples", "tags").order_by("pk")
    mine = list(rows.filter(artist__username=artist_username)[:limit])
    return mine or list(rows.order_by("-pk")[:limit])


def style_for(viewer, style_id: int) -> Style | None:
    """The style if `viewer` may see it; None for unknown ids and for others' unpublished ones."""
    style = (
        Style.objects.select_related("artist", "training_job", "check_job")
        .prefetch_related("tags", "samples")
        .filter(pk=style_id)
        .first()
    )
    if style is None or not (style.is_published or can_manage(viewer, style)):
        return None
    return style


def styles_of(artist) -> QuerySet[Style]:
    return Style.objects.filter(artist=artist).prefetch_related("tags")


def review_queue() -> QuerySet[Style]:
    return Style.objects.filter(status=StyleStatus.IN_REVIEW).select_related("artist")


def progress_of(style: Style) -> dict | None:
    """The running stage's progress: {"stage", "step", "total", "loss"?}, or None when idle."""
    stages = {StyleStatus.QUEUED: style.training_job, StyleStatus.TRAINING: style.training_job}
    stages[StyleStatus.CHECKING] = style.check_job
    job = stages.get(style.status)
    if job is None:
        return None
    progress = dict(job.progress or {})
    progress.setdefault("stage", "training" if job == style.training_job else "checking")
    return progress


# --------------------------------------------------------------------------------------------
# The vector index of published styles, cached per process and rebuilt when the vectors change.

_index_lock = threading.Lock()
_indexes: dict[tuple[str, str], tuple[tuple, object]] = {}


def published_index(space: str, kind: str):
    # The engine (NumPy/OpenCV, torch behind its lazy names) loads on first use, not at web start.
    from stylevault.engine.vectors import StyleIndex

    rows = StyleVector.objects.filter(space=space, kind=kind, style__status=StyleStatus.PUBLISHED)
    version = (rows.count(), rows.aggregate(m=Max("id"))["m"])
    with _index_lock:
        cached = _indexes.get((space, kind))
        if cached is not None and cached[0] == version:
            return cached[1]
        by_style: dict[int, list[np.ndarray]] = {}
        for style_id, blob in rows.values_list("style_id", "vector").iterator():
            by_style.setdefault(style_id, []).append(np.frombuffer(bytes(blob), dtype=np.float32))
        dim = next((len(v[0]) for v in by_style.values()), 1)
        index = StyleIndex.build(
            ((style_id, np.stack(vectors)) for style_id, vectors in by_style.items()),
            dim=dim,
            space=space,
        )
        _indexes[(space, kind)] = (version, index)
        return index


def forget_indexes() -> None:
    """Drops this process's cached indexes (tests that empty the database)."""
    with _index_lock:
        _indexes.clear()


def vectors_of(style: Style, kind: str) -> np.ndarray:
    blobs = StyleVector.objects.filter(style=style, kind=kind).values_list("vector", flat=True)
    rows = [np.frombuffer(bytes(blob), dtype=np.float32) for blob in blobs]
    return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)


def nearest_published(
    *, vectors: dict[str, np.ndarray], space: str, exclude: set[int], k: int = 10
) -> dict[int, dict[str, float]]:
    """Published styles nearest to these vectors: style id → {vector kind: best similarity}."""
    scores: dict[int, dict[str, float]] = {}
    for kind, rows in vectors.items():
        if not len(rows):
            continue
        index = published_index(space, kind)
        if not len(index):
            continue
        for style_id, similarity in index.search(rows, k=k, exclude=exclude):
            scores.setdefault(style_id, {})[kind] = float(similarity)
    return scores


def similar_styles(style: Style, *, limit: int = 10) -> list[tuple[Style, float]]:
    """Published styles ordered by style similarity to `style` (works first, else references)."""
    if not style.embedding_space:
        return []
    vectors = {kind: vectors_of(style, kind) for kind in (VectorKind.WORK, VectorKind.REFERENCE)}
    scores = nearest_published(
        vectors=vectors, space=style.embedding_space, exclude={style.pk}, k=limit
    )
    best = {sid: max(by_kind.values()) for sid, by_kind in scores.items()}
    found = published_styles().prefetch_related("tags").in_bulk(list(best))
    ranked = sorted(best, key=lambda sid: -best[sid])
    return [(found[sid], best[sid]) for sid in ranked if sid in found][:limit]
