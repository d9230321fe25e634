"""The nightly re-cluster as a repair: it starts from what online assignment decided and
only joins what the whole picture shows belongs together.

Re-clustering from scratch undid correct online decisions (a translation that online
assignment had put with its original, split apart again: cross-lingual report recall
fell from 0.82 to 0.57 on the NTREX passages). Batch knows more than online did (both
sides of every pair, every neighbourhood), so it can see that two pieces are one. The
one online decision it undoes is a report split across two stories: a report-level
match is the strongest evidence there is, so the report goes whole to one story.

* reports: online reports merged by average linkage over the same pair scores as
  online (`recluster.average_linkage` started from them);
* stories: online stories, where a merged report spans two, with the report moved whole
  to the one holding most of it (not the two stories joined: one misplaced snippet
  would chain two events), then merged by the event link (`stories.event`) of the
  stories as wholes: the mean over both stories' members of each member's logit towards
  the other story (a member none of whose neighbours is in the other story is judged
  on the other story's centre alone).
  Two stories merge when that mean clears `repair_margin`: one bridging member cannot
  chain two events, and online's own bar (a logit of 0) would only redo online's work.

Without a fitted event link the story level falls back to centroid linkage from the
online stories. Arrays in, labels out; no I/O.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from stories.event import EventModel, features, gap_days, names_share, story_frequency
from stories.event_candidates import StoryView
from stories.features import Features
from stories.params import Params
from stories.recluster import (
    Clusters,
    EdgeFn,
    centroid_linkage,
    compact,
    scored_edges,
)
from stories.vectors import group_sums


def repair(
    vectors: np.ndarray,
    neighbours: np.ndarray,
    sims: np.ndarray,
    lang: np.ndarray,
    published_at: np.ndarray,
    online_reports: np.ndarray,
    online_stories: np.ndarray,
    feats: list[Features],
    params: Params,
    bonus: EdgeFn | None = None,
) -> Clusters:
    """Reports then stories for n items, starting from their online labels (any ints)."""
    n = len(vectors)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Clusters(empty, empty, (0, 0))
    first = compact(online_reports)
    e = scored_edges(
        neighbours, sims, lang, params, bonus, first if params.variant_relief else None
    )
    a, b, cos = e.a, e.b, e.cos
    reports, report_rounds = e.reports(first, published_at, params)
    start = _placed(compact(online_stories), reports)
    linker = params.linker
    if linker is None:
        near = cos >= params.story - params.story_slack
        stories, story_rounds = centroid_linkage(
            start, vectors, a[near], b[near], published_at, params.story, params.window_seconds
        )
    else:
        stories, story_rounds = event_linkage(
            start, vectors, neighbours, sims, feats, published_at, linker, params
        )
    return Clusters(reports, stories, (report_rounds, story_rounds))


def _placed(stories: np.ndarray, reports: np.ndarray) -> np.ndarray:
    """Story labels with every report inside one story: the online story that holds most
    of the report's members (ties: the story of its earliest member, the one the later
    copies should have found). Joining the stories a merged report spans instead let one
    misplaced snippet chain two events, and chains of them whole windows (synthetic
    bench, 10% misplaced: story precision 0.03 after the re-index)."""
    keys = reports * (int(stories.max()) + 1) + stories
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    r, s = reports[first], stories[first]
    order = np.lexsort((first, -counts, r))  # per report: most members, then earliest
    lead = order[np.r_[True, r[order][1:] != r[order][:-1]]]
    home = np.zeros(int(reports.max()) + 1, dtype=np.int64)
    home[r[lead]] = s[lead]
    return compact(home[reports])


def event_linkage(
    labels: np.ndarray,
    vectors: np.ndarray,
    neighbours: np.ndarray,
    sims: np.ndarray,
    feats: list[Features],
    published_at: np.ndarray,
    model: EventModel,
    params: Params,
    max_rounds: int = 100,
) -> tuple[np.ndarray, int]:
    """Merge stories while the mean member logit between two reaches `repair_margin`
    (mutual best pairs per round, as `recluster.average_linkage`)."""
    labels = labels.copy()
    window = params.window_seconds
    m = int(labels.max()) + 1 if len(labels) else 0
    members: dict[int, list[int]] = defaultdict(list)
    for i, s in enumerate(labels.tolist()):
        members[s].append(i)
    # batch sees every member: a story's names and figures are all of theirs, and a
    # name's rarity is over every story of the window (kept across rounds: a merge
    # unites its two stories' members, names and figures)
    names = {s: frozenset().union(*(feats[i].names for i in ms)) for s, ms in members.items()}
    figures = {s: frozenset().union(*(feats[i].numbers for i in ms)) for s, ms in members.items()}
    rounds = 0
    while rounds < max_rounds:
        rounds += 1
        sums = group_sums(labels, vectors, m)
        norms = np.maximum(np.linalg.norm(sums, axis=1), 1e-12)
        size = np.bincount(labels, minlength=m)
        first = np.full(m, np.inf)
        last = np.full(m, -np.inf)
        np.minimum.at(first, labels, published_at)
        np.maximum.at(last, labels, published_at)
        counts, total_stories = story_frequency(names.values())
        # each member's logit towards each other story among its neighbours
        towards: dict[tuple[int, int], float] = {}  # (story a, story b) -> sum over a's members
        covered: dict[tuple[int, int], set[int]] = defaultdict(set)
        for i in _reaching_out(labels, neighbours).tolist():
            own = int(labels[i])
            views: dict[int, StoryView] = {}
            for j, sim in zip(neighbours[i].tolist(), sims[i].tolist(), strict=True):
                if j < 0 or j == i:
                    continue
                s = int(labels[j])
                view = views.get(s)
                if view is None:
                    centre = float(vectors[i] @ sums[s]) / float(norms[s])
                    view = views[s] = StoryView(s, centre, float(first[s]), float(last[s]))
                view.add(float(sim), feats[j])
            for s, view in views.items():
                if s == own:
                    continue
                row = features(
                    view.cosine,
                    view.nearest,
                    names_share(feats[i].names, names[s], counts, total_stories),
                    bool(feats[i].names and names[s]),
                    bool(feats[i].numbers & figures[s]),
                    gap_days(float(published_at[i]), float(first[s]), float(last[s])),
                )
                towards[(own, s)] = towards.get((own, s), 0.0) + model.logit(row)
                covered[(own, s)].add(i)
        best_link: dict[tuple[int, int], float] = {}
        for x, y in {(min(p, q), max(p, q)) for p, q in towards}:
            if not (first[y] - window <= last[x] and first[x] - window <= last[y]):
                continue
            total = 0.0
            for p, q in ((x, y), (y, x)):
                total += towards.get((p, q), 0.0)
                rest = [i for i in members[p] if i not in covered.get((p, q), ())]
                if rest:
                    centre = vectors[rest] @ sums[q] / norms[q]
                    total += _centre_only(
                        centre,
                        [feats[i] for i in rest],
                        names[q],
                        figures[q],
                        (counts, total_stories),
                        first[q],
                        last[q],
                        model,
                    )
            link = total / float(size[x] + size[y])
            if link >= model.repair_margin:
                best_link[(x, y)] = link
        if not best_link:
            break
        into = _mutual_best(best_link)
        if not into:
            break
        parent = np.arange(m)
        for q, p in into.items():
            parent[q] = p
            members[p] = sorted(members[p] + members.pop(q))
            names[p] = names[p] | names.pop(q)
            figures[p] = figures[p] | figures.pop(q)
        labels = parent[labels]
    return compact(labels), rounds


def _reaching_out(labels: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Items with a neighbour in another story: only they link their story to another
    (the others' views are all of their own story), so the loop skips the rest."""
    valid = (neighbours >= 0) & (neighbours != np.arange(len(labels))[:, None])
    theirs = labels[np.where(valid, neighbours, 0)]
    return np.flatnonzero((valid & (theirs != labels[:, None])).any(axis=1))


