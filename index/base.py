"""The interface every vector index implementation satisfies.

The rest of the service depends only on this protocol, so the exact/approximate
choice (see ``factory.build_index``) stays an operational detail.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class VectorIndex(Protocol):
    """Cosine-similarity index over L2-normalised float32 vectors keyed by int64 ids.

    Implementations are safe for one writer thread plus many reader threads.
    """

    @property
    def kind(self) -> str:
        """Short implementation name stored in saved files ("flat", "hnsw")."""
        ...

    @property
    def dim(self) -> int:
        """Vector dimensionality; fixed for the lifetime of the index."""
        ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Insert vectors; raises ValueError on bad shapes/dtypes or an id already present."""
        ...

    def defer(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """`add`, where the index may keep the vectors searchable in an exact tail and
        build them into its structure later (`fold`): a start's top-up."""
        ...

    def fold(self, limit: int) -> int:
        """Build deferred vectors into the index's structure (`limit`, and as many as
        joined them since the last fold); how many."""
        ...

    @property
    def deferred(self) -> int:
        """Vectors added but not yet built into the structure a saved file holds."""
        ...

    def remove(self, ids: np.ndarray) -> int:
        """Delete ids; unknown ids are ignored. Returns how many were removed."""
        ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by inner product: (scores float32 (m, k), ids int64 (m, k)), best first.

        Missing results are padded with id -1 and score -inf.
        """
        ...

    def __len__(self) -> int: ...

    def __contains__(self, item: object) -> bool: ...

    def ids(self) -> np.ndarray:
        """All live ids as an int64 array (order unspecified)."""
        ...

    def save(self, path: Path, meta: dict[str, Any]) -> dict[str, Any]:
        """Atomically persist the index together with caller metadata; returns the
        metadata written (`stamp_watermark`)."""
        ...


def stamp_watermark(meta: dict[str, Any], ids: Collection[int]) -> dict[str, Any]:
    """`meta` with a `watermark` of None replaced by the largest id saved, taken under
    the same lock as the bytes: a snapshot made beside the writer must not claim ids
    the writer adds between reading them and copying the index."""
    if "watermark" not in meta or meta["watermark"] is not None:
        return meta
    return {**meta, "watermark": max(ids, default=0)}
