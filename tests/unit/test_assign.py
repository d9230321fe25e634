"""Online assignment decisions on hand-built candidates: no model, no storage."""

import dataclasses

import numpy as np
import pytest

from stories.assign import decide, rehome
from stories.candidates import Member, Neighbour, ReportCandidate, StoryCandidate
from stories.entities import names, rarity_weights
from stories.features import Features
from stories.merges import StoryMass, absorption, coherence, merges, survivor
from stories.params import Params
from stories.scoring import background, fit, report_score
from stories.text import words

DAY = 86400.0
P = Params(near_duplicate=0.93, report=0.78, story=0.45, window_seconds=3 * DAY, rehome=False)
BG = P.background


def params(**changes: float) -> Params:
    return dataclasses.replace(P, **changes)


# a snippet with an ordinary neighbourhood: margin adds nothing


def feats(text: str, lang: str = "en", t: float = 0.0) -> Features:
    return Features(lang=lang, published_at=t, names=names(text), words=words(text))


def nb(sid: int, report: int, story: int, cos: float, f: Features) -> Neighbour:
    return Neighbour(sid, report, story, cos, f)


def rep(rid: int, story: int, *members: tuple[float, Features]) -> ReportCandidate:
    return ReportCandidate(rid, story, tuple(Member(c, P.background, f) for c, f in members))


def test_nothing_near_opens_a_story() -> None:
    d = decide(feats("x"), BG, [], [], [], [], P)
    assert d.level == "new" and d.story_id is None and d.report_id is None


def test_near_copy_in_same_language_is_a_duplicate() -> None:
    text = "Putin sets conditions for peace talks with Ukraine on Friday"
    d = decide(feats(text), BG, [], [nb(7, 70, 700, 0.97, feats(text + " today"))], [], [], P)
    assert (d.level, d.report_id, d.story_id, d.matched_snippet) == ("duplicate", 70, 700, 7)


def test_translation_is_not_a_near_copy_but_joins_the_report() -> None:
    en = feats("Stoltenberg rejects Putin proposal", "en")
    ru = feats("Столтенберг отверг предложение Путина", "ru")
    d = decide(en, BG, [], [nb(1, 10, 100, 0.95, ru)], [rep(10, 100, (0.95, ru))], [], P)
    assert d.level == "report" and d.report_id == 10 and d.story_id == 100


def test_shared_rare_names_lift_a_pair_over_the_report_threshold() -> None:
    en = feats("Stoltenberg rejects the proposal", "en")
    es = feats("Stoltenberg rechaza la propuesta", "es")
    other = feats("Zakharova comments", "ru")
    fillers = [nb(i, 90 + i, 900, 0.3, feats(f"Filler{i} text")) for i in range(2, 8)]
    without = decide(
        en, BG, [], [nb(1, 10, 100, 0.72, other), *fillers], [rep(10, 100, (0.72, other))], [], P
    )
    with_name = decide(
        en, BG, [], [nb(1, 10, 100, 0.72, es), *fillers], [rep(10, 100, (0.72, es))], [], P
    )
    assert without.level == "new"
    assert with_name.level == "report" and with_name.score > 0.78


def test_a_name_every_neighbour_shares_adds_little() -> None:
    mary = [feats(f"Mary text{i}") for i in range(8)]
    w = rarity_weights([f.names for f in mary])
    common = report_score(mary[0], BG, rep(1, 1, (0.7, mary[1])), w, P)
    assert common < 0.7 + 0.25 * 0.2


def test_report_needs_to_resemble_all_its_members() -> None:
    new = feats("a")
    close, far = (0.9, feats("b")), (0.5, feats("c"))
    assert decide(new, BG, [], [], [rep(1, 1, close)], [], P).level == "report"
    assert decide(new, BG, [], [], [rep(1, 1, close, far)], [], P).level == "new"


