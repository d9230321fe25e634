"""The report-level pair score, per item (online) and vectorised (batch): one rule.

Margin scoring: a cosine counts for less between snippets that sit in a crowd of
look-alikes (short generic sentences, a running story's many items) than between
two in an ordinary neighbourhood. It only subtracts: two long news texts far from
everything else are not the same report for being lonely (rewarding that put
unrelated items into one report). A same-language pair is marked down (a model's
same-language cosines run high). A crowd is of look-alikes, not of the report itself:
across languages, the report's variants in third languages count at the model's
typical value in either side's crowd (`variant_relief`; a passage with six
translations stored otherwise sits in a crowd of them, and the seventh could not
join). Shared rare names and figures add to it. So does,
across languages, being each other's nearest neighbour (the mutual-nearest-neighbour
test of bitext mining: a translation is usually the one thing closest to its
original in both directions). Within one language that test does not hold: a near
paraphrase ("You're a prude." / "He's a prude.") is as often the nearest, and the
bonus joined those (docs/quality.md, experiment 9).

`tests/unit/test_scoring.py` checks on random inputs that both forms agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stories.candidates import Member, ReportCandidate, Variant
from stories.entities import shared_name_evidence
from stories.features import Features
from stories.params import Params

MUTUAL_TOLERANCE = 1e-5  # the index's and a direct dot product's cosines differ in float32


# -- per item (online) ------------------------------------------------------------------
def background(neighbour_cosines: Sequence[float], params: Params) -> float:
    """Mean cosine to the k nearest neighbours, missing ones counted at the model's typical
    value, so a snippet that arrives into an empty index is not called unique."""
    top = sorted(neighbour_cosines, reverse=True)[: params.background_k]
    top += [params.background] * (params.background_k - len(top))
    return sum(top) / len(top)


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


def holds_nearest(member_cosines: Sequence[float], new_nearest: float) -> bool:
    """Whether one of these members is the new snippet's nearest neighbour (`mutual`)."""
    return is_nearest(max(member_cosines, default=float("-inf")), new_nearest)


def variant_relief(
    new_lang: str,
    new_variants: Sequence[Variant],
    other: Member,
    params: Params,
) -> float:
    """How much lower the two crowds of a cross-language pair sum when the report's
    variants in languages other than the pair's two count at the model's typical value.

    Margin scoring is the bitext-mining margin, which measures each side's crowd in the
    other side's language; over all languages, a report's translations in third
    languages fill both crowds (a passage whose six translations are stored sits at their
    cosines), and the more variants a report has, the harder it is for the next to join
    it. `new_variants` are the report's members among the new snippet's `background_k`
    nearest, `other.variants` the other members among the member's. A same-language pair
    keeps its whole crowd: there the crowd is what guards against near paraphrases
    joining (docs/quality.md, experiment 23).
    """
    lang = other.features.lang
    if lang == new_lang or not params.variant_relief:
        return 0.0
    out = 0.0
    for cosine, variant, _ in (*new_variants, *other.variants):
        if variant != lang and variant != new_lang:
            out += cosine - params.background
    return out / params.background_k


def mates_among_nearest(
    ids: Sequence[int],
    langs: Sequence[str],
    sims: Sequence[Sequence[float]],
    nearest: Sequence[Sequence[float]],
) -> list[tuple[Variant, ...]]:
    """For each member of one report, its mates in other languages among its nearest.

    `sims`: the members' cosines to each other; `nearest[a]`: the cosines of member a's
    stored nearest neighbours (NaN-free). Storage keeps those cosines without the
    neighbours' ids, so a mate is found by its cosine: the same dot product computed
    twice (by the index, by numpy) differs by float rounding only, and each stored cosine
    stands for one mate.
    """
    tol = MUTUAL_TOLERANCE
    out = []
    for a, near in enumerate(nearest):
        free = list(near)
        found: list[Variant] = []
        for b, c_ab in enumerate(sims[a]):
            if langs[b] == langs[a]:  # itself, or a mate never relieved against it
                continue
            for q, c in enumerate(free):
                if -tol <= c - c_ab <= tol:
                    found.append((c, langs[b], ids[b]))
                    free[q] = float("nan")  # taken
                    break
        out.append(tuple(found))
    return out


def names_term(a: Features, b: Features, weights: dict[str, float], params: Params) -> float:
    """What shared rare names add: the term that needs the neighbourhood's name rarity and
    costs more than the rest of the score together."""
    if not a.names or not b.names:
        return 0.0
    return params.name_weight * shared_name_evidence(a.names, b.names, weights)


def figures_term(a: Features, b: Features, params: Params) -> float:
    """A shared figure nudges; a missing one does not punish (figures get rounded)."""
    return params.number_weight if a.numbers & b.numbers else 0.0


def names_and_figures(a: Features, b: Features, weights: dict[str, float], params: Params) -> float:
    """The text evidence of a pair: what the batch form adds to its vector part."""
    return names_term(a, b, weights, params) + figures_term(a, b, params)


def pair_score_without_names(
    new: Features,
    new_background: float,
    other: Member,
    params: Params,
    new_nearest: float = float("inf"),
    relief: float = 0.0,
) -> float:
    """`pair_score` less its name term; `relief`: `variant_relief` of the pair."""
    crowd = max(0.0, (new_background + other.background - relief) / 2 - params.background)
    score = other.cosine - params.margin_weight * crowd
    score += figures_term(new, other.features, params)
    if new.lang == other.features.lang:
        score -= params.same_language_penalty
    elif params.mutual_bonus and mutual(other, new_nearest):
        score += params.mutual_bonus
    return score


