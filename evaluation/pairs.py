"""Pair-level scoring of groupings, and margin scoring of similarity matrices.

A grouping is judged by its pairs: two items predicted together form a predicted pair,
two items with the same true label form a true pair, and precision, recall and F1 are
taken over pairs. Everything here is a pure function of arrays.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PairScore:
    precision: float
    recall: float
    f1: float
    tp: int  # predicted pairs that are true pairs
    predicted: int
    true: int
    threshold: float | None = None  # the cut-off that gave these numbers, for sweeps


def _score(tp: int, predicted: int, true: int, threshold: float | None = None) -> PairScore:
    precision = tp / predicted if predicted else 0.0
    recall = tp / true if true else 0.0
    f1 = 2 * tp / (predicted + true) if predicted + true else 0.0
    return PairScore(precision, recall, f1, tp, predicted, true, threshold)


def count_true_pairs(labels: Sequence[Hashable]) -> int:
    """Number of unordered pairs of items that share a label."""
    return sum(c * (c - 1) // 2 for c in Counter(labels).values())


def pair_f1(predicted: Iterable[tuple[int, int]], labels: Sequence[Hashable]) -> PairScore:
    """Score predicted pairs of item indices against true labels.

    Pairs are unordered; repeats and self-pairs ``(i, i)`` are ignored.
    """
    pairs = {(min(i, j), max(i, j)) for i, j in predicted if i != j}
    tp = sum(labels[i] == labels[j] for i, j in pairs)
    return _score(tp, len(pairs), count_true_pairs(labels))


def best_threshold_f1(
    scores: np.ndarray, labels: Sequence[Hashable], allowed: np.ndarray | None = None
) -> PairScore:
    """Best pair F1 over every threshold ``t``, predicting each pair with score >= t.

    ``scores`` is a symmetric (n, n) matrix; only pairs i < j are read. ``allowed``, a
    boolean (n, n) mask, limits which pairs may be predicted at all (e.g. mutual best
    neighbours). Exact: every distinct score is tried as the threshold.
    """
    n = len(labels)
    if scores.shape != (n, n):
        raise ValueError(f"scores has shape {scores.shape}, expected ({n}, {n})")
    iu, ju = np.triu_indices(n, k=1)
    keep = np.ones(iu.size, dtype=bool) if allowed is None else allowed[iu, ju]
    codes = np.unique(np.asarray(labels), return_inverse=True)[1].ravel()
    s = scores[iu[keep], ju[keep]]
    hit = codes[iu[keep]] == codes[ju[keep]]
    true = count_true_pairs(labels)
    if s.size == 0:
        return _score(0, 0, true)
    order = np.argsort(-s, kind="stable")
    s, hit = s[order], hit[order]
    tp = np.cumsum(hit)
    # a cut is only possible after the last of a run of equal scores
    cut = np.flatnonzero(np.append(s[1:] != s[:-1], True))
    predicted = cut + 1
    f1 = 2 * tp[cut] / (predicted + true)
    best = int(np.argmax(f1))
    c = cut[best]
    return _score(int(tp[c]), int(predicted[best]), true, float(s[c]))


def knn_mean(sim: np.ndarray, k: int) -> np.ndarray:
    """Mean similarity of each row's k nearest neighbours, itself excluded."""
    n = sim.shape[0]
    if not 0 < k < n:
        raise ValueError(f"k must be between 1 and {n - 1} for {n} items, got {k}")
    off = sim.astype(np.float64, copy=True)
    np.fill_diagonal(off, -np.inf)
    top = np.partition(off, n - k, axis=1)[:, n - k :]
    return top.mean(axis=1)


def ratio_margin(sim: np.ndarray, k: int = 4) -> np.ndarray:
    """Ratio margin of Artetxe & Schwenk (2019) for every pair of one pool.

    margin(x, y) = cos(x, y) / ((knn_mean(x) + knn_mean(y)) / 2), with neighbours taken
    within the pool, self excluded. The diagonal is set to -inf (nobody is their own
    neighbour), so a row's argmax is its best other item.
    """
    m = knn_mean(sim, k)
    out = sim / ((m[:, None] + m[None, :]) / 2)
    np.fill_diagonal(out, -np.inf)
    return out


def mutual_best(scores: np.ndarray) -> np.ndarray:
    """Boolean (n, n) mask of pairs that are each other's best other item."""
    off = scores.astype(np.float64, copy=True)
    np.fill_diagonal(off, -np.inf)
    best = off.argmax(axis=1)
    rows = np.flatnonzero(best[best] == np.arange(len(best)))
    mask = np.zeros(off.shape, dtype=bool)
    mask[rows, best[rows]] = True
    return mask


def precision_at_1(sim: np.ndarray) -> float:
    """Share of rows whose best column is the one with the same index (row i <-> col i)."""
    return float(np.mean(sim.argmax(axis=1) == np.arange(sim.shape[0])))
