"""Batch re-clustering on hand-built vectors: pure arrays, no model, no I/O."""

from __future__ import annotations

import dataclasses

import faiss
import numpy as np

from stories.params import Params
from stories.recluster import average_linkage, knn_edges, recluster
from stories.scoring import nearest_of, pair_scores
from stories.titles import choose_titles

DAY = 86400.0
PARAMS = Params(
    near_duplicate=0.93,
    report=0.65,
    story=0.40,
    window_seconds=3 * DAY,
    margin_weight=0.75,
    background=0.5,
    name_weight=0.1,
    same_language_penalty=0.04,
)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def knn_table(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN positions and cosines, self removed (what the re-index phase feeds in)."""
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    sims, ids = index.search(vectors, min(k + 1, len(vectors)))
    own = ids == np.arange(len(vectors))[:, None]
    order = np.argsort(own, axis=1, kind="stable")
    ids = np.take_along_axis(ids, order, axis=1)[:, :k]
    sims = np.take_along_axis(sims, order, axis=1)[:, :k]
    return ids.astype(np.int64), sims.astype(np.float32)


def synthetic(
    stories: int, reports: int, members: int, dim: int = 64, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stories made of reports made of translations (one language each)."""
    rng = np.random.default_rng(seed)
    vecs, story_lab, report_lab, lang = [], [], [], []
    for s in range(stories):
        centre = unit(rng.normal(size=dim))
        for r in range(reports):
            report = unit(centre + 0.8 * unit(rng.normal(size=dim)))
            for m in range(members):
                vecs.append(unit(report + 0.15 * unit(rng.normal(size=dim))))
                story_lab.append(s)
                report_lab.append(s * reports + r)
                lang.append(m % 5)
    return np.array(vecs), np.array(story_lab), np.array(report_lab), np.array(lang)


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_recovers_reports_and_stories_from_all_pairs() -> None:
    vecs, true_story, true_report, lang = synthetic(stories=6, reports=3, members=4)
    nbr, sims = knn_table(vecs, 16)
    got = recluster(vecs, nbr, sims, lang, np.zeros(len(vecs)), PARAMS)
    assert same_partition(got.reports, true_report)
    assert same_partition(got.stories, true_story)
    # reports nest inside stories
    for r in np.unique(got.reports):
        assert len(np.unique(got.stories[got.reports == r])) == 1


def test_result_does_not_depend_on_arrival_order() -> None:
    vecs, _, _, lang = synthetic(stories=5, reports=3, members=3, seed=3)
    perm = np.random.default_rng(1).permutation(len(vecs))
    times = np.zeros(len(vecs))
    a = recluster(vecs, *knn_table(vecs, 12), lang, times, PARAMS)
    pv = vecs[perm]
    b = recluster(pv, *knn_table(pv, 12), lang[perm], times, PARAMS)
    assert same_partition(a.stories[perm], b.stories)
    assert same_partition(a.reports[perm], b.reports)


def test_time_window_keeps_distant_events_apart() -> None:
    vecs, true_story, _, lang = synthetic(stories=1, reports=2, members=4, seed=5)
    times = np.where(np.arange(len(vecs)) < 4, 0.0, 10 * DAY)  # second report 10 days later
    got = recluster(vecs, *knn_table(vecs, 8), lang, times, PARAMS)
    assert len(np.unique(got.stories)) == 2
    assert len(np.unique(got.stories[:4])) == 1


def test_average_linkage_does_not_chain() -> None:
    # items on a line: each close to the next, the ends far apart
    n = 12
    a = np.arange(n - 1)
    b = a + 1
    score = np.full(n - 1, 0.9)
    labels, _ = average_linkage(
        np.arange(n), a, b, score, np.zeros(n), threshold=0.65, window=DAY, missing=0.0
    )
    sizes = np.bincount(labels)
    assert sizes.max() <= 2  # a pair averages 0.9; a triple already averages 0.6
    # single linkage would have made one cluster of 12


def test_near_copies_join_even_in_a_crowd() -> None:
    rng = np.random.default_rng(2)
    base = unit(rng.normal(size=32))
    copies = unit(base + 0.05 * unit(rng.normal(size=(6, 32))))  # cos ~0.99, one language
    nbr, sims = knn_table(copies, 5)
    # margin scoring alone would push a crowd of look-alikes below the report threshold
    strict = Params(**{**PARAMS.__dict__, "margin_weight": 2.0})
    got = recluster(copies, nbr, sims, np.zeros(6, dtype=int), np.zeros(6), strict)
    assert len(np.unique(got.reports)) == 1


def test_mutual_nearest_neighbours_across_languages_earn_the_bonus() -> None:
    # 0 (en) and 1 (ru) are each other's nearest; 2 (en) points at 0, which prefers 1;
    # 3 (ru) and 4 (ru) are mutual but share a language.
    neighbours = np.array([[1, 2], [0, 2], [0, 1], [4, 0], [3, 0]])
    valid = np.ones_like(neighbours, dtype=bool)
    valid[2, 0] = False  # a missing entry is skipped: 2's nearest becomes 1
    assert nearest_of(neighbours, valid).tolist() == [1, 0, 1, 4, 3]
    lang = np.array([0, 1, 0, 1, 1])
    a, b = np.array([0, 0, 1, 3]), np.array([1, 2, 2, 4])
    cos = np.array([0.8, 0.7, 0.6, 0.9], np.float32)
    bg = np.full(5, PARAMS.background, np.float32)
    bonus = dataclasses.replace(PARAMS, mutual_bonus=0.1)
    plain = pair_scores(a, b, cos, bg, lang, PARAMS, nearest_of(neighbours, valid))
    got = pair_scores(a, b, cos, bg, lang, bonus, nearest_of(neighbours, valid))
    assert np.allclose(got - plain, [0.1, 0.0, 0.0, 0.0])


def test_edges_are_unordered_and_deduplicated() -> None:
    nbr = np.array([[1, 2], [0, -1], [0, 1]])
    sims = np.array([[0.9, 0.5], [0.8, 0.0], [0.5, 0.4]], dtype=np.float32)
    a, b, cos = knn_edges(nbr, sims)
    got = {(int(x), int(y)): round(float(c), 2) for x, y, c in zip(a, b, cos, strict=True)}
    assert got == {(0, 1): 0.9, (0, 2): 0.5, (1, 2): 0.4}


def test_titles_prefer_headlines_near_the_centre() -> None:
    vecs = unit(np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0.9, 0.1]], dtype=np.float32))
    labels = np.array([0, 0, 1, 1])
    has_title = np.array([False, True, False, False])
    best, _, sims = choose_titles(labels, vecs, has_title)
    assert best[0] == 1  # the only headline wins in cluster 0
    assert sims.shape == (4,) and np.all(sims > 0.9)


