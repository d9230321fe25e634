"""The pair score's two forms agree: per item (online) and vectorised (the nightly batch)."""

from __future__ import annotations

import numpy as np
import pytest

from stories.candidates import Member
from stories.entities import rarity_weights
from stories.evidence import EdgeEvidence
from stories.features import Features
from stories.params import Params
from stories.recluster import knn_edges
from stories.scoring import (
    background,
    backgrounds,
    figures_term,
    mates_among_nearest,
    nearest_of,
    pair_score,
    pair_score_without_names,
    pair_scores,
    variant_relief,
    variant_reliefs,
)

NAMES = ["stoltenberg", "podoliak", "zelenski", "kiev", "moskva", "bruselas", "nato", "putin"]
FIGURES = ["12795", "30", "2024", "5.5"]
LANGS = ["en", "ru", "es"]


def _world(seed: int, n: int = 60, d: int = 16, k: int = 8) -> tuple:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(6, d))
    vectors = centres[rng.integers(0, 6, n)] + 0.7 * rng.normal(size=(n, d))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1)[:, :k]
    table_sims = np.take_along_axis(sims, order, axis=1).astype(np.float32)
    features = [
        Features(
            lang=str(rng.choice(LANGS)),
            published_at=0.0,
            names=frozenset(rng.choice(NAMES, rng.integers(0, 4), replace=False).tolist()),
            numbers=frozenset(rng.choice(FIGURES, rng.integers(0, 2), replace=False).tolist()),
        )
        for _ in range(n)
    ]
    return vectors, sims, order, table_sims, features


@pytest.mark.parametrize("seed", range(5))
def test_per_item_and_vectorised_scores_agree_on_random_neighbourhoods(seed: int) -> None:
    params = Params(
        near_duplicate=0.93,
        report=0.65,
        story=0.5,
        margin_weight=0.75,
        same_language_penalty=0.04,
        name_weight=0.1,
        mutual_bonus=0.05,
    )
    vectors, sims, order, table_sims, features = _world(seed)
    n = len(vectors)
    valid = np.ones_like(order, dtype=bool)
    bg = backgrounds(table_sims, valid, params)
    lang = np.array([LANGS.index(f.lang) for f in features])
    a, b, cos = knn_edges(order, table_sims)
    batch = pair_scores(a, b, cos, bg, lang, params, nearest_of(order, valid))
    batch = batch + EdgeEvidence(features, order, params).bonus(a, b)

    for e, (i, j) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        # online: j is stored, i arrives; each knows its own k-NN list as the batch does
        bg_i = background(table_sims[i].tolist(), params)
        bg_j = background(table_sims[j].tolist(), params)
        assert bg_i == pytest.approx(float(bg[i]), abs=1e-6)
        before = np.delete(sims[j], i)  # what j had nearest before i arrived
        member = Member(float(sims[i, j]), bg_j, features[j], nearest=float(before.max()))
        weights = rarity_weights([features[i].names, *(features[x].names for x in order[i])])
        online = pair_score(
            features[i], bg_i, member, weights, params, new_nearest=float(sims[i].max())
        )
        assert online == pytest.approx(float(batch[e]), abs=1e-5), (i, j)
    assert len(a) > n  # every item has edges; the comparison covered them


def test_mutual_bonus_is_the_same_pairs_in_both_forms() -> None:
    params = Params(near_duplicate=0.93, report=0.65, story=0.5, mutual_bonus=0.05)
    vectors, sims, order, table_sims, features = _world(7)
    valid = np.ones_like(order, dtype=bool)
    nearest = nearest_of(order, valid)
    lang = np.array([LANGS.index(f.lang) for f in features])
    a, b, cos = knn_edges(order, table_sims)
    zero = np.zeros(len(vectors), dtype=np.float32)
    flat = params.__class__(**{**params.as_dict(), "mutual_bonus": 0.0})
    bonus = pair_scores(a, b, cos, zero, lang, params, nearest) - pair_scores(
        a, b, cos, zero, lang, flat, nearest
    )
    batch_mutual = {(i, j) for i, j, x in zip(a.tolist(), b.tolist(), bonus, strict=True) if x}
    online_mutual = {
        (i, j)
        for i, j in zip(a.tolist(), b.tolist(), strict=True)
        if lang[i] != lang[j]
        and sims[i, j] >= sims[i].max() - 1e-5
        and sims[i, j] >= np.delete(sims[j], i).max() - 1e-5
    }
    assert batch_mutual == online_mutual and batch_mutual  # and some pairs are mutual


