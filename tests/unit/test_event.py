"""The event link: features, rarity of names among candidates, the decision, the fit."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.event_fit import accuracy, fit
from stories.assign import best_story, decide, story_links
from stories.candidates import StoryCandidate
from stories.event import FEATURES, EventModel, gap_days, names_share, story_frequency
from stories.event_candidates import StoryView, candidate_rows
from stories.features import Features
from stories.params import Params

DAY = 86400.0
# centroid, nearest, names, has_names, figures, gap: near what usem3's calibration holds
MODEL = EventModel((4.9, 5.84, 4.45, -1.08, 0.89, -3.84), -5.49)
PARAMS = Params(near_duplicate=0.93, report=0.65, story=0.5, event=MODEL)


def snippet(names: set[str] = frozenset(), t: float = 10 * DAY, numbers=frozenset()) -> Features:
    return Features("en", t, frozenset(names), frozenset(numbers))


def story(sid: int, cos: float, names: set[str] = frozenset(), near: float | None = None):
    return StoryCandidate(
        sid, cos, 9 * DAY, 10 * DAY, cos if near is None else near, frozenset(names)
    )


def test_model_round_trips_and_names_what_is_missing() -> None:
    assert EventModel.from_dict(MODEL.as_dict()) == MODEL
    values = MODEL.as_dict()
    del values["gap"]
    with pytest.raises(ValueError, match="gap"):
        EventModel.from_dict(values)
    row = (0.5, 0.6, 1.0, 1.0, 0.0, 0.0)
    assert MODEL.logit(row) == pytest.approx(MODEL.logits(np.array([row]))[0])
    assert len(MODEL.weights) == len(FEATURES)


def test_gap_is_zero_inside_the_span_and_capped() -> None:
    assert gap_days(5 * DAY, 4 * DAY, 6 * DAY) == 0.0
    assert gap_days(8 * DAY, 4 * DAY, 6 * DAY) == pytest.approx(2.0)
    assert gap_days(2 * DAY, 4 * DAY, 6 * DAY) == pytest.approx(2.0)
    assert gap_days(100 * DAY, 4 * DAY, 6 * DAY) == 7.0


def test_a_name_every_candidate_carries_weighs_less_than_one_only_this_story_has() -> None:
    candidates = [frozenset({"brexit", "theresa"}), frozenset({"brexit", "chequers"})]
    counts, total = story_frequency(candidates)
    topic = names_share(frozenset({"brexit", "salzburg"}), candidates[0], counts, total)
    event = names_share(frozenset({"chequers", "salzburg"}), candidates[1], counts, total)
    assert 0.0 < topic < event
    assert names_share(frozenset(), candidates[0], counts, total) == 0.0


def test_shared_names_beat_a_closer_topic() -> None:
    """Two stories on one topic: the one sharing the snippet's rare names wins though its
    centre is farther; with the topic's name alone nothing passes."""
    new = snippet({"livingston", "rangers", "gerrard", "menga"})
    topical = story(1, 0.62, {"rangers", "celtic", "aberdeen"}, near=0.60)
    event = story(2, 0.55, {"livingston", "menga", "rangers"}, near=0.58)
    got = best_story(new, [topical, event], PARAMS)
    assert got is not None and got[0].story_id == 2
    elsewhere = snippet({"warren", "massachusetts"})
    links = dict((s.story_id, link) for s, link in story_links(elsewhere, [topical], PARAMS))
    assert links[1] < 0  # as close, but its names are not the story's


def test_a_snippet_without_names_is_judged_on_vector_and_time() -> None:
    new = snippet()
    with_names = story(1, 0.6, {"stoltenberg"})
    without = story(2, 0.6)
    links = [link for _, link in story_links(new, [with_names, without], PARAMS)]
    assert links[0] == links[1]  # the story's names neither help nor hurt
    assert best_story(new, [story(3, 0.80, near=0.85)], PARAMS) is not None
    assert best_story(new, [story(3, 0.40, near=0.45)], PARAMS) is None


