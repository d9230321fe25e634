"""Aggregates of many stories and reports at once, from their members' labels.

The re-index needs every story's centre, span, counts, languages and title over the
window it re-clustered. It computes them twice over: off the writer for the window as
it saw it, and on the writer only for the stories that late arrivals changed; both
through here, so the two agree. Pure: arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stories.titles import choose_titles
from stories.vectors import group_sums


@dataclass(frozen=True)
class GroupStats:
    """Per story (`stories`, sorted labels) and per report (`reports`, sorted labels)."""

    stories: np.ndarray  # the story labels present, sorted
    sums: np.ndarray  # (len(stories), d) centroid sums
    first: np.ndarray
    last: np.ndarray
    count: np.ndarray
    report_count: np.ndarray
    languages: list[dict[str, int]]
    title: np.ndarray  # item position of each story's title
    title_score: np.ndarray
    sims: np.ndarray  # each item's cosine to its story's unit centre
    reports: np.ndarray  # the report labels present, sorted
    report_first: np.ndarray
    report_count_items: np.ndarray
    report_story: np.ndarray  # the story label of each report (one per report)

    def story_index(self, labels: np.ndarray) -> np.ndarray:
        """Positions in `stories` of the given labels (each must be present)."""
        return np.searchsorted(self.stories, labels)

    def report_index(self, labels: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.reports, labels)


def group_stats(
    story: np.ndarray,
    report: np.ndarray,
    vectors: np.ndarray,
    published: np.ndarray,
    langs: list[str],
    has_title: np.ndarray,
) -> GroupStats:
    """`story` and `report` label each item (any ints; a report inside one story)."""
    rids, rinv = np.unique(report, return_inverse=True)
    rinv = rinv.reshape(-1)
    r_first = np.full(len(rids), np.inf)
    np.minimum.at(r_first, rinv, published)
    r_story = np.empty(len(rids), dtype=np.int64)
    r_story[rinv] = story
    sids, sinv = np.unique(story, return_inverse=True)
    sinv = sinv.reshape(-1)
    sums = group_sums(sinv, vectors, len(sids))
    title, title_score, sims = choose_titles(sinv, vectors, has_title, sums)
    first = np.full(len(sids), np.inf)
    last = np.full(len(sids), -np.inf)
    np.minimum.at(first, sinv, published)
    np.maximum.at(last, sinv, published)
    languages: list[dict[str, int]] = [{} for _ in sids]
    for k, lang in zip(sinv.tolist(), langs, strict=True):
        languages[k][lang] = languages[k].get(lang, 0) + 1
    return GroupStats(
        stories=sids,
        sums=sums,
        first=first,
        last=last,
        count=np.bincount(sinv, minlength=len(sids)),
        report_count=np.bincount(
            np.unique(np.stack([sinv, rinv], axis=1), axis=0)[:, 0], minlength=len(sids)
        ),
        languages=languages,
        title=title,
        title_score=title_score,
        sims=sims,
        reports=rids,
        report_first=r_first,
        report_count_items=np.bincount(rinv, minlength=len(rids)),
        report_story=r_story,
    )
