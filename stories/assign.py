"""Online assignment: where does one new snippet go, given what was gathered around it?

The levels of ARCHITECTURE.md, decided in order: an exact copy (same content hash)
and then a near copy join their original's report; a snippet carrying the same
report (a translation, a rewrite) joins that report; one about the same event joins
that story as a new report; anything else opens a story. The caller gathers the
candidates (k-NN from the index, report members, story centroids); this module only
decides.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from stories.candidates import Copy, Member, Neighbour, ReportCandidate, StoryCandidate, Variant
from stories.entities import rarity_weights
from stories.event_candidates import candidate_rows
from stories.features import Features
from stories.params import Params
from stories.scoring import (
    mutual,
    names_term,
    pair_score,
    pair_score_without_names,
    report_score,
    variant_relief,
)
from stories.text import jaccard

Level = Literal["duplicate", "report", "story", "new"]


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


def exact_copy(new: Features, copies: Sequence[Copy], params: Params) -> Decision | None:
    """The first level: the first copy (the caller lists the latest of its batch first,
    then stored ones, oldest first) published within the window."""
    for c in copies:
        if abs(c.published_at - new.published_at) <= params.window_seconds:
            return Decision("duplicate", c.report_id, c.story_id, 1.0, c.snippet_id)
    return None


def near_copy(new: Features, neighbours: Sequence[Neighbour], params: Params) -> Decision | None:
    """A near copy: in the same language, at or above the near-duplicate cosine, with most
    words in common (a translation is close in meaning but shares few words)."""
    window = params.window_seconds
    near = [n for n in neighbours if abs(n.features.published_at - new.published_at) <= window]
    for n in sorted(near, key=lambda n: -n.cosine):
        if n.cosine < params.near_duplicate:
            break
        if n.features.lang == new.lang and jaccard(n.features.words, new.words) >= (
            params.near_copy_words
        ):
            return Decision("duplicate", n.report_id, n.story_id, n.cosine, n.snippet_id)
    return None


def decide(
    new: Features,
    new_background: float,
    copies: Sequence[Copy],
    neighbours: list[Neighbour],
    reports: list[ReportCandidate],
    stories: list[StoryCandidate],
    params: Params,
    links: list[tuple[StoryCandidate, float]] | None = None,
) -> Decision:
    """Pick the level and target for `new`.

    `copies` serve the exact-copy check and `neighbours` the near-copy check; `reports`
    and `stories` are the candidates the caller gathered from them (any order). A caller
    may skip gathering those when `exact_copy` already settles it, and may pass the
    `story_links` of `stories` it computed (the merge step reads them too): they are used
    when every story is within the window, else the links of those that are.
    """
    found = exact_copy(new, copies, params) or near_copy(new, neighbours, params)
    if found is not None:
        return found
    window = params.window_seconds
    near = [n for n in neighbours if abs(n.features.published_at - new.published_at) <= window]
    weights: dict[str, float] | None = None
    best: Decision | None = None
    chosen: tuple[ReportCandidate, tuple[Variant, ...]] | None = None
    nearest = max((n.cosine for n in neighbours), default=float("inf"))
    crowd = heapq.nlargest(params.background_k, neighbours, key=lambda n: n.cosine)
    for r in reports:
        if not r.members:
            continue
        if not any(abs(m.features.published_at - new.published_at) <= window for m in r.members):
            continue
        mine = (
            tuple(
                (n.cosine, n.features.lang, n.snippet_id)
                for n in crowd
                if n.report_id == r.report_id
            )
            if params.variant_relief
            else ()
        )
        # Names add at most `name_weight` to each pair: a report that cannot pass, or cannot
        # beat the best so far (ties keep the earlier), even so is not name-scored.
        bases = [
            pair_score_without_names(
                new, new_background, m, params, nearest, variant_relief(new.lang, mine, m, params)
            )
            for m in r.members
        ]
        ceiling = sum(bases) / len(bases) + max(params.name_weight, 0.0) + 1e-9  # rounding
        if ceiling < params.report or (best is not None and ceiling <= best.score):
            continue
        if weights is None:
            weights = rarity_weights([new.names, *(n.features.names for n in near)])
        # `report_score`, from the name-free parts already computed (`pair_score`'s sum)
        scores = [
            base + names_term(new, m.features, weights, params)
            for base, m in zip(bases, r.members, strict=True)
        ]
        score = sum(scores) / len(scores)
        if score >= params.report and (best is None or score > best.score):
            best = Decision("report", r.report_id, r.story_id, score)
            chosen = (r, mine)
    if best is None and params.rehome:
        best = rehome(new, new_background, reports, nearest, near, params)
    elif params.rehome and chosen is not None and weights is not None:
        best = take_back(new, new_background, *chosen, weights, nearest, params) or best
    if best is not None:
        return best

    live = [s for s in stories if in_window(new.published_at, s.first_seen, s.last_seen, window)]
    if links is None or len(live) != len(stories):
        links = story_links(new, live, params)  # a name's rarity is over these candidates
    top = _strongest(links, params)
    if top is not None:
        return Decision("story", None, top[0].story_id, top[1])
    return Decision("new")


def story_links(
    new: Features, stories: Sequence[StoryCandidate], params: Params
) -> list[tuple[StoryCandidate, float]]:
    """Each candidate story with the strength of the snippet's link to it, and whether it
    passes: the event link's logit (passes at >= 0) where the model was fitted, else the
    centre's cosine (passes at >= `story`)."""
    if params.linker is None:
        return [(s, s.cosine) for s in stories]
    return [(s, params.linker.logit(row)) for s, row in candidate_rows(new, stories)]


