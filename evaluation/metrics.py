"""Scores of a predicted grouping against true labels (pure functions of label lists).

Pairwise: over all unordered pairs of items, "same group" predicted vs true.
B-cubed: per item, the share of its predicted group that truly belongs with it
(precision) and the share of its true group that was put with it (recall),
averaged over items; unlike pairwise, big groups do not dominate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in asdict(self).items()}


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(counts: Counter) -> int:
    return sum(c * (c - 1) // 2 for c in counts.values())


def pairwise(pred: Sequence[Hashable], true: Sequence[Hashable]) -> PRF:
    """Pair precision/recall/F1 from the contingency table (no O(n^2) loop).

    With no predicted (or no true) pairs at all, precision (recall) is 1: nothing
    claimed, nothing wrong.
    """
    _check(pred, true)
    both = _pairs(Counter(zip(pred, true, strict=True)))
    p_pairs, t_pairs = _pairs(Counter(pred)), _pairs(Counter(true))
    precision = both / p_pairs if p_pairs else 1.0
    recall = both / t_pairs if t_pairs else 1.0
    return PRF(precision, recall, _f1(precision, recall))


def bcubed(pred: Sequence[Hashable], true: Sequence[Hashable]) -> PRF:
    _check(pred, true)
    n = len(pred)
    if n == 0:
        return PRF(1.0, 1.0, 1.0)
    joint = Counter(zip(pred, true, strict=True))
    p_size, t_size = Counter(pred), Counter(true)
    precision = sum(joint[(p, t)] / p_size[p] for p, t in zip(pred, true, strict=True)) / n
    recall = sum(joint[(p, t)] / t_size[t] for p, t in zip(pred, true, strict=True)) / n
    return PRF(precision, recall, _f1(precision, recall))


def cross_lingual_recall(
    pred: Sequence[Hashable], true: Sequence[Hashable], langs: Sequence[str]
) -> float | None:
    """Share of true same-group pairs in different languages that were put together.

    None when the data has no such pair.
    """
    _check(pred, true)
    both = _pairs(Counter(zip(pred, true, strict=True)))
    same_lang_both = _pairs(Counter(zip(pred, true, langs, strict=True)))
    t_pairs = _pairs(Counter(true))
    same_lang_true = _pairs(Counter(zip(true, langs, strict=True)))
    cross_true = t_pairs - same_lang_true
    if cross_true == 0:
        return None
    return (both - same_lang_both) / cross_true


def _check(pred: Sequence[Hashable], true: Sequence[Hashable]) -> None:
    if len(pred) != len(true):
        raise ValueError(f"{len(pred)} predicted labels for {len(true)} true labels")


def level_scores(
    pred: Sequence[Hashable], true: Sequence[Hashable], langs: Sequence[str]
) -> dict[str, object]:
    """Everything reported for one level (story or report)."""
    return {
        "pairwise": pairwise(pred, true).as_dict(),
        "bcubed": bcubed(pred, true).as_dict(),
        "cross_lingual_recall": cross_lingual_recall(pred, true, langs),
        "groups": len(set(pred)),
        "true_groups": len(set(true)),
    }
