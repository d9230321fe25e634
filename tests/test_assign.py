"""Online assignment decisions on hand-built candidates: no model, no storage."""

from stories.assign import Features, Neighbour, Params, StoryCandidate, decide
from stories.entities import names
from stories.text import words

DAY = 86400.0
P = Params(near_duplicate=0.93, report=0.78, story=0.45, window_seconds=3 * DAY)


def feats(text: str, lang: str = "en", t: float = 0.0) -> Features:
    return Features(lang=lang, published_at=t, names=names(text), words=words(text))


def nb(sid: int, report: int, story: int, cos: float, f: Features) -> Neighbour:
    return Neighbour(sid, report, story, cos, f)


def test_nothing_near_opens_a_story() -> None:
    d = decide(feats("x"), [], [], P)
    assert d.level == "new" and d.story_id is None and d.report_id is None


def test_near_copy_in_same_language_is_a_duplicate() -> None:
    text = "Putin sets conditions for peace talks with Ukraine on Friday"
    d = decide(feats(text), [nb(7, 70, 700, 0.97, feats(text + " today"))], [], P)
    assert (d.level, d.report_id, d.story_id, d.matched_snippet) == ("duplicate", 70, 700, 7)


def test_translation_is_not_a_near_copy_but_joins_the_report() -> None:
    en = feats("Stoltenberg rejects Putin proposal", "en")
    ru = feats("Столтенберг отверг предложение Путина", "ru")
    d = decide(en, [nb(1, 10, 100, 0.95, ru)], [], P)
    assert d.level == "report" and d.report_id == 10 and d.story_id == 100


def test_shared_rare_names_lift_a_pair_over_the_report_threshold() -> None:
    en = feats("Stoltenberg rejects the proposal", "en")
    es = feats("Stoltenberg rechaza la propuesta", "es")
    other = feats("Zakharova comments", "ru")
    without = decide(en, [nb(1, 10, 100, 0.70, other)], [], P)
    with_name = decide(en, [nb(1, 10, 100, 0.70, es)], [], P)
    assert without.level == "new"
    assert with_name.level == "report" and with_name.score > 0.78


def test_story_level_uses_the_centroid_and_the_window() -> None:
    new = feats("Pentagon says Putin cannot set terms", t=10 * DAY)
    weak = nb(1, 10, 100, 0.5, feats("Kremlin speech", t=10 * DAY))
    inside = StoryCandidate(100, 0.6, first_seen=9 * DAY, last_seen=10 * DAY)
    d = decide(new, [weak], [inside], P)
    assert (d.level, d.story_id, d.report_id) == ("story", 100, None)
    stale = StoryCandidate(100, 0.6, first_seen=0.0, last_seen=5 * DAY)
    assert decide(new, [weak], [stale], P).level == "new"
    below = StoryCandidate(100, 0.3, first_seen=9 * DAY, last_seen=10 * DAY)
    assert decide(new, [weak], [below], P).level == "new"


def test_neighbours_outside_the_window_cannot_claim_a_report() -> None:
    new = feats("Stoltenberg rejects the proposal", t=20 * DAY)
    old = nb(1, 10, 100, 0.99, feats("Stoltenberg rejects the proposal", t=0.0))
    assert decide(new, [old], [], P).level == "new"


def test_best_scoring_report_wins_regardless_of_order() -> None:
    new = feats("Podolyak rejects Putin's plan")
    a = nb(1, 10, 100, 0.80, feats("Zakharova"))
    b = nb(2, 20, 100, 0.79, feats("Подоляк отверг план"))
    for order in ([a, b], [b, a]):
        assert decide(new, order, [], P).report_id == 20