def link_passes(strength: float, params: Params, margin: float = 0.0) -> bool:
    if params.linker is None:
        return strength >= params.story
    return strength >= margin


def best_story(
    new: Features, stories: Sequence[StoryCandidate], params: Params
) -> tuple[StoryCandidate, float] | None:
    """The candidate with the strongest passing link (ties: the first listed)."""
    return _strongest(story_links(new, stories, params), params)


def _strongest(
    links: Sequence[tuple[StoryCandidate, float]], params: Params
) -> tuple[StoryCandidate, float] | None:
    best = None
    for s, strength in links:
        if link_passes(strength, params) and (best is None or strength > best[1]):
            best = (s, strength)
    return best


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
    best: Decision | None = None
    weights: dict[str, float] | None = None  # `near`'s name rarity, only if a pair qualifies
    for r in reports:
        if len(r.members) < 2:
            continue
        for m in r.members:
            if not _movable(m, new, nearest, params):
                continue
            if weights is None:
                weights = rarity_weights([new.names, *(n.features.names for n in near)])
            score = pair_score(new, new_background, m, weights, params, nearest)
            plain = pair_score_without_names(new, new_background, m, params)
            if score >= params.report and plain > m.fit and (best is None or score > best.score):
                best = Decision("report", None, r.story_id, score, moved_snippet=m.snippet_id)
    return best


def take_back(
    new: Features,
    new_background: float,
    report: ReportCandidate,
    new_variants: tuple[Variant, ...],
    weights: dict[str, float],
    nearest: float,
    params: Params,
) -> Decision | None:
    """The chosen report passes only through the new snippet's mutual nearest neighbour,
    which does not belong there either: the pair leaves together, as in `rehome`.

    A paragraph whose translations had not arrived joins the closest report there is
    (the translations of the paragraph before it, at a cosine near the threshold with
    the mutual bonus); its first translation then reaches that report through it alone.
    The member goes when the pair passes the threshold, the new snippet's score to the
    rest of the report (without it) does not, and the member does not fit its report
    (its name-free mean to the rest, `scoring.fit`, is under the threshold and under its
    score to the new snippet). The pair's own evidence then outranks any other report
    that passes: they are each other's nearest across languages.
    """
    if len(report.members) < 2:
        return None
    for m in report.members:
        if not _movable(m, new, nearest, params):
            continue
        if m.fit >= params.report:
            continue
        if pair_score_without_names(new, new_background, m, params) <= m.fit:
            continue
        gone = m.snippet_id
        rest = ReportCandidate(
            report.report_id,
            report.story_id,
            tuple(
                replace(o, variants=tuple(v for v in o.variants if v[2] != gone))
                for o in report.members
                if o is not m
            ),
        )
        without = tuple(v for v in new_variants if v[2] != gone)
        if report_score(new, new_background, rest, weights, params, nearest, without) >= (
            params.report
        ):
            continue
        score = pair_score(new, new_background, m, weights, params, nearest)
        if score >= params.report:
            return Decision("report", None, report.story_id, score, moved_snippet=gone)
    return None


def _movable(m: Member, new: Features, nearest: float, params: Params) -> bool:
    """Whether a member could leave its report with the new snippet: the two are each
    other's nearest across languages, within the window, and its fit was computed."""
    return (
        m.fit != float("inf")
        and m.features.lang != new.lang
        and abs(m.features.published_at - new.published_at) <= params.window_seconds
        and mutual(m, nearest)
    )