def pair_score(
    new: Features,
    new_background: float,
    other: Member,
    weights: dict[str, float],
    params: Params,
    new_nearest: float = float("inf"),
    relief: float = 0.0,
) -> float:
    """Report-level evidence that two snippets carry the same report."""
    return pair_score_without_names(new, new_background, other, params, new_nearest, relief) + (
        names_term(new, other.features, weights, params)
    )


def report_score(
    new: Features,
    new_background: float,
    report: ReportCandidate,
    weights: dict[str, float],
    params: Params,
    new_nearest: float = float("inf"),
    new_variants: Sequence[Variant] = (),
) -> float:
    """Average link over the report's members: a snippet must resemble the report as a
    whole, so a chain of look-alikes cannot grow one report without bound.
    `new_variants`: the report's members among the new snippet's nearest
    (`variant_relief`)."""
    scores = [
        pair_score(
            new,
            new_background,
            m,
            weights,
            params,
            new_nearest,
            variant_relief(new.lang, new_variants, m, params),
        )
        for m in report.members
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


def fit(
    member: Features,
    member_background: float,
    others: Sequence[Member],
    params: Params,
    member_variants: Sequence[Variant] = (),
) -> float:
    """How well a report member fits the rest of its report: its mean pair score to the
    others without names and the mutual bonus (what `assign.rehome` and `assign.take_back`
    weigh a newcomer against), with the report's variants relieved as for a newcomer
    (`member_variants`: its mates among its nearest; a translation among translations
    would otherwise seem not to fit for the crowd of its own report)."""
    if not others:
        return float("inf")
    return sum(
        pair_score_without_names(
            member,
            member_background,
            o,
            params,
            relief=variant_relief(member.lang, member_variants, o, params),
        )
        for o in others
    ) / len(others)


# -- vectorised (batch) -----------------------------------------------------------------
def backgrounds(sims: np.ndarray, valid: np.ndarray, params: Params) -> np.ndarray:
    """`background` for every row of a k-NN table (best first): mean of the top
    `background_k` cosines, missing neighbours counted at the model's typical value."""
    k = params.background_k
    top = np.where(valid[:, :k], sims[:, :k], np.float32(params.background))
    if top.shape[1] < k:
        pad = np.full((len(top), k - top.shape[1]), params.background, dtype=np.float32)
        top = np.hstack([top, pad])
    return top.mean(axis=1).astype(np.float32)


def nearest_of(neighbours: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Each row's first valid neighbour (the table is best first), -1 where it has none."""
    if not valid.shape[1]:
        return np.full(len(neighbours), -1, dtype=np.int64)
    first = valid.argmax(axis=1)
    rows = np.arange(len(neighbours))
    return np.where(valid[rows, first], neighbours[rows, first], -1).astype(np.int64)


def variant_reliefs(
    a: np.ndarray,
    b: np.ndarray,
    neighbours: np.ndarray,
    sims: np.ndarray,
    valid: np.ndarray,
    reports: np.ndarray,
    lang: np.ndarray,
    params: Params,
    chunk: int = 1 << 20,
) -> np.ndarray:
    """`variant_relief` of every edge (a, b) of a k-NN table (best first): in the batch
    a pair may join two reports, so the variants of both count (online the new snippet's
    report is itself alone)."""
    k = min(params.background_k, neighbours.shape[1])
    out = np.zeros(len(a), dtype=np.float32)
    cross = np.flatnonzero(lang[a] != lang[b])
    for start in range(0, len(cross), chunk):
        e = cross[start : start + chunk]
        ea, eb = a[e], b[e]
        total = np.zeros(len(e), dtype=np.float64)
        for side in (ea, eb):
            cols = neighbours[side, :k]
            safe = np.where(cols >= 0, cols, 0)
            r, lg = reports[safe], lang[safe]
            hit = (
                valid[side, :k]
                & ((r == reports[ea][:, None]) | (r == reports[eb][:, None]))
                & (lg != lang[ea][:, None])
                & (lg != lang[eb][:, None])
            )
            total += np.where(hit, sims[side, :k] - params.background, 0.0).sum(axis=1)
        out[e] = total / params.background_k
    return out


def pair_scores(
    a: np.ndarray,
    b: np.ndarray,
    cos: np.ndarray,
    bg: np.ndarray,
    lang: np.ndarray,
    params: Params,
    nearest: np.ndarray | None = None,
    relief: np.ndarray | None = None,
) -> np.ndarray:
    """`pair_score` without the name and figure terms, for all edges (a, b) at once.

    `nearest` holds each item's nearest neighbour (position, -1: none): pairs in
    different languages that are each other's nearest get `mutual_bonus`, as online.
    `relief`: `variant_reliefs` of the edges. Add `names_and_figures` of an edge for the
    whole score.
    """
    both = bg[a] + bg[b] if relief is None else bg[a] + bg[b] - relief
    crowd = np.maximum(0.0, both / 2 - params.background)  # only subtracts
    score = cos - params.margin_weight * crowd
    score = score - params.same_language_penalty * (lang[a] == lang[b])
    if params.mutual_bonus and nearest is not None:
        mutual = (nearest[a] == b) & (nearest[b] == a) & (lang[a] != lang[b])
        score = score + params.mutual_bonus * mutual
    return score.astype(np.float32)
