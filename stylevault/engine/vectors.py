"""A cosine-similarity index of style embeddings, searched per style (faiss).

Each style owns any number of unit vectors (its training works' and reference images'
embeddings). A vector's faiss id is `style_id << 20 | ordinal`, so the owner of a hit is a shift
away and a style's vectors are one id range (removal, exclusion) with no side table.

Small indexes are exact (a flat inner-product scan). Past `exact_limit` vectors the index turns
into an inverted file (IVF) with 8-bit scalar-quantised residuals, trained on a random sample of
what it holds; see docs/decisions/012-style-similarity.md for why and for measured numbers.
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
_MAGIC = b"SVSTYLEIDX1\n"
DEFAULT_EXACT_LIMIT = 20_000
DEFAULT_NLIST = 1024
DEFAULT_NPROBE = 12
# k-means on at most this many vectors per list: more costs training time, not recall.
_TRAIN_PER_LIST = 64


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
        self._counts: dict[int, int] = {}  # style id -> vectors added (next ordinal)
        self._lock = _ReadWriteLock()

    def __len__(self) -> int:
        """The number of styles."""
        return len(self._counts)

    def __contains__(self, style_id: object) -> bool:
        return style_id in self._counts

    @property
    def vector_count(self) -> int:
        return int(self._index.ntotal)

    @property
    def exact(self) -> bool:
        """True while searches scan every vector (before the index is trained)."""
        return not isinstance(self._index, faiss.IndexIVF)

    def add(self, style_id: int, vectors: np.ndarray) -> None:
        """Adds rows of `vectors` to the style (normalised here, so any length is fine)."""
        rows = self._rows(vectors)
        if not 0 <= style_id <= MAX_STYLE_ID:
            raise ValueError(f"style_id must be in [0, {MAX_STYLE_ID}]")
        with self._lock.writing():
            start = self._counts.get(style_id, 0)
            if start + len(rows) > 1 << ORDINAL_BITS:
                raise ValueError(f"a style holds at most {1 << ORDINAL_BITS} vectors")
            ids = (style_id << ORDINAL_BITS) + np.arange(start, start + len(rows), dtype=np.int64)
            self._index.add_with_ids(rows, ids)
            self._counts[style_id] = start + len(rows)
            if self.exact and self._index.ntotal > self.exact_limit:
                self._train_locked(None)

    def remove(self, style_id: int) -> int:
        """Removes the style's vectors; returns how many there were (0 for an unknown style)."""
        with self._lock.writing():
            if self._counts.pop(style_id, None) is None:
                return 0
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
        with self._lock.reading():
            if not self._counts or k < 1:
                return []
            params = self._params(set(exclude))
            best: dict[int, float] = {}
            for per_query in self._best_per_query(queries, k, params):
                for style, similarity in per_query.items():
                    best[style] = max(similarity, best.get(style, -1.0))
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
                    "counts": sorted(self._counts.items()),
                }
            ).encode()
            descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
            try:
                with os.fdopen(descriptor, "wb") as file:
                    file.write(_MAGIC + struct.pack("<Q", len(header)) + header)
                    faiss.write_index(self._index, faiss.PyCallbackIOWriter(file.write))
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
        loaded = cls(
            header["dim"],
            space=header["space"],
            exact_limit=header["exact_limit"],
            nlist=header["nlist"],
            nprobe=header["nprobe"],
        )
        loaded._index = index
        loaded._counts = {int(style): int(count) for style, count in header["counts"]}
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
            for ordinal in range(self._counts.get(style, 0))
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
        index.train(np.ascontiguousarray(training))
        if len(held):
            index.add_with_ids(held, ids)
        self._index = index


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
