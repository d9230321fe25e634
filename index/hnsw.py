"""Approximate (HNSW graph) inner-product index for large collections.

FAISS HNSW cannot delete, so removals become tombstones: a bitmap over the
internal positions, excluded at search time through an ``IDSelector``. Keying
tombstones by internal position (not external id) lets a removed id be added
again later. ``compact()`` rebuilds the graph without the dead entries.

Vectors added with ``defer`` wait in an exact tail (a flat index searched beside
the graph) until ``fold`` inserts them: at a million vectors an insertion costs
about 3.7 ms on 2 cores, and a start after a crash tops up everything committed
since the last snapshot. While the tail holds anything, ids above the graph's
join it too, so the graph always holds a prefix of the ids and its saved file's
watermark stays true.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from index._arrays import (
    PAD_ID,
    as_ids,
    as_vectors,
    check_batch,
    check_k,
    describe_ids,
    empty_result,
    finish_result,
)
from index.base import stamp_watermark
from index.fileformat import write_index_file
from index.flat import FlatIndex
from index.untyped import faiss

FOLD_SLICE = 8  # tail vectors inserted into the graph per hold of the search lock


class HNSWIndex:
    """``IndexIDMap2(IndexHNSWFlat)`` with tombstone deletes and locking.

    Searches go straight to the inner HNSW index (selector over internal
    positions) and map positions to external ids with ``_ext``.
    """

    kind = "hnsw"

    def __init__(
        self, dim: int, m: int = 32, ef_construction: int = 80, ef_search: int = 64
    ) -> None:
        for name, value in (
            ("dim", dim),
            ("m", m),
            ("ef_construction", ef_construction),
            ("ef_search", ef_search),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self._dim, self._m, self._ef_construction = dim, m, ef_construction
        self._ef_search = ef_search
        self._lock = threading.RLock()
        self._write_lock = threading.RLock()
        self._save_lock = threading.Lock()  # saves reach the file in the order they copied
        self._tail = FlatIndex(dim)  # deferred vectors, ids above every id in the graph
        self._joined = 0  # ids `add` sent to the tail since the last `fold`
        hnsw = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = ef_construction
        hnsw.hnsw.efSearch = ef_search
        self._reset(faiss.IndexIDMap2(hnsw), hnsw, np.empty(0, dtype=np.int64), [])

    def _reset(
        self,
        index: faiss.IndexIDMap2,
        hnsw: faiss.IndexHNSWFlat,
        ext: np.ndarray,
        dead: list[int],
    ) -> None:
        """Install FAISS objects plus bookkeeping derived from positions and tombstones."""
        n = int(ext.size)
        self._index, self._hnsw, self._n = index, hnsw, n
        self._ext = np.empty(max(n, 1024), dtype=np.int64)
        self._ext[:n] = ext
        self._dead_bits = np.zeros((self._ext.size + 7) // 8, dtype=np.uint8)
        alive = np.ones(n, dtype=bool)
        alive[dead] = False
        self._dead_bits[: (n + 7) // 8] = np.packbits(~alive, bitorder="little")
        self._n_dead = n - int(alive.sum())
        pos = np.flatnonzero(alive)
        self._live: dict[int, int] = dict(zip(ext[pos].tolist(), pos.tolist(), strict=True))
        if len(self._live) != pos.size:
            raise ValueError("an external id is live at more than one position")
        self._top = int(ext.max()) if n else None  # the largest id ever in the graph
        self._refresh_params()

    def _refresh_params(self) -> None:
        """Rebuild search parameters; the bitmap selector reads ``_dead_bits`` live."""
        self._selector: faiss.IDSelector | None = None
        if self._n_dead:
            self._selector = faiss.IDSelectorNot(faiss.IDSelectorBitmap(self._dead_bits))
            self._params = faiss.SearchParametersHNSW(sel=self._selector, efSearch=self._ef_search)
        else:
            self._params = faiss.SearchParametersHNSW(efSearch=self._ef_search)

    def _reserve(self, extra: int) -> None:
        """Grow the position buffers geometrically so adds stay amortised O(1)."""
        need = self._n + extra
        if need <= self._ext.size:
            return
        cap = max(need, 2 * self._ext.size)
        ext = np.empty(cap, dtype=np.int64)
        ext[: self._n] = self._ext[: self._n]
        bits = np.zeros((cap + 7) // 8, dtype=np.uint8)
        bits[: self._dead_bits.size] = self._dead_bits
        self._ext, self._dead_bits = ext, bits
        self._refresh_params()

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def ef_search(self) -> int:
        return self._ef_search

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        """Trade recall for speed at runtime without rebuilding."""
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"ef_search must be a positive int, got {value!r}")
        with self._lock:
            self._ef_search = value
            self._hnsw.hnsw.efSearch = value
            self._refresh_params()

    @property
    def tombstones(self) -> int:
        """Removed entries still occupying the graph; compact() when this grows large."""
        return self._n_dead

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Insert a batch; all-or-nothing on validation failure. While the tail holds
        anything, ids above the graph's join the tail (see the module's docstring)."""
        self._add(ids, vectors, defer=False)

    def defer(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Searchable at once, inserted into the graph later (`fold`): ids above every
        id in the graph go to the exact tail; any others are inserted now."""
        self._add(ids, vectors, defer=True)

    def _add(self, ids: np.ndarray, vectors: np.ndarray, defer: bool) -> None:
        id_arr = as_ids(ids)
        vecs = as_vectors(vectors, self._dim)
        check_batch(id_arr, vecs)
        if id_arr.size == 0:
            return
        with self._write_lock, self._lock:
            tail = len(self._tail) > 0
            present = [i for i in id_arr.tolist() if i in self._live or (tail and i in self._tail)]
            if present:
                raise ValueError(f"ids already in the index: {describe_ids(present)}")
            later = np.zeros(id_arr.size, dtype=bool)
            if defer or tail:
                later = id_arr > self._top if self._top is not None else ~later
            if not later.all():
                self._insert(id_arr[~later], vecs[~later])
            if later.any():
                self._tail.add(id_arr[later], vecs[later])
                if not defer:
                    self._joined += int(later.sum())

    def _insert(self, id_arr: np.ndarray, vecs: np.ndarray) -> None:
        """Into the graph; call with both locks held."""
        self._reserve(id_arr.size)
        self._index.add_with_ids(vecs, id_arr)
        start = self._n
        self._ext[start : start + id_arr.size] = id_arr
        self._n += id_arr.size
        self._live.update(zip(id_arr.tolist(), range(start, self._n), strict=True))
        top = int(id_arr.max())
        self._top = top if self._top is None else max(self._top, top)

    def fold(self, limit: int) -> int:
        """Insert the tail's lowest ids into the graph: `limit`, plus as many as `add` sent
        to the tail since the last fold (so that the tail shrinks whatever the batches
        bring, and the writer pays no less than if they had gone straight in); how many.
        Searches wait for one slice of `FOLD_SLICE` at a time, not for the whole fold
        (an insertion costs 2-3.7 ms at a million vectors on 2 cores)."""
        with self._write_lock:
            limit, self._joined = limit + self._joined, 0
            if not len(self._tail) or limit < 1:
                return 0
            ids = self._tail.ids()
            take = np.sort(ids)[:limit]
            for start in range(0, take.size, FOLD_SLICE):
                part = take[start : start + FOLD_SLICE]
                vecs = self._tail.vectors(part)
                with self._lock:  # inserted and removed at once: never in both, nor in neither
                    self._insert(part, vecs)
                    self._tail.remove(part)
            return int(take.size)

    @property
    def deferred(self) -> int:
        """Vectors in the exact tail, not yet in the graph."""
        return len(self._tail)

    def _tail_min(self) -> int:
        return int(self._tail.ids().min())

    def remove(self, ids: np.ndarray) -> int:
        """Tombstone ids; their vectors stay in the graph until compact(). Ids in the
        tail leave it."""
        id_arr = as_ids(ids)
        with self._write_lock, self._lock:
            return self._tail.remove(id_arr) + self._tombstone(id_arr)

    def _tombstone(self, id_arr: np.ndarray) -> int:
        """Call with both locks held."""
        positions: list[int] = []
        for i in id_arr.tolist():
            p = self._live.pop(i, None)
            if p is not None:
                positions.append(p)
        if not positions:
            return 0
        pos = np.asarray(positions, dtype=np.int64)
        np.bitwise_or.at(self._dead_bits, pos >> 3, (1 << (pos & 7)).astype(np.uint8))
        was_clean = self._n_dead == 0
        self._n_dead += pos.size
        if was_clean:
            self._refresh_params()
        return int(pos.size)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-k by inner product, never returning removed ids."""
        q = as_vectors(queries, self._dim, name="queries")
        k = check_k(k)
        with self._lock:
            if (not self._live and not len(self._tail)) or q.shape[0] == 0:
                return empty_result(q.shape[0], k)
            if self._live:
                scores, pos = self._hnsw.search(q, k, params=self._params)
                ids = np.where(pos == PAD_ID, PAD_ID, self._ext[np.maximum(pos, 0)])
                scores, ids = finish_result(scores, ids)
            else:
                scores, ids = empty_result(q.shape[0], k)
            if len(self._tail):  # inside the lock: a fold moves vectors between the two
                more_scores, more_ids = self._tail.search(q, k)
                scores = np.concatenate([scores, more_scores], axis=1)
                ids = np.concatenate([ids, more_ids], axis=1)
                best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
                scores = np.take_along_axis(scores, best, axis=1)
                ids = np.take_along_axis(ids, best, axis=1)
        return scores, ids

    def __len__(self) -> int:
        with self._lock:
            return len(self._live) + len(self._tail)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, bool) or not isinstance(item, int | np.integer):
            return False
        # the tail first: a fold inserts into the graph before it removes from the tail
        return int(item) in self._tail or int(item) in self._live

    def ids(self) -> np.ndarray:
        with self._lock:
            graph = np.fromiter(self._live.keys(), dtype=np.int64, count=len(self._live))
            return np.concatenate([graph, self._tail.ids()]) if len(self._tail) else graph

    def compact(self) -> int:
        """Rebuild the graph from live vectors; returns the number of tombstones purged.

        Readers keep searching the old graph while the new one is built.
        """
        with self._write_lock:
            with self._lock:
                if self._n_dead == 0:
                    return 0
                purged = self._n_dead
                pos = np.fromiter(self._live.values(), dtype=np.int64, count=len(self._live))
                pos.sort()
                ext = self._ext[pos].copy()
                vecs = self._hnsw.reconstruct_batch(pos) if pos.size else None
            fresh = HNSWIndex(self._dim, self._m, self._ef_construction, self._ef_search)
            if vecs is not None:
                fresh.add(ext, vecs)
            with self._lock:
                self._reset(fresh._index, fresh._hnsw, ext, [])
            return purged

    def save(self, path: Path, meta: dict[str, Any]) -> dict[str, Any]:
        """Copy under the locks, then write atomically: adds wait for the copy only, not
        for the file. Returns the meta written (see `index.base.stamp_watermark`)."""
        with self._save_lock:
            with self._write_lock, self._lock:
                payload = faiss.serialize_index(self._index)
                dead = np.flatnonzero(np.unpackbits(self._dead_bits, bitorder="little")[: self._n])
                # the graph alone is saved; with an empty graph, below every waiting id
                marked = self._live if self._live or not len(self._tail) else [self._tail_min() - 1]
                meta = stamp_watermark(meta, marked)
                header = {
                    "kind": self.kind,
                    "dim": self._dim,
                    "count": len(self._live),
                    "ntotal": self._n,
                    "meta": meta,
                    "params": {
                        "m": self._m,
                        "ef_construction": self._ef_construction,
                        "ef_search": self._ef_search,
                        "tombstones": dead.tolist(),
                    },
                }
            write_index_file(Path(path), header, payload)
        return meta

    @classmethod
    def from_faiss(cls, raw: faiss.Index, header: dict[str, Any]) -> HNSWIndex:
        """Adopt a deserialised FAISS index; ValueError if it is not what we write."""
        if not isinstance(raw, faiss.IndexIDMap2):
            raise ValueError(f"expected IndexIDMap2, found {type(raw).__name__}")
        hnsw = faiss.downcast_index(raw.index)
        if not isinstance(hnsw, faiss.IndexHNSWFlat):
            raise ValueError(f"expected IndexHNSWFlat in the id map, found {type(hnsw).__name__}")
        if hnsw.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise ValueError("HNSW index does not use the inner-product metric")
        params = header.get("params", {})
        obj = cls(
            int(raw.d),
            m=int(hnsw.hnsw.nb_neighbors(1)),
            ef_construction=int(hnsw.hnsw.efConstruction),
            ef_search=int(params.get("ef_search", hnsw.hnsw.efSearch)),
        )
        ext = faiss.vector_to_array(raw.id_map).astype(np.int64, copy=False)
        dead = [int(p) for p in params.get("tombstones", [])]
        if ext.size != raw.ntotal or any(p < 0 or p >= ext.size for p in dead):
            raise ValueError("id map or tombstones inconsistent with the stored vectors")
        hnsw.hnsw.efSearch = obj._ef_search
        obj._reset(raw, hnsw, ext, dead)
        return obj
