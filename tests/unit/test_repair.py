"""The nightly repair joins what online split and splits nothing online decided."""

from __future__ import annotations

import numpy as np

from stories.event import EventModel
from stories.features import Features
from stories.params import Params
from stories.repair import repair

DAY = 86400.0
MODEL = EventModel((4.9, 5.84, 4.45, -1.08, 0.89, -3.84), -5.49, repair_margin=-1.0)


def knn(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -2.0)
    order = np.argsort(-sims, axis=1)[:, :k]
    return order, np.take_along_axis(sims, order, axis=1).astype(np.float32)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def coarser(after: np.ndarray, before: np.ndarray) -> bool:
    """Every group of `before` lies inside one group of `after`."""
    return all(len(set(after[before == g].tolist())) == 1 for g in set(before.tolist()))


def test_random_online_labels_are_only_ever_joined() -> None:
    rng = np.random.default_rng(3)
    for trial in range(5):
        n = 60
        vectors = unit(rng.normal(size=(n, 16)))
        nb, sims = knn(vectors, 8)
        reports = rng.integers(0, 30, n)
        stories = reports % 12  # each report inside one story, as online keeps them
        feats = [
            Features("en", float(rng.uniform(0, 2 * DAY)), frozenset({f"name{i % 7:04d}"}))
            for i in range(n)
        ]
        params = Params(near_duplicate=0.93, report=0.3, story=0.3, event=MODEL)
        got = repair(
            vectors,
            nb,
            sims,
            np.zeros(n, dtype=np.int64),
            np.array([f.published_at for f in feats]),
            reports,
            stories,
            feats,
            params,
        )
        assert coarser(got.reports, reports), trial
        assert coarser(got.stories, stories), trial
        assert coarser(got.stories, got.reports), trial  # a report stays in one story


def test_pieces_of_one_event_join_and_a_topical_neighbour_stays_apart() -> None:
    """Three online stories: two pieces of one event (close vectors, its rare names) and a
    story on the same topic with other names, a little farther."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=32)
    event = unit(base + 0.35 * rng.normal(size=(6, 32)))
    topic = unit(base + 2.0 * rng.normal(size=(4, 32)))
    vectors = np.vstack([event, topic])
    nb, sims = knn(vectors, 9)
    names = [frozenset({"sulawesi", "palu"})] * 6 + [frozenset({"lombok", "mataram"})] * 4
    feats = [Features("en", DAY, n) for n in names]
    online_stories = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    online_reports = np.arange(10)
    params = Params(near_duplicate=0.99, report=0.99, story=0.5, event=MODEL)
    got = repair(
        vectors,
        nb,
        sims,
        np.zeros(10, dtype=np.int64),
        np.full(10, DAY),
        online_reports,
        online_stories,
        feats,
        params,
    )
    s = got.stories
    assert s[0] == s[3]  # the two pieces are one event
    assert s[6] != s[0]  # the topical neighbour is another
    assert len(set(got.reports.tolist())) == 10  # nothing met the report threshold
