"""Styles (issue 5): similarity search at a million style vectors, and demo-style training.

Vectors are shaped like style embeddings: 50,000 style centres that share a common direction and
a low-rank "style space" (as CLIP image embeddings do: they sit in a narrow cone), with 20
reference vectors around each centre (centre plus noise, cosine ≈ 0.85 to their centre).
Queries are fresh references of stored styles. Recall@10 compares the index's ten best styles
with an exact scan of every vector, ranked the same way (a style's similarity is its best
vector's).

    python tests/bench/bench_styles.py [--quick]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DIM, STYLES, PER_STYLE, QUERIES, K = 768, 50_000, 20, 500, 10
# Noise per coordinate for a reference at cosine ≈ 0.85 to its centre: 1 / sqrt(1 + σ²·DIM).
NOISE = float(np.sqrt((1 / 0.85**2 - 1) / DIM))


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def style_centres(count: int, rng: np.random.Generator) -> np.ndarray:
    """Unit centres in a cone: a shared direction, a 64-dimensional style space, and a little
    isotropic spread (so neighbouring styles are genuinely close, as in real embeddings)."""
    common = rng.standard_normal(DIM)
    basis = rng.standard_normal((64, DIM))
    centres = np.empty((count, DIM), np.float32)
    for start in range(0, count, 10_000):
        n = min(10_000, count - start)
        rows = 0.6 * common / np.sqrt(DIM) + rng.standard_normal((n, 64)) @ basis / np.sqrt(
            64 * DIM
        )
        rows += 0.5 * rng.standard_normal((n, DIM)) / np.sqrt(DIM)
        centres[start : start + n] = _unit(rows)
    return centres


def references(centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = rng.standard_normal((len(centres), DIM), dtype=np.float32) * NOISE
    return _unit(centres + noise)


def exact_top_styles(data: np.ndarray, queries: np.ndarray, k: int) -> list[set[int]]:
    """Each query's k best styles by an exact scan. Data is style-major (PER_STYLE rows per
    style); a style's similarity is its best vector's. Scanned in blocks, all queries at once."""
    best = np.empty((len(data) // PER_STYLE, len(queries)), np.float32)
    block = 100_000 // PER_STYLE * PER_STYLE
    for start in range(0, len(data), block):
        sims = data[start : start + block] @ queries.T
        best[start // PER_STYLE : (start + len(sims)) // PER_STYLE] = sims.reshape(
            -1, PER_STYLE, len(queries)
        ).max(axis=1)
    top = np.argpartition(-best, k, axis=0)[:k]
    return [set(top[:, column].tolist()) for column in range(len(queries))]


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def similarity_rows(styles: int = STYLES, queries: int = QUERIES) -> list[dict]:
    from stylevault.engine.vectors import StyleIndex

    rng = np.random.default_rng(12)
    centres = style_centres(styles, rng)
    data = np.empty((styles * PER_STYLE, DIM), np.float32)  # style-major, for the exact scan
    for ordinal in range(PER_STYLE):
        data[ordinal::PER_STYLE] = references(centres, rng)
    print(f"  {len(data):,} vectors made", file=sys.stderr, flush=True)

    before = _rss_mb()
    started = time.perf_counter()
    index = StyleIndex.build(
        ((style, data[style * PER_STYLE : (style + 1) * PER_STYLE]) for style in range(styles)),
        dim=DIM,
    )
    build_s = time.perf_counter() - started
    index_mb = _rss_mb() - before
    print(f"  index built in {build_s:.1f} s", file=sys.stderr, flush=True)

    picked = rng.choice(styles, queries, replace=False)
    probes = references(centres[picked], rng)
    times, hits = [], 0
    for probe, expected in zip(probes, exact_top_styles(data, probes, K), strict=True):
        started = time.perf_counter()
        found = index.search(probe, k=K)
        times.append((time.perf_counter() - started) * 1000)
        hits += len({style for style, _ in found} & expected)
    recall = hits / (K * queries)
    p50, p95 = np.percentile(times, [50, 95])
    met = p95 <= 10 and recall >= 0.95
    return [
        {
            "benchmark": f"style similarity search, {len(data):,} vectors of {DIM} dims",
            "result": f"p50 {p50:.2f} ms, p95 {p95:.2f} ms, recall@10 {recall:.3f}",
            "goal": "p95 <= 10 ms, recall@10 >= 0.95",
            "met": "yes" if met else "NO",
        },
        {
            "benchmark": "style index build (train + add)",
            "result": f"{build_s:.1f} s, {index_mb:,.0f} MB resident ({index.description})",
        },
    ]


def demo_training_row() -> dict:
    """`stylevault demo` in a fresh data directory: accounts, training, checks, publication."""
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "STYLEVAULT_DATA_DIR": data_dir, "DATABASE_URL": ""}
        env.pop("STYLEVAULT_BROKER_URL", None)
        cli = [sys.executable, "-m", "stylevault.cli"]
        subprocess.run([*cli, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
        started = time.perf_counter()
        done = subprocess.run(
            [*cli, "demo"], env=env, cwd=ROOT, check=True, capture_output=True, text=True
        )
        seconds = time.perf_counter() - started
    published = "is published" in done.stdout
    return {
        "benchmark": "demo style: train, check and publish (tiny model, CPU)",
        "result": f"{seconds:.1f} s" + ("" if published else f" ({done.stdout.strip()})"),
        "goal": "<= 60 s",
        "met": "yes" if published and seconds <= 60 else "NO",
    }


def main(styles: int = STYLES, queries: int = QUERIES) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    return [*similarity_rows(styles, queries), demo_training_row()]


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from tests.bench.run import print_table

    quick = sys.argv[1:2] == ["--quick"]
    print_table(main(5_000, 200) if quick else main())