@pytest.mark.parametrize("seed", range(4))
def test_variant_relief_is_the_same_in_both_forms(seed: int) -> None:
    """Reports of several languages: an edge whose first item is alone in its report is
    what online scores (the new snippet against a stored member), with the crowd relieved
    of the member's report's variants in third languages on both sides."""
    params = Params(
        near_duplicate=0.93, report=0.65, story=0.5, margin_weight=0.75, mutual_bonus=0.05
    )
    vectors, sims, order, table_sims, features = _world(seed, n=80)
    n = len(vectors)
    rng = np.random.default_rng(seed)
    reports = np.arange(n)
    reports[n // 2 :] = rng.integers(n // 2, n // 2 + 8, n - n // 2)  # 8 shared reports
    # some items found fewer neighbours than asked (the index answers -1 for the rest)
    order, table_sims = order.copy(), table_sims.copy()
    for row in rng.choice(n, n // 4, replace=False):
        order[row, int(rng.integers(1, 4)) :] = -1
        table_sims[row, order[row] < 0] = -1.0
    valid = order >= 0
    bg = backgrounds(table_sims, valid, params)
    lang = np.array([LANGS.index(f.lang) for f in features])
    a, b, cos = knn_edges(order, table_sims)
    relief = variant_reliefs(a, b, order, table_sims, valid, reports, lang, params)
    batch = pair_scores(a, b, cos, bg, lang, params, nearest_of(order, valid), relief)
    k = params.background_k

    def variants(x: int, report: int) -> tuple[tuple[float, str, int], ...]:
        return tuple(
            (float(c), features[y].lang, int(y))
            for y, c in zip(order[x, :k], table_sims[x, :k], strict=True)
            if y >= 0 and reports[y] == report and y != x
        )

    compared = relieved = 0
    for e, (i, j) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        for new, old in ((i, j), (j, i)):
            if np.count_nonzero(reports == reports[new]) > 1:
                continue  # online, the new snippet has no report yet
            member = Member(
                float(sims[new, old]),
                float(bg[old]),
                features[old],
                nearest=float(np.delete(sims[old], new).max()),
                variants=variants(old, reports[old]),
            )
            x = variant_relief(features[new].lang, variants(new, reports[old]), member, params)
            online = pair_score_without_names(
                features[new], float(bg[new]), member, params, float(sims[new].max()), x
            )
            online -= figures_term(features[new], features[old], params)
            assert online == pytest.approx(float(batch[e]), abs=1e-5), (new, old)
            assert x == pytest.approx(float(relief[e]), abs=1e-6)
            compared += 1
            relieved += x != 0.0
    assert compared > n and relieved > 0  # the comparison covered relieved pairs too


def test_only_third_language_variants_leave_the_crowd() -> None:
    params = Params(near_duplicate=0.93, report=0.65, story=0.5, margin_weight=0.75, background=0.5)
    en = Features(lang="en", published_at=0.0)
    de = Features(lang="de", published_at=0.0)
    # a German member whose nearest hold its report's French, Italian and English variants
    member = Member(0.8, 0.8, de, variants=((0.8, "fr", 1), (0.8, "it", 2), (0.8, "en", 3)))
    new_variants = ((0.8, "de", 4), (0.8, "fr", 1))  # the report's members among the new one's
    relief = variant_relief("en", new_variants, member, params)
    assert relief == pytest.approx((0.3 + 0.3 + 0.3) / params.background_k)  # fr, it, fr
    # English against English: a same-language pair keeps its whole crowd
    assert variant_relief("en", new_variants, Member(0.8, 0.8, en), params) == 0.0
    # two languages only (a translation pair): nothing is relieved
    pair = Member(0.8, 0.8, de, variants=((0.8, "en", 3),))
    assert variant_relief("en", ((0.8, "de", 4),), pair, params) == 0.0
    crowded = pair_score_without_names(en, 0.8, member, params)
    relieved = pair_score_without_names(en, 0.8, member, params, relief=relief)
    assert relieved > crowded
    # the switch turns the rule off wherever it is asked
    off = Params(**{**params.as_dict(), "variant_relief": False})
    assert variant_relief("en", new_variants, member, off) == 0.0


@pytest.mark.parametrize("seed", range(3))
def test_mates_are_found_among_stored_cosines_as_by_their_ids(seed: int) -> None:
    """Stored neighbour lists hold cosines, not ids: matching a report's mates by cosine
    finds the same mates as matching by id would."""
    vectors, sims, order, table_sims, features = _world(seed, n=120, k=4)
    rng = np.random.default_rng(seed)
    for _ in range(40):
        members = rng.choice(len(vectors), size=int(rng.integers(2, 7)), replace=False).tolist()
        langs = [features[i].lang for i in members]
        block = vectors[members] @ vectors[members].T
        nearest = [table_sims[i].tolist() for i in members]
        got = mates_among_nearest(members, langs, block.tolist(), nearest)
        for a, i in enumerate(members):
            want = {
                (int(j), features[j].lang)
                for j in order[i]
                if j in members and features[j].lang != features[i].lang
            }
            assert {(v[2], v[1]) for v in got[a]} == want, (i, members)
            for c, _, j in got[a]:
                assert c == pytest.approx(float(sims[i, j]), abs=1e-5)
