"""Story and report aggregates recomputed from their remaining members.

The writer keeps aggregates incrementally as snippets arrive; a deletion
cannot be undone incrementally with the same guarantees (the title, first and
last seen, languages), so they are recomputed from what is left. Pure: arrays
in, numbers out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HEADLINE_BONUS = 2.0  # same rule as app.pipeline.title_score: real headlines first


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


def title_score(has_title: bool, sim: float) -> float:
    return sim + (HEADLINE_BONUS if has_title else 0.0)


def story_aggregate(members: Members, title_snippet_id: int | None) -> StoryAggregate | None:
    """None when nothing is left. The reigning title stays when it remains a member;
    otherwise the member nearest the new centre (headlines first) takes over."""
    n = len(members.ids)
    if n == 0:
        return None
    centroid_sum = members.vectors.sum(axis=0, dtype=np.float64).astype(np.float32)
    centre = centroid_sum / max(float(np.linalg.norm(centroid_sum)), 1e-12)
    sims = members.vectors @ centre
    scores = sims + np.where(members.has_title, HEADLINE_BONUS, 0.0)
    ids = members.ids.tolist()
    if title_snippet_id is not None and title_snippet_id in ids:
        pick = ids.index(title_snippet_id)
    else:
        best = np.flatnonzero(scores == scores.max())
        pick = int(best[np.argmin(members.ids[best])])  # ties: the oldest id
    languages: dict[str, int] = {}
    for lang in members.langs:
        languages[lang] = languages.get(lang, 0) + 1
    return StoryAggregate(
        snippet_count=n,
        report_count=len(set(members.report_ids.tolist())),
        centroid_sum=centroid_sum,
        first_seen=float(members.published_at.min()),
        last_seen=float(members.published_at.max()),
        languages=languages,
        title_snippet_id=int(ids[pick]),
        title_sim=float(scores[pick]),
    )
