"""Pair scoring and margin scoring on hand-computed cases, sweeps against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.pairs import (
    best_threshold_f1,
    count_true_pairs,
    knn_mean,
    mutual_best,
    pair_f1,
    precision_at_1,
    ratio_margin,
)


def sym(n: int, entries: dict[tuple[int, int], float]) -> np.ndarray:
    s = np.eye(n)
    for (i, j), v in entries.items():
        s[i, j] = s[j, i] = v
    return s


def test_count_true_pairs() -> None:
    assert count_true_pairs([0, 0, 1, 1, 1, 2]) == 1 + 3
    assert count_true_pairs([]) == 0


def test_pair_f1_hand_computed() -> None:
    # true pairs: (0,1) (2,3) (2,4) (3,4); repeats, reversed and self pairs collapse
    got = pair_f1([(0, 1), (1, 2), (3, 2), (2, 3), (4, 4)], [0, 0, 1, 1, 1])
    assert (got.tp, got.predicted, got.true) == (2, 3, 4)
    assert got.precision == pytest.approx(2 / 3)
    assert got.recall == pytest.approx(1 / 2)
    assert got.f1 == pytest.approx(4 / 7)


def test_pair_f1_without_predictions_or_truth_is_zero() -> None:
    assert pair_f1([], ["a", "a"]).f1 == 0.0
    assert pair_f1([(0, 1)], ["a", "b"]).f1 == 0.0


def test_best_threshold_hand_computed() -> None:
    # sorted: .9 (0,1) true, .7 (0,2) false, .5 (2,3) true, .45 (1,2) false, ...
    s = sym(4, {(0, 1): 0.9, (0, 2): 0.7, (2, 3): 0.5, (1, 2): 0.45, (1, 3): 0.2, (0, 3): 0.1})
    got = best_threshold_f1(s, ["a", "a", "b", "b"])
    assert got.threshold == pytest.approx(0.5)
    assert (got.tp, got.predicted, got.true) == (2, 3, 2)
    assert got.f1 == pytest.approx(0.8)


def test_best_threshold_cannot_split_tied_scores() -> None:
    s = sym(3, {(0, 1): 0.5, (0, 2): 0.5, (1, 2): 0.1})
    got = best_threshold_f1(s, [0, 0, 1])
    assert (got.tp, got.predicted, got.threshold) == (1, 2, 0.5)
    assert got.f1 == pytest.approx(2 / 3)


def test_best_threshold_respects_allowed_pairs() -> None:
    s = sym(4, {(0, 1): 0.9, (0, 2): 0.7, (2, 3): 0.5, (1, 2): 0.45, (1, 3): 0.2, (0, 3): 0.1})
    allowed = np.zeros((4, 4), dtype=bool)
    allowed[0, 1] = allowed[2, 3] = True
    got = best_threshold_f1(s, ["a", "a", "b", "b"], allowed)
    assert (got.tp, got.predicted, got.f1, got.threshold) == (2, 2, 1.0, 0.5)
    nothing = best_threshold_f1(s, ["a", "a", "b", "b"], np.zeros((4, 4), dtype=bool))
    assert (nothing.predicted, nothing.f1) == (0, 0.0)


def test_best_threshold_rejects_wrong_shape() -> None:
    with pytest.raises(ValueError, match="shape"):
        best_threshold_f1(np.zeros((3, 3)), [0, 0])


@pytest.mark.parametrize("seed", range(5))
def test_best_threshold_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 12
    labels = rng.integers(0, 4, n).tolist()
    s = np.round(rng.random((n, n)), 1)  # rounding makes ties
    s = np.triu(s, 1) + np.triu(s, 1).T
    allowed = rng.random((n, n)) < 0.6 if seed % 2 else np.ones((n, n), dtype=bool)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if allowed[i, j]]
    brute = max(
        (pair_f1([(i, j) for i, j in pairs if s[i, j] >= t], labels).f1 for t in np.unique(s)),
        default=0.0,
    )
    assert best_threshold_f1(s, labels, allowed).f1 == pytest.approx(brute)


# cos(2,3)=.5 is 2's second best and 3's best by cosine, but each other's best by margin
SIM = np.array(
    [
        [1.0, 0.8, 0.4, 0.2],
        [0.8, 1.0, 0.6, 0.0],
        [0.4, 0.6, 1.0, 0.5],
        [0.2, 0.0, 0.5, 1.0],
    ]
)


def test_knn_mean_excludes_self() -> None:
    assert knn_mean(SIM, 2) == pytest.approx([0.6, 0.7, 0.55, 0.35])
    with pytest.raises(ValueError, match="k must be"):
        knn_mean(SIM, 4)


def test_ratio_margin_hand_computed() -> None:
    m = ratio_margin(SIM, k=2)
    assert m[0, 1] == pytest.approx(0.8 / 0.65)
    assert m[2, 3] == pytest.approx(0.5 / 0.45)
    assert m[0, 3] == pytest.approx(0.2 / 0.475)
    assert np.allclose(m, m.T)
    assert np.all(np.isneginf(np.diag(m)))


def test_mutual_best_on_cosine_and_on_margin() -> None:
    on_cos = mutual_best(SIM)
    assert set(zip(*np.nonzero(on_cos), strict=True)) == {(0, 1), (1, 0)}
    on_margin = mutual_best(ratio_margin(SIM, k=2))
    assert set(zip(*np.nonzero(on_margin), strict=True)) == {(0, 1), (1, 0), (2, 3), (3, 2)}


def test_precision_at_1() -> None:
    assert precision_at_1(np.array([[0.9, 0.1], [0.8, 0.2]])) == 0.5
