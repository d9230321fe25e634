"""Exact (brute-force) inner-product index.

Exact search is fast enough up to a few hundred thousand vectors and gives
reproducible results, so it is the default for normal collection sizes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from index._arrays import (
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
from index.untyped import faiss


class FlatIndex:
    """``IndexIDMap2(IndexFlatIP)`` with id bookkeeping and locking.

    ``_write_lock`` serialises mutators and saves; ``_lock`` guards the FAISS
    object itself, so readers only wait while FAISS is actually being touched.
    """

    kind = "flat"

    def __init__(self, dim: int) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        self._dim = dim
        self._lock = threading.RLock()
        self._write_lock = threading.RLock()
        self._save_lock = threading.Lock()  # saves reach the file in the order they copied
        self._inner = faiss.IndexFlatIP(dim)
        self._index = faiss.IndexIDMap2(self._inner)
        self._ids: set[int] = set()

    @property
    def dim(self) -> int:
        return self._dim

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Insert a batch; all-or-nothing on validation failure."""
        id_arr = as_ids(ids)
        vecs = as_vectors(vectors, self._dim)
        check_batch(id_arr, vecs)
        if id_arr.size == 0:
            return
        with self._write_lock, self._lock:
            present = [i for i in id_arr.tolist() if i in self._ids]
            if present:
                raise ValueError(f"ids already in the index: {describe_ids(present)}")
            self._index.add_with_ids(vecs, id_arr)
            self._ids.update(id_arr.tolist())

    def defer(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """An exact index has nothing to build: `add`."""
        self.add(ids, vectors)

    def fold(self, limit: int) -> int:
        return 0

    @property
    def deferred(self) -> int:
        return 0

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of `ids` (all present), in their order."""
        id_arr = as_ids(ids)
        with self._lock:
            out = np.empty((id_arr.size, self._dim), dtype=np.float32)
            for row, i in enumerate(id_arr.tolist()):
                out[row] = self._index.reconstruct(i)
        return out

    def remove(self, ids: np.ndarray) -> int:
        """Delete ids physically (O(n) compaction inside FAISS)."""
        id_arr = np.unique(as_ids(ids))
        with self._write_lock, self._lock:
            known = np.array([i for i in id_arr.tolist() if i in self._ids], dtype=np.int64)
            if known.size == 0:
                return 0
            removed = int(self._index.remove_ids(known))
            self._ids.difference_update(known.tolist())
            return removed

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k by inner product."""
        q = as_vectors(queries, self._dim, name="queries")
        k = check_k(k)
        with self._lock:
            if self._index.ntotal == 0 or q.shape[0] == 0:
                return empty_result(q.shape[0], k)
            scores, ids = self._index.search(q, k)
        return finish_result(scores, ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, bool) or not isinstance(item, int | np.integer):
            return False
        return int(item) in self._ids

    def ids(self) -> np.ndarray:
        with self._lock:
            return faiss.vector_to_array(self._index.id_map).astype(np.int64, copy=False)

    def save(self, path: Path, meta: dict[str, Any]) -> dict[str, Any]:
        """Copy under the locks, then write atomically: adds wait for the copy only, not
        for the file. Returns the meta written (see `index.base.stamp_watermark`)."""
        with self._save_lock:
            with self._write_lock, self._lock:
                payload = faiss.serialize_index(self._index)
                count = len(self._ids)
                meta = stamp_watermark(meta, self._ids)
            header = {
                "kind": self.kind,
                "dim": self._dim,
                "count": count,
                "ntotal": count,
                "params": {},
                "meta": meta,
            }
            write_index_file(Path(path), header, payload)
        return meta

    @classmethod
    def from_faiss(cls, raw: faiss.Index, header: dict[str, Any]) -> FlatIndex:
        """Adopt a deserialised FAISS index; ValueError if it is not what we write."""
        if not isinstance(raw, faiss.IndexIDMap2):
            raise ValueError(f"expected IndexIDMap2, found {type(raw).__name__}")
        inner = faiss.downcast_index(raw.index)
        if not isinstance(inner, faiss.IndexFlatIP):
            raise ValueError(f"expected IndexFlatIP in the id map, found {type(inner).__name__}")
        obj = cls(int(raw.d))
        ids = faiss.vector_to_array(raw.id_map).astype(np.int64, copy=False)
        id_set = set(ids.tolist())
        if len(id_set) != ids.size or ids.size != raw.ntotal:
            raise ValueError("id map is inconsistent with the stored vectors")
        obj._index, obj._inner, obj._ids = raw, inner, id_set
        return obj
