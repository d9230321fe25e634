"""Input validation and result shaping shared by the index implementations.

FAISS crashes or silently misbehaves on wrong dtypes, non-contiguous arrays or
NaNs, so everything is checked and normalised here before reaching it.
"""

from __future__ import annotations

import numpy as np

PAD_ID = -1
INT64_MAX = np.iinfo(np.int64).max


def as_ids(ids: np.ndarray, *, name: str = "ids") -> np.ndarray:
    """Return ids as a contiguous int64 vector, refusing lossy conversions."""
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must have an integer dtype, got {arr.dtype}")
    if np.issubdtype(arr.dtype, np.unsignedinteger) and int(arr.max()) > INT64_MAX:
        raise ValueError(f"{name} contains values that do not fit in int64")
    out = np.ascontiguousarray(arr, dtype=np.int64)
    if np.any(out == PAD_ID):
        raise ValueError(f"{name} must not contain {PAD_ID}: it marks missing search results")
    return out


def as_vectors(vectors: np.ndarray, dim: int, *, name: str = "vectors") -> np.ndarray:
    """Return vectors as a contiguous float32 (n, dim) matrix of finite values."""
    arr = np.asarray(vectors)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{name} must have shape (n, {dim}), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"{name} must have a floating dtype, got {arr.dtype}")
    out = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(out).all():
        raise ValueError(f"{name} contains NaN or infinite values (or overflowed float32)")
    return out


def check_k(k: int) -> int:
    """Validate the number of neighbours requested."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ValueError(f"k must be an int, got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return int(k)


def check_batch(ids: np.ndarray, vectors: np.ndarray) -> None:
    """Reject batches whose lengths differ or that repeat an id."""
    if ids.shape[0] != vectors.shape[0]:
        raise ValueError(
            f"got {ids.shape[0]} ids but {vectors.shape[0]} vectors; counts must match"
        )
    if np.unique(ids).size != ids.size:
        uniq, counts = np.unique(ids, return_counts=True)
        repeated = describe_ids(uniq[counts > 1].tolist())
        raise ValueError(f"ids repeated within the batch: {repeated}")


def empty_result(m: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """All-padding result for an empty index."""
    return (
        np.full((m, k), -np.inf, dtype=np.float32),
        np.full((m, k), PAD_ID, dtype=np.int64),
    )


def finish_result(scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalise FAISS output: it pads with -FLT_MAX, callers expect -inf."""
    scores = np.ascontiguousarray(scores, dtype=np.float32)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    scores[ids == PAD_ID] = -np.inf
    return scores, ids


def describe_ids(ids: list[int], limit: int = 5) -> str:
    """Short human-readable id list for error messages."""
    shown = ", ".join(str(i) for i in ids[:limit])
    return shown + (f", ... ({len(ids)} total)" if len(ids) > limit else "")
