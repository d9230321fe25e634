"""Online assignment: where does one new snippet go, given its stored neighbours?

The three levels of ARCHITECTURE.md, decided in order: a near copy joins its
original's report; a snippet carrying the same report (a translation, a
rewrite) joins that report; one about the same event joins that story as a new
report; anything else opens a story. The caller gathers the candidates (k-NN
from the index, story centroids from storage); this module only decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from stories.entities import rarity_weights, weighted_overlap
from stories.text import jaccard

Level = Literal["duplicate", "report", "story", "new"]


@dataclass(frozen=True)
class Features:
    """What the decision needs to know about one snippet besides its vector."""

    lang: str
    published_at: float  # seconds since the epoch
    names: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Neighbour:
    """A stored snippet near the new one (from the vector index)."""

    snippet_id: int
    report_id: int
    story_id: int
    cosine: float
    features: Features


@dataclass(frozen=True)
class StoryCandidate:
    story_id: int
    cosine: float  # cosine between the new vector and the story's centroid
    first_seen: float
    last_seen: float


@dataclass(frozen=True)
class Params:
    near_duplicate: float
    report: float
    story: float
    window_seconds: float
    name_weight: float = 0.25  # how much a full match of rare names adds to the cosine
    number_weight: float = 0.05  # a shared figure nudges, a missing one does not punish
    near_copy_words: float = 0.6  # word overlap a near copy must also have


@dataclass(frozen=True)
class Decision:
    level: Level
    report_id: int | None = None
    story_id: int | None = None
    score: float = 0.0
    matched_snippet: int | None = None
    scores: dict[str, float] = field(default_factory=dict)


def in_window(published_at: float, first_seen: float, last_seen: float, window: float) -> bool:
    return first_seen - window <= published_at <= last_seen + window


def pair_score(
    new: Features, other: Features, cosine: float, weights: dict[str, float], params: Params
) -> float:
    """Report-level evidence that two snippets carry the same report."""
    score = cosine + params.name_weight * weighted_overlap(new.names, other.names, weights)
    if new.numbers & other.numbers:
        score += params.number_weight
    return score


def decide(
    new: Features,
    neighbours: list[Neighbour],
    stories: list[StoryCandidate],
    params: Params,
) -> Decision:
    """Pick the level and target for `new`; `neighbours` best first, any order is accepted."""
    window = params.window_seconds
    near = [n for n in neighbours if abs(n.features.published_at - new.published_at) <= window]
    for n in sorted(near, key=lambda n: -n.cosine):
        if n.cosine < params.near_duplicate:
            break
        if n.features.lang == new.lang and jaccard(n.features.words, new.words) >= (
            params.near_copy_words
        ):
            return Decision("duplicate", n.report_id, n.story_id, n.cosine, n.snippet_id)

    weights = rarity_weights([new.names, *(n.features.names for n in near)])
    best: Decision | None = None
    for n in near:
        score = pair_score(new, n.features, n.cosine, weights, params)
        if score >= params.report and (best is None or score > best.score):
            best = Decision("report", n.report_id, n.story_id, score, n.snippet_id)
    if best is not None:
        return best

    live = [
        s
        for s in stories
        if in_window(new.published_at, s.first_seen, s.last_seen, window)
        and s.cosine >= params.story
    ]
    if live:
        top = max(live, key=lambda s: s.cosine)
        return Decision("story", None, top.story_id, top.cosine)
    return Decision("new")
