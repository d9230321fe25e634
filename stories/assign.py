"""Online assignment: where does one new snippet go, given its stored neighbours?

The three levels of ARCHITECTURE.md, decided in order: a near copy joins its
original's report; a snippet carrying the same report (a translation, a
rewrite) joins that report; one about the same event joins that story as a new
report; anything else opens a story. The caller gathers the candidates (k-NN
from the index, story centroids from storage); this module only decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from stories.entities import rarity_weights, shared_name_evidence
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
class Member:
    """A report member as seen from the new snippet."""

    cosine: float
    background: float  # mean cosine to its own nearest neighbours (see `background`)
    features: Features
    nearest: float = float("inf")  # cosine to its own nearest neighbour before the new one
    snippet_id: int = -1
    # Its mean name-free score to the rest of its report (`fit`); inf: alone or not computed.
    fit: float = float("inf")


@dataclass(frozen=True)
class ReportCandidate:
    """A report with every (recent) member, compared with the new snippet."""

    report_id: int
    story_id: int
    members: tuple[Member, ...]


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
    margin_weight: float = 0.0  # how much of a pair's crowdedness is subtracted (0..1)
    background: float = 0.5  # the model's typical neighbour cosine: the margin's zero point
    background_k: int = 4  # neighbours that define a snippet's background
    same_language_penalty: float = 0.0  # same-language cosines run high: what to take off
    mutual_bonus: float = 0.0  # what being each other's nearest neighbour adds
    rehome: bool = False  # may a mutual pair pull a member out of its report (`rehome`)


@dataclass(frozen=True)
class Decision:
    level: Level
    report_id: int | None = None
    story_id: int | None = None
    score: float = 0.0
    matched_snippet: int | None = None
    scores: dict[str, float] = field(default_factory=dict)
    moved_snippet: int | None = None  # a stored member that leaves its report for the new one


def in_window(published_at: float, first_seen: float, last_seen: float, window: float) -> bool:
    return first_seen - window <= published_at <= last_seen + window


def background(neighbour_cosines: Sequence[float], params: Params) -> float:
    """Mean cosine to the k nearest neighbours, missing ones counted at the model's typical
    value, so a snippet that arrives into an empty index is not called unique."""
    top = sorted(neighbour_cosines, reverse=True)[: params.background_k]
    top += [params.background] * (params.background_k - len(top))
    return sum(top) / len(top)


MUTUAL_TOLERANCE = 1e-5  # the index's and a direct dot product's cosines differ in float32


def is_nearest(cosine: float, new_nearest: float) -> bool:
    """Whether a stored snippet at `cosine` is the new one's nearest neighbour."""
    return cosine >= new_nearest - MUTUAL_TOLERANCE


def mutual(other: Member, new_nearest: float) -> bool:
    """Whether the new snippet and `other` are each other's nearest neighbour: `other` is
    the closest stored snippet to the new one, and the new one is closer to `other` than
    anything `other` had before."""
    return is_nearest(other.cosine, new_nearest) and other.cosine >= (
        other.nearest - MUTUAL_TOLERANCE
    )


def pair_score(
    new: Features,
    new_background: float,
    other: Member,
    weights: dict[str, float],
    params: Params,
    new_nearest: float = float("inf"),
) -> float:
    """Report-level evidence that two snippets carry the same report.

    Margin scoring: a cosine counts for less between snippets that sit in a
    crowd of look-alikes (short generic sentences, a running story's many
    items) than between two in an ordinary neighbourhood. It only subtracts:
    two long news texts far from everything else are not the same report for
    being lonely (rewarding that put unrelated items into one report). Shared
    rare names and figures add to it. So does, across languages, being each
    other's nearest neighbour (the mutual-nearest-neighbour test of bitext
    mining: a translation is usually the one thing closest to its original in
    both directions, even where a crowd of look-alikes has pulled the margin
    down). Within one language the test does not hold: a near paraphrase ("You're
    a prude." / "He's a prude.") is as often the nearest, and the bonus joined
    those (docs/quality.md, experiment 9).
    """
    return pair_score_without_names(new, new_background, other, params, new_nearest) + (
        params.name_weight * shared_name_evidence(new.names, other.features.names, weights)
    )


