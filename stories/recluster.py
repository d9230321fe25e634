"""Batch re-clustering: every pair of a k-NN graph at once, not arrival order.

Online assignment (stories/assign.py) decides each snippet once; here the same
questions are asked of the whole window with the same scoring, so online and
batch agree on what a pair is:

* near copy: cosine >= near_duplicate in one language joins unconditionally
  (connected components, as online a copy joins its original's report);
* report: margin-scored pair evidence (`scoring.pair_score`: cosine minus the
  pair's crowdedness, minus the same-language penalty, plus shared names and
  figures), grouped by average linkage, like online `scoring.report_score`;
* story: report groups joined when one group's members, on average, score
  against the other's centroid at or above the story threshold (for a single
  snippet this is exactly the online centroid test), within the time window.

Average linkage runs as reciprocal-nearest-neighbour rounds (each cluster picks
its best neighbour; mutual pairs merge; repeat). Average linkage is reducible,
so RNN merging gives the same tree as the sequential greedy order, and each
round is a handful of vectorised numpy passes over the surviving edges.
Arrays in, labels out; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from stories.params import Params
from stories.scoring import backgrounds, nearest_of, pair_scores, variant_reliefs
from stories.vectors import group_sums

# `bonus(a, b) -> scores` (names, figures) and `near_copy(a, b) -> mask` for the
# edges given as item positions; the caller builds them from text features.
EdgeFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Clusters:
    reports: np.ndarray  # (n,) report label per item, 0..n_reports-1
    stories: np.ndarray  # (n,) story label per item, 0..n_stories-1
    rounds: tuple[int, int]  # RNN rounds used at report and story level


def knn_edges(neighbours: np.ndarray, sims: np.ndarray) -> tuple[np.ndarray, ...]:
    """Unordered edges (a < b, cosine) from a k-NN table of item positions (-1: none)."""
    n, k = neighbours.shape
    rows = np.repeat(np.arange(n, dtype=np.int64), k)
    cols = neighbours.reshape(-1).astype(np.int64)
    cos = sims.reshape(-1).astype(np.float32)
    keep = (cols >= 0) & (cols != rows)
    rows, cols, cos = rows[keep], cols[keep], cos[keep]
    a, b = np.minimum(rows, cols), np.maximum(rows, cols)
    key = a * n + b
    order = np.argsort(key, kind="stable")
    key, cos = key[order], cos[order]
    if not len(key):
        return key, key.copy(), cos
    first = np.r_[True, key[1:] != key[:-1]]
    # both directions can be present (approximate search may differ): keep the larger
    best = np.maximum.reduceat(cos, np.flatnonzero(first))
    key = key[first]
    return key // n, key % n, best


def _mutual_best(
    ca: np.ndarray, cb: np.ndarray, link: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of clusters that are each other's best candidate (ties: lower id)."""
    src = np.concatenate([ca, cb])
    dst = np.concatenate([cb, ca])
    both = np.concatenate([link, link])
    order = np.lexsort((dst, -both, src))
    src, dst = src[order], dst[order]
    first = np.r_[True, src[1:] != src[:-1]]
    best = np.full(n, -1, dtype=np.int64)
    best[src[first]] = dst[first]
    mutual = (best[ca] == cb) & (best[cb] == ca)
    return ca[mutual], cb[mutual]


def _in_window(
    lo: np.ndarray, hi: np.ndarray, first: np.ndarray, last: np.ndarray, window: float
) -> np.ndarray:
    return (first[hi] - window <= last[lo]) & (first[lo] - window <= last[hi])