def test_story_level_uses_the_centroid_and_the_window() -> None:
    new = feats("Pentagon says Putin cannot set terms", t=10 * DAY)
    weak = nb(1, 10, 100, 0.5, feats("Kremlin speech", t=10 * DAY))
    inside = StoryCandidate(100, 0.6, first_seen=9 * DAY, last_seen=10 * DAY)
    d = decide(new, BG, [], [weak], [], [inside], P)
    assert (d.level, d.story_id, d.report_id) == ("story", 100, None)
    stale = StoryCandidate(100, 0.6, first_seen=0.0, last_seen=5 * DAY)
    assert decide(new, BG, [], [weak], [], [stale], P).level == "new"
    below = StoryCandidate(100, 0.3, first_seen=9 * DAY, last_seen=10 * DAY)
    assert decide(new, BG, [], [weak], [], [below], P).level == "new"


def test_reports_outside_the_window_cannot_claim_a_snippet() -> None:
    new = feats("Stoltenberg rejects the proposal", t=20 * DAY)
    old = feats("Stoltenberg rejects the proposal", t=0.0)
    assert (
        decide(new, BG, [], [nb(1, 10, 100, 0.99, old)], [rep(10, 100, (0.99, old))], [], P).level
        == "new"
    )


def test_best_scoring_report_wins_regardless_of_order() -> None:
    new = feats("Podolyak rejects Putin's plan")
    a = rep(10, 100, (0.80, feats("Zakharova")))
    b = rep(20, 100, (0.82, feats("Подоляк отверг план")))
    for order in ([a, b], [b, a]):
        assert decide(new, BG, [], [], order, [], P).report_id == 20


def test_margin_discounts_crowded_pairs() -> None:
    crowded = Params(
        near_duplicate=0.93,
        report=0.78,
        story=0.45,
        window_seconds=DAY,
        margin_weight=1.0,
        background=0.5,
    )
    a, b = feats("a"), feats("b")
    lonely = report_score(a, 0.3, ReportCandidate(1, 1, (Member(0.8, 0.3, b),)), {}, crowded)
    busy = report_score(a, 0.8, ReportCandidate(1, 1, (Member(0.8, 0.8, b),)), {}, crowded)
    assert lonely == pytest.approx(0.8)  # isolation earns nothing
    assert busy == pytest.approx(0.8 - 0.3)


def test_mutual_nearest_neighbours_across_languages_earn_the_bonus() -> None:
    p = params(mutual_bonus=0.1)
    en, ru = feats("where is it from?", "en"), feats("откуда это?", "ru")

    def decide_with(member: Member, others: list[float], p: Params = p) -> str:
        near = [nb(1, 10, 100, member.cosine, member.features)]
        near += [nb(2 + i, 20 + i, 200, c, feats(f"other {i}")) for i, c in enumerate(others)]
        return decide(en, BG, [], near, [ReportCandidate(10, 100, (member,))], [], p).level

    # 0.72 is below the report threshold (0.78); as each other's nearest it passes
    assert decide_with(Member(0.72, BG, ru, nearest=0.60), [0.5], P) == "new"
    assert decide_with(Member(0.72, BG, ru, nearest=0.60), [0.5]) == "report"
    # the member had something closer before: not mutual
    assert decide_with(Member(0.72, BG, ru, nearest=0.80), [0.5]) == "new"
    # the new snippet has something closer: not mutual
    assert decide_with(Member(0.72, BG, ru, nearest=0.60), [0.75]) == "new"
    # same language: a near paraphrase is as often the nearest, so no bonus
    same = Member(0.72, BG, feats("where does it come from?", "en"), nearest=0.60)
    assert decide_with(same, [0.5]) == "new"