def pair_score_without_names(
    new: Features,
    new_background: float,
    other: Member,
    params: Params,
    new_nearest: float = float("inf"),
) -> float:
    """`pair_score` less its name term, which alone needs the neighbourhood's name weights
    and costs more than the rest together."""
    crowd = max(0.0, (new_background + other.background) / 2 - params.background)
    score = other.cosine - params.margin_weight * crowd
    if new.numbers & other.features.numbers:
        score += params.number_weight
    if new.lang == other.features.lang:
        score -= params.same_language_penalty
    elif params.mutual_bonus and mutual(other, new_nearest):
        score += params.mutual_bonus
    return score


def report_score(
    new: Features,
    new_background: float,
    report: ReportCandidate,
    weights: dict[str, float],
    params: Params,
    new_nearest: float = float("inf"),
) -> float:
    """Average link over the report's members: a snippet must resemble the report as a
    whole, so a chain of look-alikes cannot grow one report without bound."""
    scores = [
        pair_score(new, new_background, m, weights, params, new_nearest) for m in report.members
    ]
    return sum(scores) / len(scores) if scores else float("-inf")


def can_reach_report(mean_cosine: float, params: Params, holds_nearest: bool = True) -> bool:
    """Whether a report whose members' mean cosine to the new snippet is `mean_cosine` can
    reach the report threshold at all. Names and figures add at most `name_weight` +
    `number_weight` to a pair's cosine, mutual nearness `mutual_bonus` only if the report
    `holds_nearest` (the new snippet's nearest neighbour is a member), and the margin and
    the language penalty only subtract; so most candidates, other events' reports, are
    dropped before their names are scored."""
    ceiling = max(params.name_weight, 0.0) + max(params.number_weight, 0.0)
    if holds_nearest:
        ceiling += max(params.mutual_bonus, 0.0)
    return mean_cosine + ceiling >= params.report


def holds_nearest(member_cosines: Sequence[float], new_nearest: float) -> bool:
    """Whether one of these members is the new snippet's nearest neighbour (`mutual`)."""
    return is_nearest(max(member_cosines, default=float("-inf")), new_nearest)


def decide(
    new: Features,
    new_background: float,
    neighbours: list[Neighbour],
    reports: list[ReportCandidate],
    stories: list[StoryCandidate],
    params: Params,
) -> Decision:
    """Pick the level and target for `new`.

    `neighbours` serve the near-copy check; `reports` and `stories` are the
    candidates the caller gathered from them (any order).
    """
    window = params.window_seconds
    near = [n for n in neighbours if abs(n.features.published_at - new.published_at) <= window]
    for n in sorted(near, key=lambda n: -n.cosine):
        if n.cosine < params.near_duplicate:
            break
        if n.features.lang == new.lang and jaccard(n.features.words, new.words) >= (
            params.near_copy_words
        ):
            return Decision("duplicate", n.report_id, n.story_id, n.cosine, n.snippet_id)

    weights: dict[str, float] | None = None
    best: Decision | None = None
    nearest = max((n.cosine for n in neighbours), default=float("inf"))
    for r in reports:
        if not r.members:
            continue
        if not any(abs(m.features.published_at - new.published_at) <= window for m in r.members):
            continue
        # Names add at most `name_weight` to each pair: a report that cannot pass, or cannot
        # beat the best so far (ties keep the earlier), even so is not name-scored.
        bases = [
            pair_score_without_names(new, new_background, m, params, nearest) for m in r.members
        ]
        ceiling = sum(bases) / len(bases) + max(params.name_weight, 0.0) + 1e-9  # rounding
        if ceiling < params.report or (best is not None and ceiling <= best.score):
            continue
        if weights is None:
            weights = rarity_weights([new.names, *(n.features.names for n in near)])
        score = report_score(new, new_background, r, weights, params, nearest)
        if score >= params.report and (best is None or score > best.score):
            best = Decision("report", r.report_id, r.story_id, score)
    if best is None and params.rehome:
        best = rehome(new, new_background, reports, nearest, near, params)
    if best is not None:
        return best

    live = [
        s
        for s in stories
        if s.cosine >= params.story
        and in_window(new.published_at, s.first_seen, s.last_seen, window)
    ]
    if live:
        top = max(live, key=lambda s: s.cosine)
        return Decision("story", None, top.story_id, top.cosine)
    return Decision("new")


