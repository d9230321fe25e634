"""Fit the event link (`stories.event`) on labelled streams.

Teacher forcing: each snippet, in arrival order, meets the true stories of its nearest
earlier neighbours (as online assignment meets the stories of its neighbours), with
features computed exactly as the service computes them (`stories.event_candidates`).
A story of its own event is a positive, any other a negative. The logistic weights
come from a few Newton steps with a small L2 penalty; each stream weighs the same,
however many pairs it gives, so one large file does not decide for all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stories.event import FEATURES, EventModel
from stories.event_candidates import StoryView, candidate_rows
from stories.features import Features


@dataclass(frozen=True)
class Stream:
    """One labelled stream: unit vectors, features and true story labels, in arrival order."""

    name: str
    vectors: np.ndarray
    features: list[Features]
    stories: list[str]


def pairs(stream: Stream, knn: int = 32, window: float = 3 * 86400.0) -> tuple[np.ndarray, ...]:
    """(feature rows, labels) for every (snippet, candidate story) the stream gives."""
    rows: list[tuple[float, ...]] = []
    labels: list[float] = []
    sums: dict[str, np.ndarray] = {}
    span: dict[str, list[float]] = {}
    vecs = stream.vectors
    for i, f in enumerate(stream.features):
        if i:
            sims = vecs[:i] @ vecs[i]
            top = np.argsort(-sims, kind="stable")[:knn]
            views: dict[str, StoryView] = {}
            for j in top.tolist():
                s = stream.stories[j]
                if abs(stream.features[j].published_at - f.published_at) > window:
                    continue
                view = views.get(s)
                if view is None:
                    centre = sums[s] / max(float(np.linalg.norm(sums[s])), 1e-12)
                    view = views[s] = StoryView(s, float(centre @ vecs[i]), span[s][0], span[s][1])
                view.add(float(sims[j]), stream.features[j])
            for view, row in candidate_rows(f, [v.freeze() for v in views.values()]):
                rows.append(row)
                labels.append(1.0 if view.key == stream.stories[i] else 0.0)
        s = stream.stories[i]
        sums[s] = sums.get(s, np.zeros_like(vecs[i])) + vecs[i]
        first, last = span.get(s, [f.published_at, f.published_at])
        span[s] = [min(first, f.published_at), max(last, f.published_at)]
    return np.array(rows, dtype=np.float64).reshape(-1, len(FEATURES)), np.array(labels)


def fit(
    data: Sequence[tuple[np.ndarray, np.ndarray]], l2: float = 1e-2, steps: int = 50
) -> EventModel:
    """Weighted logistic regression (Newton), each (rows, labels) part weighing one."""
    xs, ys, ws = [], [], []
    for x, y in data:
        if not len(y):
            continue
        xs.append(x)
        ys.append(y)
        ws.append(np.full(len(y), 1.0 / len(y)))
    x = np.hstack([np.vstack(xs), np.ones((sum(len(y) for y in ys), 1))])
    y, w = np.concatenate(ys), np.concatenate(ws)
    beta = np.zeros(x.shape[1])
    penalty = l2 * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        grad = x.T @ (w * (p - y)) + penalty @ beta
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return EventModel(tuple(float(b) for b in beta[:-1]), float(beta[-1]))


def accuracy(model: EventModel, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Pairwise precision and recall of links at logit >= 0 (for the fit's report)."""
    got = model.logits(x) >= 0
    tp = float((got & (y > 0)).sum())
    return {
        "pairs": float(len(y)),
        "positives": float((y > 0).sum()),
        "precision": tp / max(float(got.sum()), 1.0),
        "recall": tp / max(float((y > 0).sum()), 1.0),
    }