def test_a_translation_arriving_late_takes_its_original_out_of_a_report() -> None:
    """A (ru) joined C (en) before its translation B (en) came; B and A are each other's
    nearest, but B against {A, C} on average cannot pass."""
    p = params(report=0.65, mutual_bonus=0.05, rehome=True)
    a_feats, c_feats = feats("он устал", "ru"), feats("she was tired", "en")
    b = feats("he is tired", "en")
    a_fit = fit(a_feats, BG, [Member(0.66, BG, c_feats)], p)
    assert a_fit == pytest.approx(0.66)

    def report(a_fit: float, a_cos: float = 0.85, a_nearest: float = 0.66) -> ReportCandidate:
        a = Member(a_cos, BG, a_feats, nearest=a_nearest, snippet_id=1, fit=a_fit)
        return ReportCandidate(10, 100, (a, Member(0.30, BG, c_feats, snippet_id=2)))

    def neighbours(a_cos: float = 0.85) -> list[Neighbour]:
        return [nb(1, 10, 100, a_cos, a_feats), nb(2, 10, 100, 0.30, c_feats)]

    d = decide(b, BG, [], neighbours(), [report(a_fit)], [], p)
    assert (d.level, d.report_id, d.story_id, d.moved_snippet) == ("report", None, 100, 1)
    # without the switch, or when A fits its report better than B, nothing moves
    assert decide(b, BG, [], neighbours(), [report(a_fit)], [], params(report=0.65)).level == "new"
    assert decide(b, BG, [], neighbours(), [report(0.9)], [], p).moved_snippet is None
    # A had something closer than B before (not mutual): it stays
    assert decide(b, BG, [], neighbours(), [report(a_fit, a_nearest=0.9)], [], p).level == "new"
    # the pair itself must pass the report threshold
    weak = decide(b, BG, [], neighbours(0.55), [report(0.3, a_cos=0.55, a_nearest=0.5)], [], p)
    assert weak.moved_snippet is None
    # same language: no mutual evidence, no move
    same = ReportCandidate(
        10,
        100,
        (
            Member(0.85, BG, feats("he was tired", "en"), 0.66, 1, 0.5),
            Member(0.40, BG, c_feats, snippet_id=2),
        ),
    )
    assert rehome(b, BG, [same], 0.85, [], p) is None


def test_a_report_that_passes_only_through_a_stray_member_gives_it_up() -> None:
    """The next paragraph (es) joined the headline paragraph's report (it) before its own
    translations came. Its German translation reaches that report only through it: the
    two leave together. A report of real translations keeps a member that fits it."""
    p = params(report=0.65, mutual_bonus=0.05, rehome=True)
    headline, stray = feats("il titolo", "it"), feats("el párrafo siguiente", "es")
    new = feats("der nächste Absatz", "de")
    stray_fit = fit(stray, BG, [Member(0.62, BG, headline)], p)  # under the threshold

    def report(stray_fit: float, other_cos: float) -> ReportCandidate:
        return ReportCandidate(
            10,
            100,
            (
                Member(0.55 if other_cos < 0.7 else other_cos, BG, headline, snippet_id=2),
                Member(0.86, BG, stray, nearest=0.62, snippet_id=1, fit=stray_fit),
            ),
        )

    def neighbours(other_cos: float) -> list[Neighbour]:
        return [nb(1, 10, 100, 0.86, stray), nb(2, 10, 100, other_cos, headline)]

    # {headline, stray} on average passes for the newcomer (0.55 and 0.86 with the bonus)
    assert report_score(new, BG, report(stray_fit, 0.55), {}, p, 0.86) >= 0.65
    d = decide(new, BG, [], neighbours(0.55), [report(stray_fit, 0.55)], [], p)
    assert (d.level, d.report_id, d.story_id, d.moved_snippet) == ("report", None, 100, 1)
    # a member that fits its report stays, and the newcomer joins the report
    kept = decide(new, BG, [], neighbours(0.55), [report(0.7, 0.55)], [], p)
    assert (kept.level, kept.report_id, kept.moved_snippet) == ("report", 10, None)
    # the newcomer resembles the rest of the report too: it joins, nothing moves
    whole = decide(new, BG, [], neighbours(0.8), [report(stray_fit, 0.8)], [], p)
    assert (whole.level, whole.report_id, whole.moved_snippet) == ("report", 10, None)
    # nor is a member taken back across the time window
    late = dataclasses.replace(new, published_at=4 * DAY)
    assert (
        decide(late, BG, [], neighbours(0.55), [report(stray_fit, 0.55)], [], p).moved_snippet
        is None
    )
    # without the switch the newcomer joins the report as it is
    plain = decide(
        new,
        BG,
        [],
        neighbours(0.55),
        [report(stray_fit, 0.55)],
        [],
        params(report=0.65, mutual_bonus=0.05),
    )
    assert (plain.level, plain.report_id) == ("report", 10)


