"""Small vector helpers shared by the rules: unit length, sums per group."""

from __future__ import annotations

import numpy as np


def unit(v: np.ndarray) -> np.ndarray:
    """`v` scaled to length 1 (a zero vector stays zero)."""
    return v / max(float(np.linalg.norm(v)), 1e-12)


def group_sums(labels: np.ndarray, vectors: np.ndarray, m: int) -> np.ndarray:
    """Sum of the vectors of each label 0..m-1 (sorted segments: far faster than add.at)."""
    sums = np.zeros((m, vectors.shape[1]), dtype=np.float32)
    if not len(labels):
        return sums
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    sums[sorted_labels[starts]] = np.add.reduceat(vectors[order], starts, axis=0)
    return sums
