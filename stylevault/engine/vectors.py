"""A cosine-similarity index of style embeddings, searched per style (faiss).

Each style owns any number of unit vectors (its training works' and reference images'
embeddings). A vector's faiss id is `style_id << 20 | ordinal`, so the owner of a hit is a shift
away and a style's vectors are one id range (removal, exclusion) with no side table.

Small indexes are exact (a flat inner-product scan). Past `exact_limit` vectors the index turns
into an inverted file (IVF) with 8-bit scalar-quantised residuals, trained on a random sample of
what it holds, and a search becomes two stages: candidate styles come from the IVF (styles with a
vector very close to the query: near-copies) and from an exact scan of the styles' centroids
(the styles nearest overall: an IVF alone misses those, since a style's next neighbours are
near-ties spread over many lists); then every candidate is scored exactly on its own vectors.
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

ORDINAL_BITS = 20  # at most ~1M vectors per style
MAX_STYLE_ID = (1 << (63 - ORDINAL_BITS)) - 1
_MAGIC = b"SVSTYLEIDX2\n"
DEFAULT_EXACT_LIMIT = 20_000
DEFAULT_NLIST = 1024
DEFAULT_NPROBE = 12
# k-means on at most this many vectors per list: more costs training time, not recall.
_TRAIN_PER_LIST = 64
# Searches are single queries from many request threads: one OpenMP thread each is faster than
# a team per query; training (under the write lock) borrows every core.
faiss.omp_set_num_threads(1)
# Candidate styles taken from the centroid scan per query, at least; more costs re-ranking time.
_CENTROID_CANDIDATES = 64


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
        self._centroids = faiss.IndexIDMap(faiss.IndexFlatIP(dim))  # one per style, id = style
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
        return f"IVF{nlist},SQ8 nprobe {self.nprobe} + centroid scan, exact re-rank"

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
        if not by_style:
            return index
        held = {style_id: np.concatenate(parts) for style_id, parts in by_style.items()}
        for style_id, rows in held.items():
            index._check_room(style_id, 0, len(rows))
        rows = np.concatenate(list(held.values()))
        ids = np.concatenate(
            [(style_id << ORDINAL_BITS) + np.arange(len(r)) for style_id, r in held.items()]
        )
        with index._lock.writing():
            if len(rows) > index.exact_limit:
                share = min(1.0, index.nlist * _TRAIN_PER_LIST / len(rows))
                sample = rows[np.random.default_rng(0).random(len(rows)) < share]
                index._train_locked(sample)
            with _all_cores():
                index._index.add_with_ids(rows, ids.astype(np.int64))
            index._vectors = held
            index._centroids.add_with_ids(
                np.concatenate([_centroid(r) for r in held.values()]),
                np.fromiter(held, dtype=np.int64, count=len(held)),
            )
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
            if start:
                self._centroids.remove_ids(_style_selector([style_id]))
            self._centroids.add_with_ids(_centroid(held), np.array([style_id], dtype=np.int64))
            if self.exact and self._index.ntotal > self.exact_limit:
                self._train_locked(None)

    def remove(self, style_id: int) -> int:
        """Removes the style's vectors; returns how many there were (0 for an unknown style)."""
        with self._lock.writing():
            if self._vectors.pop(style_id, None) is None:
                return 0
            self._centroids.remove_ids(_style_selector([style_id]))
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
        with self._lock.reading():
            if not self._vectors or k < 1:
                return []
            best: dict[int, float] = {}
            for per_query in self._best_per_query(queries, k, self._params(excluded)):
                for style, similarity in per_query.items():
                    best[style] = max(similarity, best.get(style, -1.0))
            if not self.exact:
                candidates = set(best) | self._nearest_centroids(queries, k, excluded)
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
        if counts:
            loaded._centroids.add_with_ids(
                np.concatenate([_centroid(rows) for rows in loaded._vectors.values()]),
                np.array([style for style, _ in counts], dtype=np.int64),
            )
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
        """The styles whose centroids are nearest to any query (exact scan of one per style)."""
        fetch = min(max(8 * k, _CENTROID_CANDIDATES), int(self._centroids.ntotal))
        params = faiss.SearchParameters()
        if exclude:
            params.sel = faiss.IDSelectorNot(_style_selector(exclude))
        _, ids = self._centroids.search(queries, fetch, params=params)
        return {int(style) for style in ids.ravel() if style >= 0}

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


def _centroid(rows: np.ndarray) -> np.ndarray:
    mean = rows.mean(axis=0, keepdims=True)
    return np.ascontiguousarray(mean / max(float(np.linalg.norm(mean)), 1e-12), dtype=np.float32)


def _style_selector(styles: Iterable[int]) -> faiss.IDSelector:
    return faiss.IDSelectorBatch(np.array(sorted(styles), dtype=np.int64))


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