def test_many_items_scale_without_python_pair_loops() -> None:
    vecs, true_story, true_report, lang = synthetic(
        stories=400, reports=4, members=3, dim=256, seed=7
    )
    got = recluster(vecs, *knn_table(vecs, 16), lang, np.zeros(len(vecs)), PARAMS)
    assert same_partition(got.stories, true_story)
    assert same_partition(got.reports, true_report)


def test_empty_and_single_item() -> None:
    none = recluster(
        np.zeros((0, 4), dtype=np.float32),
        np.zeros((0, 0), dtype=np.int64),
        np.zeros((0, 0), dtype=np.float32),
        np.zeros(0, dtype=int),
        np.zeros(0),
        PARAMS,
    )
    assert len(none.stories) == 0
    one = recluster(
        unit(np.ones((1, 4))),
        np.zeros((1, 0), dtype=np.int64),
        np.zeros((1, 0), dtype=np.float32),
        np.zeros(1, dtype=int),
        np.zeros(1),
        PARAMS,
    )
    assert one.stories.tolist() == [0] and one.reports.tolist() == [0]


def test_fewer_purer_stories_than_a_damaged_online_result() -> None:
    """Labelled synthetic collection; 'online' put 10% of snippets in a wrong story
    and split some stories in two (what arrival order does); batch repairs it."""
    from evaluation.metrics import bcubed

    vecs, true_story, _, lang = synthetic(stories=60, reports=3, members=3, dim=256, seed=11)
    rng = np.random.default_rng(0)
    online = true_story.copy()
    split = rng.random(60) < 0.2
    online = np.where(split[online] & (rng.random(len(online)) < 0.5), online + 60, online)
    wrong = rng.random(len(online)) < 0.1
    online = np.where(wrong, rng.integers(0, 60, len(online)), online)
    got = recluster(vecs, *knn_table(vecs, 16), lang, np.zeros(len(vecs)), PARAMS)
    before = bcubed(online.tolist(), true_story.tolist())
    after = bcubed(got.stories.tolist(), true_story.tolist())
    assert len(np.unique(got.stories)) < len(np.unique(online))
    assert after.precision > before.precision and after.f1 > before.f1
