"""Choosing, (re)building and loading vector indexes.

Callers say how big the collection will be; this module decides between exact
and approximate search, so that policy lives in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from index._arrays import as_ids, as_vectors
from index.base import VectorIndex
from index.errors import IndexCorruptError
from index.fileformat import distrust, read_index_file
from index.flat import FlatIndex
from index.hnsw import HNSWIndex
from index.untyped import faiss

KINDS = ("auto", "flat", "hnsw")
DEFAULT_HNSW_THRESHOLD = 200_000
DEFAULT_CHUNK_SIZE = 50_000


def choose_kind(
    expected_size: int, kind: str = "auto", hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD
) -> str:
    """Resolve "auto": exact search below the threshold, HNSW at or above it."""
    if kind not in KINDS:
        raise ValueError(f"unknown index kind {kind!r}; expected one of {KINDS}")
    if expected_size < 0:
        raise ValueError(f"expected_size must be >= 0, got {expected_size}")
    if kind != "auto":
        return kind
    return "hnsw" if expected_size >= hnsw_threshold else "flat"


def build_index(
    dim: int,
    expected_size: int,
    kind: str = "auto",
    hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
    *,
    m: int = 32,
    ef_construction: int = 80,
    ef_search: int = 64,
) -> VectorIndex:
    """Create an empty index suited to ``expected_size`` vectors."""
    if choose_kind(expected_size, kind, hnsw_threshold) == "hnsw":
        return HNSWIndex(dim, m=m, ef_construction=ef_construction, ef_search=ef_search)
    return FlatIndex(dim)


def rebuild(
    dim: int,
    ids: np.ndarray,
    vectors: np.ndarray,
    kind: str = "auto",
    *,
    hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Callable[[int, int], None] | None = None,
    m: int = 32,
    ef_construction: int = 80,
    ef_search: int = 64,
) -> VectorIndex:
    """Build a fresh index from stored vectors, in chunks to bound peak memory.

    ``vectors`` may be a memmap; only one chunk is converted to float32 at a
    time. ``progress(done, total)`` is called once before the first chunk and
    after every chunk.
    """
    id_arr = as_ids(ids)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if np.ndim(vectors) != 2 or np.shape(vectors)[0] != id_arr.size:
        raise ValueError(f"vectors must have shape ({id_arr.size}, {dim}), got {np.shape(vectors)}")
    total = int(id_arr.size)
    index = build_index(
        dim, total, kind, hnsw_threshold, m=m, ef_construction=ef_construction, ef_search=ef_search
    )
    if progress is not None:
        progress(0, total)
    for start in range(0, total, chunk_size):
        stop = min(start + chunk_size, total)
        index.add(id_arr[start:stop], as_vectors(vectors[start:stop], dim))
        if progress is not None:
            progress(stop, total)
    return index


def load_index(path: Path, trust_mark: bool = False) -> tuple[VectorIndex, dict[str, Any]]:
    """Load a saved index; returns (index, caller meta). `trust_mark`: see
    `read_index_file` (the service's start-up; `storyline check` always hashes).

    Raises FileNotFoundError if absent and IndexCorruptError for anything
    else that makes the file untrustworthy, so the caller can rebuild.
    """
    path = Path(path)
    try:
        return _load(path, trust_mark)
    except IndexCorruptError:
        distrust(path)  # a file that parsed wrong is hashed again at the next start
        raise


def _load(path: Path, trust_mark: bool) -> tuple[VectorIndex, dict[str, Any]]:
    header, payload = read_index_file(path, trust_mark)
    loaders: dict[str, Callable[[faiss.Index, dict[str, Any]], VectorIndex]] = {
        FlatIndex.kind: FlatIndex.from_faiss,
        HNSWIndex.kind: HNSWIndex.from_faiss,
    }
    kind = header.get("kind")
    loader = loaders.get(kind) if isinstance(kind, str) else None
    if loader is None:
        raise IndexCorruptError(path, f"unknown index kind {kind!r}")
    try:
        raw = read_faiss_payload(payload)
    except RuntimeError as exc:
        raise IndexCorruptError(path, f"faiss could not deserialise the index: {exc}") from exc
    try:
        index = loader(raw, header)
        expected = (header["dim"], header["count"], header["ntotal"])
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(path, f"inconsistent index: {exc}") from exc
    actual = (index.dim, len(index), int(raw.ntotal))
    if actual != expected:
        raise IndexCorruptError(
            path, f"header says (dim, count, stored)={expected}, data has {actual}"
        )
    meta = header.get("meta")
    if not isinstance(meta, dict):
        raise IndexCorruptError(path, "meta is missing or not a JSON object")
    return index, meta


def read_faiss_payload(payload: np.ndarray) -> faiss.Index:
    """Parse FAISS bytes in 4 MB slices: `faiss.deserialize_index` first copies the whole
    payload into a zero-filled vector, a second pass over hundreds of MB at start-up."""
    view = payload.data.cast("B")
    offset = 0

    def read(size: int) -> bytes:
        nonlocal offset
        chunk = bytes(view[offset : offset + size])
        offset += len(chunk)
        return chunk

    return faiss.read_index(faiss.PyCallbackIOReader(read, 1 << 22))