def fit(
    member: Features, member_background: float, others: Sequence[Member], params: Params
) -> float:
    """How well a report member fits the rest of its report: its mean pair score to the
    others without names and the mutual bonus (what `rehome` weighs a newcomer against)."""
    if not others:
        return float("inf")
    return sum(pair_score_without_names(member, member_background, o, params) for o in others) / (
        len(others)
    )


def rehome(
    new: Features,
    new_background: float,
    reports: list[ReportCandidate],
    nearest: float,
    near: list[Neighbour],
    params: Params,
) -> Decision | None:
    """A report that joined a snippet before its translation arrived can still give it up.

    Online, a sentence whose translation has not come yet may join the closest thing
    there is. When the translation arrives, the two are each other's nearest
    neighbours, but the report as a whole (average link) keeps the newcomer out. If
    the pair passes the report threshold and the member resembles the newcomer more
    than it resembles the rest of its report, the member leaves with the newcomer for
    a new report in the same story.
    """
    window = params.window_seconds
    best: Decision | None = None
    weights: dict[str, float] | None = None  # `near`'s name rarity, only if a pair qualifies
    for r in reports:
        if len(r.members) < 2:
            continue
        for m in r.members:
            if (
                m.fit == float("inf")
                or m.features.lang == new.lang
                or abs(m.features.published_at - new.published_at) > window
                or not mutual(m, nearest)
            ):
                continue
            if weights is None:
                weights = rarity_weights([new.names, *(n.features.names for n in near)])
            score = pair_score(new, new_background, m, weights, params, nearest)
            plain = pair_score_without_names(new, new_background, m, params)
            if score >= params.report and plain > m.fit and (best is None or score > best.score):
                best = Decision("report", None, r.story_id, score, moved_snippet=m.snippet_id)
    return best


@dataclass(frozen=True)
class StoryMass:
    """A story as the sum of its unit vectors: enough for average-link comparisons."""

    story_id: int
    vector_sum: np.ndarray
    count: int
    first_seen: float
    last_seen: float


def absorption(a: StoryMass, b: StoryMass) -> float:
    """Mean cosine of the smaller story's members to the larger story's centroid.

    For a one-snippet story this is exactly the score that snippet would have
    had joining the other one, so a merge passes the same test as a join.
    """
    small, large = (a, b) if (a.count, -a.story_id) < (b.count, -b.story_id) else (b, a)
    norm = float(np.linalg.norm(large.vector_sum))
    if small.count == 0 or norm == 0.0:
        return float("-inf")
    return float(small.vector_sum @ large.vector_sum) / (norm * small.count)


def merges(joined: StoryMass, others: Sequence[StoryMass], params: Params) -> list[int]:
    """Stories that the one a snippet just joined should absorb, best first.

    Arrival order can open two stories for one event (its reactions come in
    before the event itself); a later snippet that bridges them shows it. They
    merge when the smaller story's members would, on average, have joined the
    larger one (`absorption` at or above the story threshold): the stories as
    wholes must match, so one bridging snippet cannot chain two events together.
    """
    window = params.window_seconds
    scored = [
        (absorption(joined, o), o.story_id)
        for o in others
        if o.story_id != joined.story_id
        and o.first_seen - window <= joined.last_seen
        and joined.first_seen <= o.last_seen + window
        and coherence(joined, o) >= params.story
    ]
    return [sid for score, sid in sorted(scored, reverse=True) if score >= params.story]


def coherence(*parts: StoryMass) -> float:
    """Mean cosine of a story's members to its own centroid: the length of the mean vector.

    A merged story must stay as tight as a join asks of one snippet, so stories
    that have already drifted (a centroid between several events attracts
    everything) do not swallow more.
    """
    total = sum(p.count for p in parts)
    if total == 0:
        return float("-inf")
    return float(np.linalg.norm(sum(p.vector_sum for p in parts))) / total


def survivor(a: StoryMass, b: StoryMass) -> tuple[int, int]:
    """(kept id, retired id): the larger story keeps its id, on a tie the older one."""
    if (a.count, -a.story_id) >= (b.count, -b.story_id):
        return a.story_id, b.story_id
    return b.story_id, a.story_id
