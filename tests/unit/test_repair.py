"""The nightly repair joins what online split; the one thing it moves is a report that
online left across two stories, and it moves it whole."""

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


def stays_together_unless_moved(
    after: np.ndarray, stories: np.ndarray, reports: np.ndarray
) -> bool:
    """Within each online story, the members whose new report lies wholly in that story
    (nothing moved them) end in one story."""
    for g in set(stories.tolist()):
        own = [r for r in set(reports[stories == g].tolist()) if set(stories[reports == r]) == {g}]
        kept = np.isin(reports, own) & (stories == g)
        if len(set(after[kept].tolist())) > 1:
            return False
    return True


def test_random_online_labels_are_joined_or_moved_by_whole_reports() -> None:
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
        assert stays_together_unless_moved(got.stories, stories, got.reports), trial
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


def test_a_misplaced_copy_moves_to_its_report_and_does_not_chain_two_events() -> None:
    """Online put a near copy of an item of event B into event A (unrelated vectors, other
    names). The re-index puts the copy with its original; A and B stay two stories."""
    rng = np.random.default_rng(1)
    a = unit(rng.normal(size=32) + 0.3 * rng.normal(size=(4, 32)))
    b = unit(rng.normal(size=32) + 0.3 * rng.normal(size=(4, 32)))
    copy = unit(b[:1] + 0.05 * rng.normal(size=(1, 32)))
    vectors = np.vstack([a, b, copy])
    nb, sims = knn(vectors, 8)
    names = [frozenset({"sulawesi"})] * 4 + [frozenset({"rangers"})] * 5
    feats = [Features("en", DAY, n) for n in names]
    online_stories = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0])  # the copy went to A
    online_reports = np.arange(9)
    params = Params(near_duplicate=0.9, report=0.9, story=0.5, event=MODEL)
    got = repair(
        vectors,
        nb,
        sims,
        np.zeros(9, dtype=np.int64),
        np.full(9, DAY),
        online_reports,
        online_stories,
        feats,
        params,
    )
    assert got.reports[8] == got.reports[4]  # the copy is a variant of its original
    assert got.stories[8] == got.stories[4]  # and moved with it
    assert got.stories[0] != got.stories[4]  # A and B are still two events
    assert len(set(got.stories[:4].tolist())) == 1 and len(set(got.stories[4:].tolist())) == 1