def test_background_fills_missing_neighbours_with_the_prior() -> None:
    assert background([0.9, 0.7], P) == pytest.approx((0.9 + 0.7 + 0.5 + 0.5) / 4)
    assert background([0.9, 0.8, 0.7, 0.6, 0.1], P) == pytest.approx(0.75)


def mass(sid: int, vectors: list[list[float]], first: float = 0.0, last: float = 0.0) -> StoryMass:
    rows = np.array(vectors, dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return StoryMass(sid, rows.sum(axis=0), len(rows), first, last)


def test_absorption_is_the_smaller_storys_mean_cosine_to_the_larger_centroid() -> None:
    big = mass(1, [[1, 0], [1, 0], [0, 1]])  # centroid direction (2, 1) / sqrt(5)
    one = mass(2, [[1, 0]])
    assert absorption(big, one) == pytest.approx(2 / np.sqrt(5))
    assert absorption(one, big) == absorption(big, one)
    two = mass(3, [[1, 0], [0, 1]])
    assert absorption(big, two) == pytest.approx((2 / np.sqrt(5) + 1 / np.sqrt(5)) / 2)


def test_stories_merge_when_they_pass_the_story_threshold_as_wholes() -> None:
    p = params(story=0.4)
    joined = mass(1, [[1, 0, 0], [0.9, 0.1, 0]])
    close = mass(2, [[0.8, 0.3, 0]])
    far = mass(3, [[0, 0, 1]])
    assert merges(joined, [close, far], p) == [2]


def test_one_bridging_snippet_does_not_chain_stories() -> None:
    # Two events; a snippet about both joined the first one. The second story's
    # members are far from the first story's centre, so they stay apart.
    p = params(story=0.4)
    first = [[1, 0, 0], [1, 0.1, 0], [1, 0, 0.1]]
    joined = mass(1, [*first, [0.7, 0, 0.7]])
    other = mass(2, [[0, 0, 1], [0, 0.1, 1], [0.1, 0, 1]])
    assert merges(joined, [other], p) == []


def test_stories_apart_in_time_do_not_merge() -> None:
    p = params(story=0.4)
    day = DAY
    joined = mass(1, [[1, 0]], first=0, last=day)
    later = mass(2, [[1, 0]], first=10 * day, last=11 * day)
    assert merges(joined, [later], p) == []
    assert merges(joined, [mass(2, [[1, 0]], first=2 * day, last=3 * day)], p) == [2]


def test_the_larger_story_keeps_its_id() -> None:
    big, small = mass(7, [[1, 0], [1, 0]]), mass(3, [[1, 0]])
    assert survivor(big, small) == (7, 3)
    assert survivor(small, big) == (7, 3)
    assert survivor(mass(9, [[1, 0]]), mass(4, [[1, 0]])) == (4, 9)


def test_a_merge_must_leave_a_tight_story() -> None:
    # A story that has already drifted (two members 130 degrees apart) must not absorb
    # more, even a snippet that passes against its centroid.
    p = params(story=0.6)
    c65, s65, c50, s50 = np.cos(np.radians([65, 65, 50, 50])) * [1, 0, 1, 0] + np.sin(
        np.radians([65, 65, 50, 50])
    ) * [0, 1, 0, 1]
    loose = mass(1, [[c65, s65], [c65, -s65]])
    newcomer = mass(2, [[c50, s50]])
    assert absorption(loose, newcomer) == pytest.approx(c50) and c50 > 0.6
    assert coherence(loose, newcomer) < 0.6
    assert merges(loose, [newcomer], p) == []
    tight = mass(3, [[1, 0.1], [1, -0.1]])
    assert merges(tight, [newcomer], p) == [2]
    assert coherence(tight) == pytest.approx(np.linalg.norm(tight.vector_sum) / 2)


def _reference_report(
    new: Features,
    bg: float,
    neighbours: list[Neighbour],
    reports: list[ReportCandidate],
    params: Params,
) -> tuple[float, int] | None:
    """Every report scored in full, as `decide` did before it skipped hopeless ones."""
    window = params.window_seconds
    near = [n for n in neighbours if abs(n.features.published_at - new.published_at) <= window]
    weights = rarity_weights([new.names, *(n.features.names for n in near)])
    nearest = max(n.cosine for n in neighbours)
    crowd = sorted(neighbours, key=lambda n: -n.cosine)[: params.background_k]
    best: tuple[float, int] | None = None
    for r in reports:
        if not any(abs(m.features.published_at - new.published_at) <= window for m in r.members):
            continue
        mine = [
            (n.cosine, n.features.lang, n.snippet_id) for n in crowd if n.report_id == r.report_id
        ]
        score = report_score(new, bg, r, weights, params, nearest, mine)
        if score >= params.report and (best is None or score > best[0]):
            best = (score, r.report_id)
    return best


def test_skipping_reports_that_cannot_pass_changes_no_decision() -> None:
    rng = np.random.default_rng(5)
    pool = [
        "Stoltenberg",
        "Столтенберга",
        "Podolyak",
        "Подоляк",
        "Kyiv",
        "Madrid",
        "NATO",
        "Zelensky",
        "Зеленский",
        "Sánchez",
        "Putin",
        "Путин",
        "12 795",
        "2024",
        "16%",
    ]

    def random_features() -> Features:
        chosen = rng.choice(pool, size=int(rng.integers(0, 5)), replace=False)
        t = float(rng.uniform(0, 5 * DAY))
        return Features(
            lang=str(rng.choice(["en", "ru", "es"])),
            published_at=t,
            names=names(" ".join(chosen)),
            numbers=frozenset(x for x in chosen if x[0].isdigit()),
        )

    decided_reports = 0
    for case in range(400):
        p = params(
            near_duplicate=1.01,
            report=float(rng.uniform(0.4, 0.9)),
            name_weight=float(rng.uniform(0, 0.4)),
            margin_weight=float(rng.uniform(0, 1)),
            same_language_penalty=float(rng.uniform(0, 0.05)),
            mutual_bonus=float(rng.choice([0.0, rng.uniform(0, 0.2)])),
            variant_relief=bool(rng.integers(0, 2)),
        )
        new = random_features()
        reports = []
        neighbours = []
        for rid in range(int(rng.integers(1, 6))):
            members = tuple(
                Member(
                    float(rng.uniform(0.1, 0.95)),
                    float(rng.uniform(0.3, 0.8)),
                    random_features(),
                    float(rng.uniform(0.3, 0.99)),
                    variants=tuple(
                        (
                            float(rng.uniform(0.3, 0.95)),
                            str(rng.choice(["en", "ru", "es"])),
                            int(rng.integers(0, 50)),
                        )
                        for _ in range(int(rng.integers(0, 3)))
                    ),
                )
                for _ in range(int(rng.integers(1, 4)))
            )
            reports.append(ReportCandidate(rid, rid, members))
            neighbours += [
                nb(10 * rid + i, rid, rid, m.cosine, m.features) for i, m in enumerate(members)
            ]
        bg = float(rng.uniform(0.3, 0.8))
        got = decide(new, bg, [], neighbours, reports, [], p)
        want = _reference_report(new, bg, neighbours, reports, p)
        if want is None:
            assert got.level != "report", case
        else:
            decided_reports += 1
            assert (got.level, got.report_id) == ("report", want[1]), case
            assert got.score == pytest.approx(want[0]), case
    assert decided_reports > 40  # the cases exercise both outcomes
