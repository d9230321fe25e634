"""Threshold sweeps: the real pipeline re-run at each value of one setting.

Each point is a full online run (`harness.evaluate`) with one parameter overridden,
exactly as a user would set STORYLINE_REPORT_THRESHOLD; wrap the embedder in
`CachedEmbedder` so only the first point pays for the model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from embeddings import Embedder
from evaluation.datasets import Dataset
from evaluation.harness import Overrides, evaluate

# sweepable knob -> (`stories.params.Params` field, level it is judged at)
KNOBS: dict[str, tuple[str, str]] = {
    "report": ("report", "report"),
    "story": ("story", "story"),
    "margin": ("margin_weight", "report"),
}
METRICS = ("pairwise", "bcubed")


def grid(lo: float, hi: float, step: float) -> list[float]:
    """Inclusive, rounded to the step's precision (no 0.30000000000000004)."""
    n = int(round((hi - lo) / step))
    return [round(lo + i * step, 4) for i in range(n + 1)]


def sweep(
    datasets: Sequence[Dataset],
    embedder: Embedder,
    knob: str,
    values: Sequence[float],
    base: Overrides | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per (value, dataset) for the datasets labelled at the knob's level.

    The story threshold is the centre-cosine rule, which decides only where no event link
    is used (`stories.event`), so its sweep runs with the event link off."""
    field, level = KNOBS[knob]
    rows = []
    for value in values:
        cfg = {**(base or {}), field: float(value)}
        if knob == "story":
            cfg["event_link"] = False
        for data in datasets:
            if level not in data.levels:
                continue
            res = evaluate(data, embedder, cfg)
            rows.append(
                {"knob": knob, "value": float(value), "dataset": data.name, "level": level}
                | res.scores[level]
            )
            if progress:
                f1 = res.scores[level]["pairwise"]["f1"]
                progress(f"{knob}={value:.3f} {data.name}: pair F1 {f1:.3f}")
    return rows


def macro(rows: Sequence[dict[str, Any]], metric: str = "pairwise") -> dict[float, float]:
    """Mean F1 over datasets at each value: each dataset (each language) counts once."""
    by_value: dict[float, list[float]] = {}
    for r in rows:
        by_value.setdefault(r["value"], []).append(r[metric]["f1"])
    return {v: float(np.mean(f)) for v, f in sorted(by_value.items())}


def best_value(scores: dict[float, float], tolerance: float = 0.002) -> float:
    """The middle of the best plateau: values within `tolerance` of the top F1 are
    equally good on this data, and the middle one is furthest from both cliffs."""
    top = max(scores.values())
    near = sorted(v for v, f in scores.items() if f >= top - tolerance)
    return near[len(near) // 2]
