"""Story aggregates recomputed from their remaining members.

The writer keeps aggregates incrementally as snippets arrive; a deletion cannot be
undone incrementally with the same guarantees (the title, first and last seen,
languages), so they are recomputed from what is left. Pure: arrays in, numbers out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stories.titles import best_member


@dataclass(frozen=True)
class Members:
    """What remains of one story after a removal, one entry per snippet."""

    ids: np.ndarray  # int64 (n,)
    vectors: np.ndarray  # float32 (n, d), L2-normalised
    published_at: np.ndarray  # float64 (n,)
    langs: list[str]
    report_ids: np.ndarray  # int64 (n,)
    has_title: np.ndarray  # bool (n,)


@dataclass(frozen=True)
class StoryAggregate:
    snippet_count: int
    report_count: int
    centroid_sum: np.ndarray
    first_seen: float
    last_seen: float
    languages: dict[str, int]
    title_snippet_id: int
    title_sim: float


def story_aggregate(members: Members, title_snippet_id: int | None) -> StoryAggregate | None:
    """None when nothing is left. The reigning title stays when it remains a member;
    otherwise the member nearest the new centre (headlines first) takes over."""
    if len(members.ids) == 0:
        return None
    centroid_sum = members.vectors.sum(axis=0, dtype=np.float64).astype(np.float32)
    title, score = best_member(
        members.ids, members.vectors, members.has_title, centroid_sum, title_snippet_id
    )
    languages: dict[str, int] = {}
    for lang in members.langs:
        languages[lang] = languages.get(lang, 0) + 1
    return StoryAggregate(
        snippet_count=len(members.ids),
        report_count=len(set(members.report_ids.tolist())),
        centroid_sum=centroid_sum,
        first_seen=float(members.published_at.min()),
        last_seen=float(members.published_at.max()),
        languages=languages,
        title_snippet_id=title,
        title_sim=score,
    )
