"""Small vector helpers shared by the rules: unit length, sums per group."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix


def unit(v: np.ndarray) -> np.ndarray:
    """`v` scaled to length 1 (a zero vector stays zero)."""
    return v / max(float(np.linalg.norm(v)), 1e-12)


def group_sums(labels: np.ndarray, vectors: np.ndarray, m: int) -> np.ndarray:
    """Sum of the vectors of each label 0..m-1, as a sparse (m x n) 0/1 matrix times the
    vectors: ten times faster than sorted segments (`np.add.reduceat`) at 100k x 512,
    and far faster than `np.add.at`; the re-index swap computes it on the writer."""
    if not len(labels):
        return np.zeros((m, vectors.shape[1]), dtype=np.float32)
    n = len(labels)
    member = csr_matrix(
        (np.ones(n, dtype=np.float32), (labels, np.arange(n))), shape=(m, n), dtype=np.float32
    )
    return np.asarray(member @ np.asarray(vectors, dtype=np.float32), dtype=np.float32)
