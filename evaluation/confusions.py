"""Where a clustering goes wrong, in words: the stories it mixes and the events it splits.

Scores say how much; these say which, so a change can be read against real items
(`make eval` prints them for the NTREX sets).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from evaluation.datasets import Dataset


def confusions(
    data: Dataset, got: dict[str, tuple[int, int]], level: int = 0, limit: int = 5
) -> dict[str, list[dict[str, Any]]]:
    """`level` 0: stories (got[key][0]) against true stories; 1: reports against reports.

    mixed: predicted groups holding several true groups, most foreign items first;
    split: true groups spread over several predicted ones, most pieces first.
    """
    truth = {it.key: (it.story if level == 0 else it.report) for it in data.items}
    label = {it.key: (it.title or it.text)[:70] for it in data.items}
    by_pred: dict[int, list[str]] = defaultdict(list)
    by_true: dict[str, list[str]] = defaultdict(list)
    for key, ids in got.items():
        by_pred[ids[level]].append(key)
        by_true[truth[key]].append(key)
    mixed: list[dict[str, Any]] = []
    for pred, keys in by_pred.items():
        counts = Counter(truth[k] for k in keys)
        if len(counts) > 1:
            top = counts.most_common(1)[0][1]
            mixed.append(
                {
                    "group": pred,
                    "items": len(keys),
                    "foreign": len(keys) - top,
                    "true": {t: n for t, n in counts.most_common()},
                    "examples": [
                        label[next(k for k in keys if truth[k] == t)]
                        for t, _ in counts.most_common(4)
                    ],
                }
            )
    split: list[dict[str, Any]] = []
    for true, keys in by_true.items():
        parts = Counter(got[k][level] for k in keys)
        if len(parts) > 1:
            split.append(
                {
                    "true": true,
                    "items": len(keys),
                    "pieces": len(parts),
                    "sizes": sorted(parts.values(), reverse=True),
                    "example": label[keys[0]],
                }
            )
    mixed.sort(key=lambda m: (-m["foreign"], -m["items"]))
    split.sort(key=lambda s: (-s["pieces"], -s["items"]))
    return {"mixed": mixed[:limit], "split": split[:limit]}
