"""A cosine-similarity index of style embeddings, searched per style (faiss).

Each style owns any number of unit vectors (its training works' and reference images'
embeddings). A vector's faiss id is `style_id << 20 | ordinal`, so the owner of a hit is a shift
away and a style's vectors are one id range (removal, exclusion) with no side table.

Small indexes are exact (a flat inner-product scan). Past `exact_limit` vectors the index turns
into an inverted file (IVF) with 8-bit scalar-quantised residuals, trained on a random sample of
what it holds, and a search becomes two stages: candidate styles come from the IVF (styles with a
vector very close to the query: near-copies) and from a scan of one centroid per style (4-bit PQ
fast-scan codes past 5,000 styles, narrowed by exact centroid cosine): the styles nearest
overall, which an IVF alone misses, since a style's next neighbours are near-ties spread over
many lists. Then every candidate is scored exactly on its own vectors.
See docs/decisions/012-style-similarity.md for why and for measured numbers.
Searches may run concurrently from many threads; add, remove and train wait for them.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import faiss
import numpy as np

from stylevault.engine.styleqa import centroid

ORDINAL_BITS = 20  # at most ~1M vectors per style
MAX_STYLE_ID = (1 << (63 - ORDINAL_BITS)) - 1
_MAGIC = b"SVSTYLEIDX2\n"
DEFAULT_EXACT_LIMIT = 20_000
DEFAULT_NLIST = 1024
DEFAULT_NPROBE = 12
# k-means on at most this many vectors per list: more costs training time, not recall.
_TRAIN_PER_LIST = 64
# Searches are single queries from many request threads: one OpenMP thread each is faster than
# a team per query (the setting is per calling thread, so each search sets it); bulk steps
# (training, batch inserts) borrow every core.
# Candidate styles taken from the centroid scan per query, at least; more costs re-ranking time.
_CENTROID_CANDIDATES = 128
# From this many styles on, centroids are scanned as 4-bit product-quantiser codes with SIMD
# (faiss fast-scan: ~0.3 ms at 50,000 styles instead of ~15 ms for floats); below, exactly.
_FAST_SCAN_MIN_STYLES = 5_000
# A bulk build adds this many rows per call: one copy of this size, not of the whole collection.
_BATCH_ROWS = 65_536


class StyleIndex:
    """Styles' unit vectors, searched by cosine similarity; results aggregate per style.

    `space` names the embedding space the vectors come from (`embedding_model()`); it is saved
    with the index so vectors of different spaces are never compared by mistake.
    """

    def __init__(
        self,
        dim: int,
        *,
        space: str = "",
        exact_limit: int = DEFAULT_EXACT_LIMIT,
        nlist: int = DEFAULT_NLIST,
        nprobe: int = DEFAULT_NPROBE,
    ) -> None:
        self.dim = dim
        self.space = space
        self.exact_limit = exact_limit
        self.nlist = nlist
        self.nprobe = nprobe
        self._index: faiss.Index = faiss.IndexIDMap(faiss.IndexFlatIP(dim))
        self._vectors: dict[int, np.ndarray] = {}  # style id -> its unit vectors, in order
        self._means: dict[int, np.ndarray] = {}  # style id -> its unit centroid (1 x dim)
        # Style centroids (id = style), built with the IVF; stale codes of removed or grown
        # styles may remain in it, and searches skip or re-score them.
        self._centroids: faiss.Index | None = None
        self._lock = _ReadWriteLock()

    def __len__(self) -> int:
        """The number of styles."""
        return len(self._vectors)

    def __contains__(self, style_id: object) -> bool:
        return style_id in self._vectors

    @property
    def vector_count(self) -> int:
        return int(self._index.ntotal)

    @property
    def description(self) -> str:
        """The index kind and its search setting, for logs and benchmarks."""
        if self.exact:
            return "exact scan"
        nlist = faiss.extract_index_ivf(self._index).nlist
        return f"IVF{nlist},SQ8 nprobe {self.nprobe} + style centroids, exact re-rank"

    @property
    def exact(self) -> bool:
        """True while searches scan every vector (before the index is trained)."""
        return not isinstance(self._index, faiss.IndexIVF)

    @classmethod
    def build(cls, styles: Iterable[tuple[int, np.ndarray]], *, dim: int, **options) -> StyleIndex:
        """An index of many styles at once: trained on a sample drawn from all of them (adding
        one style after another would train the inverted file on whichever styles came first),
        then filled in one batch on every core."""
        index = cls(dim, **options)
        by_style: dict[int, list[np.ndarray]] = {}
        for style_id, vectors in styles:
            by_style.setdefault(style_id, []).append(index._rows(vectors))
        held = {
            style_id: parts[0] if len(parts) == 1 else np.concatenate(parts)
            for style_id, parts in by_style.items()
        }
        for style_id, rows in held.items():
            index._check_room(style_id, 0, len(rows))
        total = sum(len(rows) for rows in held.values())
        if not total:
            return index
        with index._lock.writing():
            if total > index.exact_limit:
                share = min(1.0, index.nlist * _TRAIN_PER_LIST / total)
                rng = np.random.default_rng(0)
                index._train_locked(
                    np.concatenate([rows[rng.random(len(rows)) < share] for rows in held.values()])
                )
            with _all_cores():
                for ids, rows in _batches(held, _BATCH_ROWS):
                    index._index.add_with_ids(rows, ids)
            index._vectors = held
            index._means = {style_id: _centroid(rows) for style_id, rows in held.items()}
            if not index.exact:
                index._index_centroids()
        return index

    def add(self, style_id: int, vectors: np.ndarray) -> None:
        """Adds rows of `vectors` to the style (normalised here, so any length is fine)."""
        rows = self._rows(vectors)
        with self._lock.writing():
            held = self._vectors.get(style_id)
            start = 0 if held is None else len(held)
            self._check_room(style_id, start, len(rows))
            ids = (style_id << ORDINAL_BITS) + np.arange(start, start + len(rows), dtype=np.int64)
            self._index.add_with_ids(rows, ids)
            held = rows if held is None else np.concatenate([held, rows])
            self._vectors[style_id] = held
            self._means[style_id] = _centroid(held)
            if self._centroids is not None:
                self._centroids.add_with_ids(self._means[style_id], np.array([style_id], np.int64))
            if self.exact and self._index.ntotal > self.exact_limit:
                self._train_locked(None)
                self._index_centroids()

    def remove(self, style_id: int) -> int:
        """Removes the style's vectors; returns how many there were (0 for an unknown style)."""
        with self._lock.writing():
            if self._vectors.pop(style_id, None) is None:
                return 0
            del self._means[style_id]
            low = style_id << ORDINAL_BITS
            return int(
                self._index.remove_ids(faiss.IDSelectorRange(low, low + (1 << ORDINAL_BITS)))
            )

    def search(
        self, vectors: np.ndarray, k: int = 10, exclude: Iterable[int] = ()
    ) -> list[tuple[int, float]]:
        """The `k` styles most similar to any of the query rows, best first.

        A style's similarity is the highest cosine between any query row and any of its
        vectors. Styles in `exclude` (e.g. the candidate itself) are skipped inside the index,
        so they never crowd others out.
        """
        queries = self._rows(vectors)
        excluded = set(exclude)
        faiss.omp_set_num_threads(1)
        with self._lock.reading():
            if not self._vectors or k < 1:
                return []
            params = self._params(excluded)
            if self.exact:
                best = self._exact_best(queries, k, params)
            else:
                candidates = self._near_copies(queries, k, params)
                candidates |= self._nearest_centroids(queries, k, excluded)
                best = {
                    style: max(float((self._vectors[style] @ query).max()) for query in queries)
                    for style in candidates
                }
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:k]

    def train(self, sample: np.ndarray | None = None) -> None:
        """Switches to the IVF index, trained on `sample` or on the vectors already held.

        Called on its own once the index passes `exact_limit`; call it early with a
        representative sample (vectors from many styles) when loading a large collection.
        """
        with self._lock.writing():
            if not self.exact:
                raise ValueError("the index is already trained; build a new one to retrain")
            self._train_locked(None if sample is None else self._rows(sample))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the index to `path` atomically (a temporary file renamed over it)."""
        target = Path(path)
        with self._lock.reading():
            header = json.dumps(
                {
                    "dim": self.dim,
                    "space": self.space,
                    "exact_limit": self.exact_limit,
                    "nlist": self.nlist,
                    "nprobe": self.nprobe,
                    "counts": [[style, len(rows)] for style, rows in self._vectors.items()],
                }
            ).encode()
            descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
            try:
                with os.fdopen(descriptor, "wb") as file:
                    file.write(_MAGIC + struct.pack("<Q", len(header)) + header)
                    faiss.write_index(self._index, faiss.PyCallbackIOWriter(file.write))
                    if self._vectors:
                        np.save(file, np.concatenate(list(self._vectors.values())))
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> StyleIndex:
        """Reads an index written by `save`."""
        with open(path, "rb") as file:
            if file.read(len(_MAGIC)) != _MAGIC:
                raise ValueError(f"{path} is not a saved StyleIndex")
            (length,) = struct.unpack("<Q", file.read(8))
            header = json.loads(file.read(length))
            index = faiss.read_index(faiss.PyCallbackIOReader(file.read))
            counts = [(int(style), int(count)) for style, count in header["counts"]]
            held = np.load(file) if counts else np.empty((0, header["dim"]), np.float32)
        loaded = cls(
            header["dim"],
            space=header["space"],
            exact_limit=header["exact_limit"],
            nlist=header["nlist"],
            nprobe=header["nprobe"],
        )
        loaded._index = index
        offsets = np.cumsum([0] + [count for _, count in counts])
        for (style, _), start, end in zip(counts, offsets[:-1], offsets[1:], strict=True):
            loaded._vectors[style] = held[start:end]
            loaded._means[style] = _centroid(held[start:end])
        if not loaded.exact:
            loaded._index_centroids()
        return loaded

    def _rows(self, vectors: np.ndarray) -> np.ndarray:
        rows = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if rows.ndim != 2 or rows.shape[1] != self.dim:
            raise ValueError(f"expected rows of {self.dim} values, got shape {rows.shape}")
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        if not np.all(np.isfinite(rows)) or np.any(norms == 0):
            raise ValueError("vectors must be finite and non-zero")
        return np.ascontiguousarray(rows / norms)

    def _params(self, exclude: set[int]) -> faiss.SearchParameters:
        """Search parameters per call (not index attributes), so concurrent searches are safe."""
        if self.exact:
            params = faiss.SearchParameters()
        else:
            params = faiss.SearchParametersIVF(nprobe=self.nprobe)
        ids = [
            (style << ORDINAL_BITS) + ordinal
            for style in exclude
            for ordinal in range(len(self._vectors.get(style, ())))
        ]
        if ids:
            # faiss's Python layer keeps the inner selector alive with the outer one.
            params.sel = faiss.IDSelectorNot(faiss.IDSelectorBatch(np.array(ids, dtype=np.int64)))
        return params

    def _exact_best(
        self, queries: np.ndarray, k: int, params: faiss.SearchParameters
    ) -> dict[int, float]:
        best: dict[int, float] = {}
        for per_query in self._best_per_query(queries, k, params):
            for style, similarity in per_query.items():
                best[style] = max(similarity, best.get(style, -1.0))
        return best

    def _near_copies(self, queries: np.ndarray, k: int, params: faiss.SearchParameters) -> set[int]:
        """Styles owning one of the IVF's nearest vectors to any query: one search, no widening
        (the centroid scan supplies the styles nearest overall)."""
        _, ids = self._index.search(queries, min(4 * k, self.vector_count), params=params)
        return {int(vector_id) >> ORDINAL_BITS for vector_id in ids.ravel() if vector_id >= 0}

    def _best_per_query(
        self, queries: np.ndarray, k: int, params: faiss.SearchParameters
    ) -> list[dict[int, float]]:
        """Each query's best similarity per style, for at least its `k` best styles.

        Several hits may belong to one style, so the search widens until every query has `k`
        distinct styles or the index has nothing more to give.
        """
        fetch = min(4 * k, self.vector_count)
        while True:
            similarities, ids = self._index.search(queries, fetch, params=params)
            per_query = [
                _first_per_style(row_sims, row_ids)
                for row_sims, row_ids in zip(similarities, ids, strict=True)
            ]
            exhausted = bool((ids[:, -1] < 0).any()) or fetch >= self.vector_count
            if exhausted or all(len(found) >= k for found in per_query):
                return per_query
            fetch = min(4 * fetch, self.vector_count)

    @staticmethod
    def _check_room(style_id: int, held: int, adding: int) -> None:
        if not 0 <= style_id <= MAX_STYLE_ID:
            raise ValueError(f"style_id must be in [0, {MAX_STYLE_ID}]")
        if held + adding > 1 << ORDINAL_BITS:
            raise ValueError(f"a style holds at most {1 << ORDINAL_BITS} vectors")

    def _nearest_centroids(self, queries: np.ndarray, k: int, exclude: set[int]) -> set[int]:
        """The 4k live, not excluded styles whose centroids are nearest to any query: many
        candidates from the (approximate) centroid index, narrowed by exact centroid cosine."""
        if self._centroids is None:
            return set()
        wanted = max(8 * k, _CENTROID_CANDIDATES) + len(exclude)
        _, ids = self._centroids.search(queries, min(wanted, int(self._centroids.ntotal)))
        found = list(
            {
                style
                for style in map(int, ids.ravel())
                if style in self._vectors and style not in exclude
            }
        )
        if len(found) <= 4 * k:
            return set(found)
        centroids = np.concatenate([self._means[style] for style in found])
        closeness = (centroids @ queries.T).max(axis=1)
        return {found[i] for i in np.argpartition(-closeness, 4 * k)[: 4 * k]}

    def _index_centroids(self) -> None:
        """One centroid per style, in a fast-scan PQ index when there are many styles."""
        styles = np.fromiter(self._means, dtype=np.int64, count=len(self._means))
        centroids = np.concatenate(list(self._means.values()))
        if len(styles) >= _FAST_SCAN_MIN_STYLES and self.dim % 4 == 0:
            codes = faiss.index_factory(
                self.dim, f"PQ{self.dim // 4}x4fs", faiss.METRIC_INNER_PRODUCT
            )
            with _all_cores():
                codes.train(centroids[: 1 << 16])
            index = faiss.IndexIDMap(codes)
        else:
            index = faiss.IndexIDMap(faiss.IndexFlatIP(self.dim))
        index.add_with_ids(centroids, styles)
        self._centroids = index

    def _train_locked(self, sample: np.ndarray | None) -> None:
        """Builds the IVF index from `sample` (or the held vectors) and moves the vectors in."""
        flat = faiss.downcast_index(self._index.index)
        held = (
            flat.reconstruct_n(0, flat.ntotal)
            if flat.ntotal
            else np.empty((0, self.dim), "float32")
        )
        ids = faiss.vector_to_array(self._index.id_map)
        training = held if sample is None else sample
        nlist = max(1, min(self.nlist, len(training) // 39))
        rng = np.random.default_rng(0)
        if len(training) > nlist * _TRAIN_PER_LIST:
            training = training[rng.choice(len(training), nlist * _TRAIN_PER_LIST, replace=False)]
        index = faiss.index_factory(self.dim, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.extract_index_ivf(index)
        ivf.cp.spherical = True  # unit centroids: assignment by cosine, not by centroid length
        ivf.cp.niter = 10
        with _all_cores():
            index.train(np.ascontiguousarray(training))
            if len(held):
                index.add_with_ids(held, ids)
        self._index = index


@contextmanager
def _all_cores() -> Iterator[None]:
    """Every core for a bulk step (training, a batch insert); searches stay single-threaded."""
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(1)


def _batches(held: dict[int, np.ndarray], size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(ids, rows) of about `size` rows at a time, whole styles each."""
    ids: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    count = 0
    for style_id, vectors in held.items():
        ids.append((style_id << ORDINAL_BITS) + np.arange(len(vectors), dtype=np.int64))
        rows.append(vectors)
        count += len(vectors)
        if count >= size:
            yield np.concatenate(ids), np.concatenate(rows)
            ids, rows, count = [], [], 0
    if rows:
        yield np.concatenate(ids), np.concatenate(rows)


def _centroid(rows: np.ndarray) -> np.ndarray:
    """The style's direction as one index row (1 x dim)."""
    return centroid(rows)[None]


def _first_per_style(similarities: np.ndarray, ids: np.ndarray) -> dict[int, float]:
    """Hits come sorted best first, so each style's first hit is its best."""
    best: dict[int, float] = {}
    for similarity, vector_id in zip(similarities.tolist(), ids.tolist(), strict=True):
        if vector_id >= 0:
            best.setdefault(vector_id >> ORDINAL_BITS, similarity)
    return best


class _ReadWriteLock:
    """Many readers at once, or one writer; a waiting writer keeps new readers out."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._writing and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                self._condition.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._condition:
            self._writers_waiting += 1
            self._condition.wait_for(lambda: not self._writing and not self._readers)
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()