def average_linkage(
    labels: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    score: np.ndarray,
    times: np.ndarray,
    threshold: float,
    window: float,
    missing: float,
    max_rounds: int = 1000,
) -> tuple[np.ndarray, int]:
    """Merge clusters while the mean pair score between two is >= threshold.

    `labels` gives the starting clusters (0..m-1); pairs without an edge count
    as `missing` (they were not among each other's nearest neighbours).
    Returns the final label per item (0..r-1) and the rounds used. Edges are
    folded into one (sum, count) per cluster pair as clusters merge, so later
    rounds touch far fewer rows than the first.
    """
    n = int(labels.max()) + 1 if len(labels) else 0
    size = np.bincount(labels, minlength=n).astype(np.float64)
    first, last = _spans(labels, times, n)
    parent = np.arange(n, dtype=np.int64)
    ea, eb = labels[a], labels[b]
    total: np.ndarray = score.astype(np.float64)
    count: np.ndarray = np.ones(len(a))
    rounds = 0
    while rounds < max_rounds and len(ea):
        rounds += 1
        ea, eb = parent[ea], parent[eb]
        keep = ea != eb
        lo, hi = np.minimum(ea[keep], eb[keep]), np.maximum(ea[keep], eb[keep])
        if not len(lo):
            break
        uniq, inv = np.unique(lo * n + hi, return_inverse=True)
        total = np.bincount(inv, weights=total[keep]).astype(np.float64)
        count = np.bincount(inv, weights=count[keep]).astype(np.float64)
        ea, eb = uniq // n, uniq % n
        pairs = size[ea] * size[eb]
        link = (total + (pairs - count) * missing) / pairs
        ok = (link >= threshold) & _in_window(ea, eb, first, last, window)
        if not ok.any():
            break
        x, y = _mutual_best(ea[ok], eb[ok], link[ok], n)
        parent[y] = x  # x < y: the pair is stored low-high
        size[x] += size[y]
        first[x] = np.minimum(first[x], first[y])
        last[x] = np.maximum(last[x], last[y])
        parent = parent[parent]  # y pointed at itself before: one hop resolves it
    return compact(parent[labels]), rounds


