"""Style checks on procedural artists, with the weight-free handmade-v1 embedding.

Run as a module to print the calibration distributions behind the thresholds
(docs/decisions/012-style-similarity.md), in whatever embedding space is configured:

    python -m tests.engine.test_styleqa [artists] [works per artist]
"""

from __future__ import annotations

import io
import itertools
import sys

import numpy as np
import pytest
from PIL import Image

from stylevault.engine import embedding_model, style_embedding
from stylevault.engine.demo_art import procedural_artist
from stylevault.engine.styleqa import (
    MIXED_OUTLIERS,
    REFERENCE,
    THRESHOLDS,
    WORK,
    centroid,
    compare_styles,
    consistency,
    is_similar,
    thresholds_for,
)
from stylevault.engine.vectors import StyleIndex

SPACE = "handmade-v1"
ARTISTS = range(6)
WORKS = 6


def reencoded(image: Image.Image, variant: int) -> Image.Image:
    """The same picture as a copier might upload it: resized and JPEG-compressed."""
    side, quality = ((768, 85), (384, 70))[variant % 2]
    buffer = io.BytesIO()
    image.resize((side, side), Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def artist_sets(style_seed: int, works: int) -> dict[str, np.ndarray]:
    """One artist's embeddings: `works`, `other` (different pictures), `copy` (works re-encoded)."""
    paint = procedural_artist(style_seed)
    pictures = [paint(seed) for seed in range(works)]
    return {
        "works": style_embedding(pictures),
        "other": style_embedding([paint(1000 + seed) for seed in range(works)]),
        "copy": style_embedding([reencoded(p, i) for i, p in enumerate(pictures)]),
    }


@pytest.fixture(scope="module")
def artists(monkeypatch_module) -> dict[int, dict[str, np.ndarray]]:
    return {seed: artist_sets(seed, WORKS) for seed in ARTISTS}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("STYLEVAULT_CLIP_MODEL", raising=False)
        yield patch


def pairs() -> list[tuple[int, int]]:
    return list(itertools.combinations(ARTISTS, 2))


def test_one_artists_works_are_consistent(artists) -> None:
    for sets in artists.values():
        report = consistency(np.vstack([sets["works"], sets["other"]]), space=SPACE)
        assert not report.flagged and report.outliers == ()
        assert report.count == 2 * WORKS and report.dispersion < report.threshold


def test_two_artists_mixed_are_flagged(artists) -> None:
    for first, second in pairs():
        half = consistency(
            np.vstack([artists[first]["works"], artists[second]["works"]]), space=SPACE
        )
        # Spread out, or (two artists who look alike) in two groups far apart.
        assert half.flagged
        assert half.dispersion > half.threshold or half.split > THRESHOLDS[SPACE].split
        # A few works of another artist among many: outliers, or a small group far away.
        few = np.vstack(
            [artists[first]["works"], artists[first]["other"], artists[second]["works"][:2]]
        )
        assert consistency(few, space=SPACE).flagged


def test_too_few_works_are_not_judged() -> None:
    report = consistency(np.eye(3, dtype=np.float32)[:1], space=SPACE)
    assert not report.flagged and report.dispersion == 0.0
    assert report.as_dict()["flagged"] is False


def test_copied_works_and_the_same_artist_are_flagged(artists) -> None:
    for sets in artists.values():
        copied = compare_styles(
            sets["copy"], sets["copy"][:0], sets["works"], sets["works"][:0], space=SPACE
        )
        assert copied.flagged_by == (WORK,) and copied.works_similarity >= copied.threshold
        same_hand = compare_styles(sets["other"], [], sets["works"], [], space=SPACE)
        assert same_hand.flagged and same_hand.references_similarity is None


def test_different_artists_are_not_flagged(artists) -> None:
    for first, second in pairs():
        report = compare_styles(
            artists[first]["works"], [], artists[second]["works"], [], space=SPACE
        )
        assert not report.flagged and report.works_similarity < report.threshold
        assert report.as_dict()["flagged"] is False


def test_the_index_finds_copies_and_not_strangers(artists) -> None:
    index = StyleIndex(artists[0]["works"].shape[1], space=SPACE)
    for seed, sets in artists.items():
        index.add(seed, sets["works"])
    for seed, sets in artists.items():
        (found, best), *_ = index.search(sets["copy"], k=3)
        assert found == seed and is_similar({WORK: best}, space=SPACE)
        strangers = index.search(sets["other"], k=len(artists), exclude={seed})
        assert not any(is_similar({WORK: score}, space=SPACE) for _, score in strangers)


def test_references_flag_only_where_the_space_trusts_them(artists) -> None:
    """On the tiny model every LoRA renders practically the same references: handmade-v1
    leaves them to CLIP, so unrelated works are not flagged however alike references are."""
    references = artists[0]["works"]
    unrelated = compare_styles(
        artists[1]["works"], references, artists[2]["works"], references, space=SPACE
    )
    assert not unrelated.flagged and unrelated.references_similarity == pytest.approx(1.0)
    imported = compare_styles([], references, artists[2]["works"], references, space=SPACE)
    assert not imported.flagged and imported.works_similarity is None
    clip = compare_styles([], references, [], references, space="clip:/models/clip")
    assert clip.flagged_by == (REFERENCE,)
    assert not is_similar({REFERENCE: 1.0}, space=SPACE)
    assert is_similar({REFERENCE: 1.0}, space="clip:/models/clip")


def test_thresholds_are_per_space() -> None:
    assert thresholds_for("clip:/any/path") is THRESHOLDS["clip"]
    assert THRESHOLDS["clip"].reference == 0.92  # the SPEC's similarity flag
    with pytest.raises(ValueError):
        thresholds_for("some-other-space")


# --- Calibration: `python -m tests.engine.test_styleqa` -----------------------------------------


def _summary(values: list[float]) -> str:
    v = np.asarray(values)
    return (
        f"n={len(v):4d} min {v.min():.4f} p5 {np.percentile(v, 5):.4f} "
        f"median {np.median(v):.4f} p95 {np.percentile(v, 95):.4f} max {v.max():.4f}"
    )


def _similarities(data: dict[int, dict[str, np.ndarray]]) -> dict[str, list[float]]:
    between = list(itertools.combinations(data, 2))
    cos = {
        (a, b): float(centroid(data[a]["works"]) @ centroid(data[b]["works"])) for a, b in between
    }
    return {
        "centroid, copied works (re-encoded)": [
            float(centroid(s["works"]) @ centroid(s["copy"])) for s in data.values()
        ],
        "centroid, same artist, other works": [
            float(centroid(s["works"]) @ centroid(s["other"])) for s in data.values()
        ],
        "centroid, different artists": list(cos.values()),
        "best pair, copied works": [float((s["works"] @ s["copy"].T).max()) for s in data.values()],
        "best pair, same artist, other works": [
            float((s["works"] @ s["other"].T).max()) for s in data.values()
        ],
        "best pair, different artists": [
            float((data[a]["works"] @ data[b]["works"].T).max()) for a, b in between
        ],
    }


def _dispersions(data: dict[int, dict[str, np.ndarray]], space: str) -> dict[str, list[float]]:
    ordered = list(itertools.permutations(data, 2))
    mixes = {
        "mix 50/50": lambda a, b: np.vstack([data[a]["works"], data[b]["works"]]),
        "mix 85/15": lambda a, b: np.vstack(
            [data[a]["works"], data[a]["other"], data[b]["works"][: MIXED_OUTLIERS + 1]]
        ),
    }
    singles = [consistency(np.vstack([s["works"], s["other"]]), space=space) for s in data.values()]
    rows = {
        "dispersion, one artist": [r.dispersion for r in singles],
        "split, one artist": [r.split for r in singles],
        "outliers, one artist": [len(r.outliers) for r in singles],
    }
    for name, mix in mixes.items():
        reports = [consistency(mix(a, b), space=space) for a, b in ordered]
        rows[f"dispersion, {name}"] = [r.dispersion for r in reports]
        rows[f"split, {name}"] = [r.split for r in reports]
        rows[f"flagged, {name}"] = [float(r.flagged) for r in reports]
    return rows


def main(artists: int = 21, works: int = 12) -> None:
    space = embedding_model()
    print(f"space {space}, {artists} artists x {works} works (+ as many others, re-encoded)")
    data = {seed: artist_sets(seed, works) for seed in range(artists)}
    for name, values in {**_similarities(data), **_dispersions(data, space)}.items():
        print(f"{name:40s} {_summary(values)}")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:]))