def _centre_only(
    centre: np.ndarray,
    rest: list[Features],
    names: frozenset[str],
    figures: frozenset[str],
    frequency: tuple[dict[str, int], int],
    first: float,
    last: float,
    model: EventModel,
) -> float:
    """Summed logits of members none of whose neighbours is in the other story: its centre
    (taken as the nearest too), names and figures are all there is to go on."""
    counts, total = frequency
    rows = np.array(
        [
            features(
                float(c),
                float(c),
                names_share(f.names, names, counts, total),
                bool(f.names and names),
                bool(f.numbers & figures),
                gap_days(f.published_at, first, last),
            )
            for c, f in zip(centre.tolist(), rest, strict=True)
        ]
    ).reshape(-1, 6)
    return float(model.logits(rows).sum())


def _mutual_best(links: dict[tuple[int, int], float]) -> dict[int, int]:
    """Pairs of stories each other's best link: the later label -> the earlier."""
    best: dict[int, tuple[float, int]] = {}
    for (x, y), link in links.items():
        for p, q in ((x, y), (y, x)):
            if p not in best or (link, -q) > (best[p][0], -best[p][1]):
                best[p] = (link, q)
    return {q: p for p, (_, q) in best.items() if p < q and best.get(q, (0.0, -1))[1] == p}
