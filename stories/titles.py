"""The one title rule: a snippet with a real headline first, then closeness to the centre.

A story's title is its member nearest the story's centre among those that carry a
headline (a headline adds `HEADLINE_BONUS`, more than any cosine). Online the
reigning title is only challenged by each newcomer (two dot products); a deletion
and the nightly re-cluster choose among all members; a reader asking for another
language gets the best member in that language.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stories.vectors import group_sums

HEADLINE_BONUS = 2.0


def title_score(has_title: bool, sim: float) -> float:
    return sim + (HEADLINE_BONUS if has_title else 0.0)


def had_headline(score: float) -> bool:
    """Whether a stored title score was earned with a headline (cosines are at most 1)."""
    return score >= HEADLINE_BONUS - 0.5


def challenge(
    current: tuple[int, float] | None,
    current_vector: np.ndarray | None,
    newcomer: tuple[int, bool, float],
    centroid: np.ndarray,
) -> tuple[int, float]:
    """(title snippet, its score) after `newcomer` = (id, has headline, cosine to the new
    centre) joins. `current` = (id, stored score); its score is recomputed against the
    moved centre when its vector is known. Ties keep the reigning title."""
    snippet_id, has_title, sim = newcomer
    mine = title_score(has_title, sim)
    if current is None:
        return snippet_id, mine
    reigning, score = current
    if current_vector is not None:
        score = title_score(had_headline(score), float(current_vector @ centroid))
    return (snippet_id, mine) if mine > score else (reigning, score)


def best_member(
    ids: np.ndarray,
    vectors: np.ndarray,
    has_title: np.ndarray,
    centroid_sum: np.ndarray,
    keep: int | None = None,
) -> tuple[int, float]:
    """(id, score) of the title among all members (unit vectors summing to
    `centroid_sum`): `keep` stays when it is still a member; otherwise the best score
    wins, ties going to the oldest id."""
    centre = centroid_sum / max(float(np.linalg.norm(centroid_sum)), 1e-12)
    scores = vectors @ centre + np.where(has_title, HEADLINE_BONUS, 0.0)
    listed = ids.tolist()
    if keep is not None and keep in listed:
        pick = listed.index(keep)
    else:
        best = np.flatnonzero(scores == scores.max())
        pick = int(best[np.argmin(ids[best])])
    return int(listed[pick]), float(scores[pick])


def in_language(
    ids: Sequence[int],
    has_title: Sequence[bool],
    langs: Sequence[str],
    sims: dict[int, float],
    lang: str | None,
) -> int | None:
    """The title for a reader of `lang`: the best member in that language, or of all
    members when none is in it (`sims`: each member's cosine to the story's centre)."""
    pool = [i for i, code in enumerate(langs) if code == lang] or list(range(len(ids)))
    if not pool:
        return None
    best = max(pool, key=lambda i: (title_score(has_title[i], sims.get(ids[i], -1.0)), -ids[i]))
    return ids[best]


def choose_titles(
    labels: np.ndarray,
    vectors: np.ndarray,
    has_title: np.ndarray,
    sums: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`best_member` for every cluster at once (ties: the first item). `sums`: the
    clusters' vector sums when the caller has them already (`group_sums`).

    Returns (title item per cluster, its title score, each item's cosine to its
    cluster's unit centroid).
    """
    if sums is None:
        sums = group_sums(labels, vectors, int(labels.max()) + 1 if len(labels) else 0)
    unit = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    sim = np.einsum("ij,ij->i", vectors, unit[labels])
    score = sim + HEADLINE_BONUS * has_title
    order = np.lexsort((np.arange(len(labels)), -score, labels))
    first = np.r_[True, labels[order][1:] != labels[order][:-1]] if len(order) else order
    best = order[first]
    return best, score[best], sim