def test_time_gap_counts_against_the_link() -> None:
    new = snippet({"sulawesi"}, t=10 * DAY)
    near_in_time = story(1, 0.55, {"sulawesi"})
    late = StoryCandidate(2, 0.55, 7 * DAY, 8 * DAY, 0.55, frozenset({"sulawesi"}))
    links = dict((s.story_id, link) for s, link in story_links(new, [near_in_time, late], PARAMS))
    assert links[2] < links[1]


def test_decide_opens_a_story_when_only_the_topic_matches() -> None:
    new = snippet({"warren", "massachusetts"})
    topical = story(7, 0.58, {"trump", "rosenstein"}, near=0.55)
    assert decide(new, 0.5, [], [], [], [topical], PARAMS).level == "new"
    centroid_only = Params(near_duplicate=0.93, report=0.65, story=0.5, event=MODEL)
    centroid_only = centroid_only.override(event_link=False)
    assert centroid_only.linker is None
    assert decide(new, 0.5, [], [], [], [topical], centroid_only).story_id == 7


def test_story_view_collects_its_members_among_the_neighbours() -> None:
    view = StoryView(1, 0.5, 0.0, DAY)
    view.add(0.7, snippet({"a1234"}, numbers={"12"}))
    view.add(0.6, snippet({"b1234"}))
    assert view.freeze().nearest == 0.7 and view.names == {"a1234", "b1234"}
    assert view.numbers == {"12"}
    ((_, row),) = candidate_rows(snippet({"a1234"}, t=DAY / 2, numbers={"12"}), [view])
    assert dict(zip(FEATURES, row, strict=True)) == {
        "centroid": 0.5,
        "nearest": 0.7,
        "names": 1.0,
        "has_names": 1.0,
        "figures": 1.0,
        "gap": 0.0,
    }


def test_calibration_entry_carries_the_link() -> None:
    entry = {"near_duplicate": 0.9, "report": 0.6, "story": 0.5, "event": MODEL.as_dict()}
    params = Params.calibrated(entry)
    assert params.linker == MODEL
    assert params.as_dict()["event"] == MODEL.as_dict()
    assert Params.calibrated({"near_duplicate": 0.9, "report": 0.6, "story": 0.5}).linker is None


def test_fit_finds_the_separating_weights() -> None:
    rng = np.random.default_rng(0)
    pos = np.column_stack(
        [rng.uniform(0.5, 0.8, 200), rng.uniform(0.6, 0.9, 200), rng.uniform(0.5, 1, 200)]
    )
    neg = np.column_stack(
        [rng.uniform(0.2, 0.5, 600), rng.uniform(0.2, 0.55, 600), rng.uniform(0, 0.3, 600)]
    )
    extra = np.zeros((800, 3))
    x = np.hstack([np.vstack([pos, neg]), extra])
    y = np.r_[np.ones(200), np.zeros(600)]
    model = fit([(x, y)], l2=1e-4)
    got = accuracy(model, x, y)
    assert got["precision"] == 1.0 and got["recall"] == 1.0
    assert all(w > 0 for w in model.weights[:3])


def test_online_merge_needs_the_stories_as_wholes_to_agree() -> None:
    """The bridging snippet passed both stories; they merge only if their centres do not
    contradict it (one bridge cannot chain two events on one topic)."""
    from stories.merges import StoryMass, merges

    e1, e2 = np.eye(4, dtype=np.float32)[0], np.eye(4, dtype=np.float32)[1]
    joined = StoryMass(1, 3 * e1, 3, 9 * DAY, 10 * DAY)
    close = StoryMass(2, 2 * unit_mix(e1, e2, 0.9), 2, 9 * DAY, 10 * DAY)
    apart = StoryMass(3, 2 * unit_mix(e1, e2, 0.3), 2, 9 * DAY, 10 * DAY)
    assert merges(joined, [close, apart], PARAMS) == [2]


def unit_mix(a: np.ndarray, b: np.ndarray, share: float) -> np.ndarray:
    v = share * a + (1 - share) * b
    return (v / np.linalg.norm(v)).astype(np.float32)
