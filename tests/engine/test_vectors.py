from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from stylevault.engine.vectors import StyleIndex


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def clustered(styles: int, per_style: int, dim: int, seed: int = 0) -> dict[int, np.ndarray]:
    """Style id -> vectors around that style's centre (cosine about 0.9); styles come in
    families of 20 whose centres are alike (cosine about 0.7), so neighbours mean something."""
    rng = np.random.default_rng(seed)
    families = unit(rng.standard_normal((max(1, styles // 20), dim)))
    spread = rng.standard_normal((styles, dim)) / np.sqrt(dim)
    centres = unit(families[np.arange(styles) % len(families)] + spread)
    noise = rng.standard_normal((styles, per_style, dim)) * 0.48 / np.sqrt(dim)
    return {10 + s: unit(centres[s] + noise[s]) for s in range(styles)}


def exact_ranking(
    data: dict[int, np.ndarray], queries: np.ndarray, k: int, exclude: set[int] = frozenset()
) -> list[tuple[int, float]]:
    """Per style: the highest cosine between any query and any of its vectors; best k."""
    best = {
        style: float((unit(queries) @ rows.T).max())
        for style, rows in data.items()
        if style not in exclude
    }
    return sorted(best.items(), key=lambda item: -item[1])[:k]


def filled(data: dict[int, np.ndarray], **options) -> StyleIndex:
    index = StyleIndex(next(iter(data.values())).shape[1], **options)
    for style, rows in data.items():
        index.add(style, rows)
    return index


def test_small_indexes_are_exact_and_aggregate_per_style() -> None:
    data = clustered(styles=40, per_style=5, dim=32)
    index = filled(data)
    assert index.exact and len(index) == 40 and index.vector_count == 200
    rng = np.random.default_rng(1)
    for _ in range(5):
        queries = rng.standard_normal((3, 32))
        found = index.search(queries, k=7)
        expected = exact_ranking(data, queries, 7)
        assert [style for style, _ in found] == [style for style, _ in expected]
        assert np.allclose([s for _, s in found], [s for _, s in expected], atol=1e-5)


def test_a_style_with_many_close_vectors_does_not_crowd_out_others() -> None:
    rng = np.random.default_rng(2)
    query = unit(rng.standard_normal(16))
    index = StyleIndex(16)
    index.add(1, unit(query + 0.05 * rng.standard_normal((200, 16))))  # 200 near-copies
    for style in range(2, 7):
        index.add(style, unit(query + 0.5 * rng.standard_normal((2, 16))))
    found = index.search(query, k=4)
    assert len(found) == 4 and len({style for style, _ in found}) == 4
    assert found[0][0] == 1
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)


def test_excluded_styles_are_skipped_inside_the_index() -> None:
    data = clustered(styles=30, per_style=4, dim=24)
    index = filled(data)
    query = data[15][0]
    assert index.search(query, k=1)[0][0] == 15
    found = index.search(query, k=5, exclude={15, 16})
    assert [style for style, _ in found] == [
        style for style, _ in exact_ranking(data, query[None], 5, exclude={15, 16})
    ]


def test_remove_drops_a_style_and_it_can_come_back() -> None:
    data = clustered(styles=10, per_style=3, dim=8)
    index = filled(data)
    assert index.remove(12) == 3 and index.remove(12) == 0 and index.remove(999) == 0
    assert 12 not in index and len(index) == 9 and index.vector_count == 27
    assert all(style != 12 for style, _ in index.search(data[12], k=10))
    index.add(12, data[12][:1])
    assert index.search(data[12][0], k=1)[0][0] == 12


def test_vectors_are_normalised_and_checked() -> None:
    index = StyleIndex(4)
    index.add(1, np.array([[3.0, 0, 0, 0]]))
    assert index.search(np.array([1.0, 0, 0, 0]), k=1) == [(1, pytest.approx(1.0))]
    with pytest.raises(ValueError):
        index.add(2, np.ones((1, 5)))
    with pytest.raises(ValueError):
        index.add(2, np.zeros((1, 4)))
    with pytest.raises(ValueError):
        index.add(-1, np.ones((1, 4)))
    assert StyleIndex(4).search(np.ones(4)) == []


@pytest.mark.parametrize("trained", [False, True])
def test_save_and_load_round_trip(tmp_path: Path, trained: bool) -> None:
    data = clustered(styles=200, per_style=10, dim=32)
    index = filled(data, space="handmade-v1", exact_limit=1000 if trained else 10_000)
    assert index.exact is not trained
    path = tmp_path / "styles.index"
    path.write_bytes(b"an older file, replaced whole")
    index.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["styles.index"]  # no temporary left
    loaded = StyleIndex.load(path)
    assert (loaded.space, loaded.exact, len(loaded)) == ("handmade-v1", index.exact, 200)
    queries = np.random.default_rng(3).standard_normal((4, 32))
    assert loaded.search(queries, k=5) == index.search(queries, k=5)
    loaded.add(10, data[11][:2])  # ordinals continue after a load: no id clash
    assert loaded.vector_count == index.vector_count + 2
    with pytest.raises(ValueError):
        StyleIndex.load(tmp_path.joinpath("other").write_bytes(b"nope") and tmp_path / "other")


def recall_at_10(index: StyleIndex, data: dict[int, np.ndarray]) -> float:
    """Queries near stored styles; the share of the exact ten best styles the index finds."""
    rng = np.random.default_rng(5)
    picked = rng.choice(list(data), 100)
    queries = unit(
        np.stack([data[s].mean(0) for s in picked]) + rng.standard_normal((100, 64)) / 16
    )
    hits = 0
    for query in queries:
        expected = {style for style, _ in exact_ranking(data, query[None], 10)}
        hits += len(expected & {style for style, _ in index.search(query, k=10)})
    return hits / 1000


def test_large_indexes_switch_to_ivf_and_keep_recall() -> None:
    data = clustered(styles=2000, per_style=10, dim=64, seed=4)
    index = filled(data, exact_limit=5000)
    assert not index.exact and index.vector_count == 20_000
    assert recall_at_10(index, data) >= 0.95


def test_a_built_index_is_trained_on_every_style_and_keeps_recall() -> None:
    data = clustered(styles=2000, per_style=10, dim=64, seed=4)
    # Styles arrive family by family: the first 5,000 vectors cover a quarter of the families.
    by_family = sorted(data.items(), key=lambda item: (item[0] - 10) % 100)
    index = StyleIndex.build(by_family, dim=64, exact_limit=5000)
    assert not index.exact and index.vector_count == 20_000 and len(index) == 2000
    assert index.description.startswith("IVF")
    assert recall_at_10(index, data) >= 0.95


def test_concurrent_searches_while_styles_are_added() -> None:
    data = clustered(styles=60, per_style=5, dim=16)
    index = filled(dict(list(data.items())[:30]))
    errors: list[BaseException] = []

    def search() -> None:
        try:
            for style in list(data)[:30]:
                assert index.search(data[style][0], k=1)[0][0] == style
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=search) for _ in range(4)]
    for thread in threads:
        thread.start()
    for style, rows in list(data.items())[30:]:
        index.add(style, rows)
    for thread in threads:
        thread.join()
    assert not errors and len(index) == 60


def test_many_styles_are_found_through_fast_scan_centroids_and_removals_stick() -> None:
    data = clustered(styles=6000, per_style=4, dim=64, seed=6)
    index = StyleIndex.build(data.items(), dim=64, exact_limit=5000)
    assert "centroid" in index.description and len(index) == 6000
    assert recall_at_10(index, data) >= 0.95
    target = next(iter(data))
    assert index.search(data[target][0], k=1)[0][0] == target
    assert target not in {s for s, _ in index.search(data[target][0], k=5, exclude={target})}
    assert index.remove(target) == 4
    assert target not in {s for s, _ in index.search(data[target], k=10)}
    index.add(target, data[target])  # back, with a fresh centroid code
    assert index.search(data[target][0], k=1)[0][0] == target