def _spans(labels: np.ndarray, times: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    first = np.full(n, np.inf)
    last = np.full(n, -np.inf)
    np.minimum.at(first, labels, times)
    np.maximum.at(last, labels, times)
    return first, last


def centroid_linkage(
    labels: np.ndarray,
    vectors: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    times: np.ndarray,
    threshold: float,
    window: float,
    max_rounds: int = 1000,
    chunk: int = 200_000,
) -> tuple[np.ndarray, int]:
    """Merge groups while one's members score >= threshold against the other's centroid.

    link(A, B) = (S_A . S_B) / min(n_B |S_A|, n_A |S_B|): the mean cosine of the
    members of one group to the other's unit centroid, taking the direction
    that favours joining. For a single snippet it is the online story test.
    Candidate pairs are the groups joined by the given item edges; a pair's
    link is recomputed only when one of its groups changed.
    """
    n = int(labels.max()) + 1 if len(labels) else 0
    sums = group_sums(labels, vectors, n)
    norms = np.linalg.norm(sums, axis=1).astype(np.float64)
    size = np.bincount(labels, minlength=n).astype(np.float64)
    first, last = _spans(labels, times, n)
    parent = np.arange(n, dtype=np.int64)
    changed = np.ones(n, dtype=bool)
    ea, eb = labels[a], labels[b]
    link = np.full(len(ea), np.nan)
    rounds = 0
    while rounds < max_rounds and len(ea):
        rounds += 1
        ea, eb = parent[ea], parent[eb]
        keep = ea != eb
        lo, hi, link = np.minimum(ea[keep], eb[keep]), np.maximum(ea[keep], eb[keep]), link[keep]
        uniq, idx = np.unique(lo * n + hi, return_index=True)
        ea, eb, link = uniq // n, uniq % n, link[idx]
        ok = _in_window(ea, eb, first, last, window)
        ea, eb, link = ea[ok], eb[ok], link[ok]  # pairs outside the window never come back
        if not len(ea):
            break
        stale = np.flatnonzero(changed[ea] | changed[eb] | np.isnan(link))
        for s in range(0, len(stale), chunk):
            k = stale[s : s + chunk]
            i, j = ea[k], eb[k]
            dot = np.einsum("ij,ij->i", sums[i], sums[j]).astype(np.float64)
            den = np.minimum(size[j] * norms[i], size[i] * norms[j])
            link[k] = dot / np.maximum(den, 1e-12)
        ok = link >= threshold
        if not ok.any():
            break
        x, y = _mutual_best(ea[ok], eb[ok], link[ok], n)
        changed[:] = False
        changed[x] = True
        parent[y] = x
        sums[x] += sums[y]
        norms[x] = np.linalg.norm(sums[x], axis=1)
        size[x] += size[y]
        first[x] = np.minimum(first[x], first[y])
        last[x] = np.maximum(last[x], last[y])
        parent = parent[parent]
    return compact(parent[labels]), rounds


def compact(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..r-1 in order of first appearance."""
    _, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inv.reshape(-1)]


def near_copy_groups(
    n: int,
    a: np.ndarray,
    b: np.ndarray,
    cos: np.ndarray,
    lang: np.ndarray,
    params: Params,
    near_copy: EdgeFn | None = None,
) -> np.ndarray:
    """Connected components of near-copy edges: the starting report clusters."""
    mask = (cos >= params.near_duplicate) & (lang[a] == lang[b])
    if near_copy is not None and mask.any():
        idx = np.flatnonzero(mask)
        mask[idx] = near_copy(a[idx], b[idx])
    graph = coo_matrix((np.ones(int(mask.sum()), dtype=np.int8), (a[mask], b[mask])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return compact(labels.astype(np.int64))


@dataclass(frozen=True)
class Edges:
    """The k-NN graph's unordered edges with their report-level pair scores."""

    a: np.ndarray
    b: np.ndarray
    cos: np.ndarray
    score: np.ndarray  # `scoring.pair_scores`, plus names and figures near the threshold
    floor: float  # report - missing_gap: what an edge below it, or a missing one, counts as

    def reports(
        self, start: np.ndarray, published_at: np.ndarray, params: Params
    ) -> tuple[np.ndarray, int]:
        """Report clusters grown from `start` by average linkage over these edges."""
        keep = self.score >= self.floor
        return average_linkage(
            start,
            self.a[keep],
            self.b[keep],
            self.score[keep],
            published_at,
            params.report,
            params.window_seconds,
            self.floor,
        )


def scored_edges(
    neighbours: np.ndarray,
    sims: np.ndarray,
    lang: np.ndarray,
    params: Params,
    bonus: EdgeFn | None = None,
    reports: np.ndarray | None = None,
) -> Edges:
    """Edges of a k-NN table (positions, best first) scored as online scores a pair;
    with `reports` (the items' report labels so far) a report's variants in third
    languages leave the crowds as online (`scoring.variant_relief`)."""
    n = len(neighbours)
    valid = (neighbours >= 0) & (neighbours != np.arange(n)[:, None])
    bg = backgrounds(np.where(valid, sims, -1.0).astype(np.float32), valid, params)
    a, b, cos = knn_edges(neighbours, sims)
    relief = None
    if reports is not None:
        relief = variant_reliefs(a, b, neighbours, sims, valid, reports, lang, params)
    score = pair_scores(a, b, cos, bg, lang, params, nearest_of(neighbours, valid), relief)
    floor = params.report - params.missing_gap
    if bonus is not None:
        reach = params.name_weight + params.number_weight
        idx = np.flatnonzero((score >= floor - reach) & (score < params.report + 1.0))
        if len(idx):
            score[idx] += bonus(a[idx], b[idx]).astype(np.float32)
    return Edges(a, b, cos, score, floor)


def recluster(
    vectors: np.ndarray,
    neighbours: np.ndarray,
    sims: np.ndarray,
    lang: np.ndarray,
    published_at: np.ndarray,
    params: Params,
    bonus: EdgeFn | None = None,
    near_copy: EdgeFn | None = None,
) -> Clusters:
    """Reports then stories for n items from their k-NN table (positions, best first).

    `lang` holds a small integer per language. Report edges scoring below
    `report - missing_gap` are dropped and, like pairs that were never
    neighbours, count as that floor in averages. Story candidates are edges
    with cosine >= `story - story_slack`.
    """
    n = len(vectors)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Clusters(empty, empty, (0, 0))
    e = scored_edges(neighbours, sims, lang, params, bonus)
    a, b, cos = e.a, e.b, e.cos
    start = near_copy_groups(n, a, b, cos, lang, params, near_copy)
    reports, report_rounds = e.reports(start, published_at, params)
    near = cos >= params.story - params.story_slack
    stories_of_reports, story_rounds = centroid_linkage(
        reports, vectors, a[near], b[near], published_at, params.story, params.window_seconds
    )
    return Clusters(reports, stories_of_reports, (report_rounds, story_rounds))
