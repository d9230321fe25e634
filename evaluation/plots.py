"""Precision/recall against a threshold, one panel per dataset plus the macro mean.

Pictures for people choosing thresholds: where the model's default sits on
each curve and what moving it costs. Matplotlib runs headless (Agg).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError("plots need matplotlib: pip install matplotlib") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _series(rows: Sequence[dict[str, Any]], dataset: str | None) -> dict[str, np.ndarray]:
    """Values and scores for one dataset, or their mean over datasets when None."""
    by_value: dict[float, list[dict[str, Any]]] = {}
    for r in rows:
        if dataset is None or r["dataset"] == dataset:
            by_value.setdefault(r["value"], []).append(r)
    values = sorted(by_value)

    def col(get: Any) -> np.ndarray:
        return np.array([np.mean([get(r) for r in by_value[v]]) for v in values])

    return {
        "value": np.array(values),
        "precision": col(lambda r: r["pairwise"]["precision"]),
        "recall": col(lambda r: r["pairwise"]["recall"]),
        "f1": col(lambda r: r["pairwise"]["f1"]),
        "bcubed_f1": col(lambda r: r["bcubed"]["f1"]),
    }


def plot_sweep(
    rows: Sequence[dict[str, Any]],
    path: Path,
    title: str,
    xlabel: str,
    default: float | None = None,
) -> Path:
    """Write a PNG of pairwise P, R, F1 (and B-cubed F1 dashed) against the threshold."""
    plt = _pyplot()
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    panels: list[str | None] = [*datasets, None] if len(datasets) > 1 else list(datasets)
    cols = min(3, len(panels))
    nrows = -(-len(panels) // cols)
    fig, axes = plt.subplots(
        nrows, cols, figsize=(max(4.2 * cols, 7.0), 3.3 * nrows + 0.9), squeeze=False, sharey=True
    )
    for ax, name in zip(axes.flat, panels, strict=False):
        s = _series(rows, name)
        ax.plot(s["value"], s["precision"], "o-", ms=3, label="pair precision", color="tab:blue")
        ax.plot(s["value"], s["recall"], "o-", ms=3, label="pair recall", color="tab:orange")
        ax.plot(s["value"], s["f1"], "o-", ms=3, label="pair F1", color="black", lw=2)
        ax.plot(s["value"], s["bcubed_f1"], "--", label="B-cubed F1", color="tab:green")
        if default is not None:
            ax.axvline(default, color="tab:red", lw=1, ls=":", label=f"default {default:g}")
        ax.set_title(name or "macro mean over datasets", fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.07 if nrows == 1 else 0.04, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
