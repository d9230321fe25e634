"""Event identity: does a snippet belong to a story, or is it only about the same topic?

A story is one event: who, where and when. Two items on one topic (two Brexit votes,
two Scottish football results) sit as close in a sentence encoder's space as two
reports of one event in different languages, so one cosine cut fails one way or the
other. The link is a small logistic model over evidence a news desk would weigh:

* `centroid`: cosine to the story's centre (its topic);
* `nearest`: cosine to the closest of its members among the snippet's neighbours (the
  report it most resembles);
* `names`: the share of the snippet's name weight that the story's members carry,
  each name weighted by how few of the candidate stories carry it (a name every
  candidate shares is the topic, one only this story has is the event);
* `has_names`: whether that comparison could be made at all (both sides have names);
* `figures`: a figure (two digits or more) the story also carries;
* `gap`: days between the snippet and the story's span (0 inside it).

The weights are fitted on labelled streams (`evaluation.event_fit`, run by `storyline
calibrate --event`) and stored with the model's calibration, since the cosines only mean
something next to the model that made them. A snippet with no names at all is judged on
its vector and time alone: `has_names` is 0, so the names weight neither helps nor
hurts, and the intercept, fitted for exactly that case among others, asks for a closer
vector than a snippet whose names agree. Pure: numbers in, logits out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from stories.entities import matches

FEATURES = ("centroid", "nearest", "names", "has_names", "figures", "gap")
MAX_GAP_DAYS = 7.0  # beyond a week the window has already said no


@dataclass(frozen=True)
class EventModel:
    """Logistic weights over `FEATURES`; a link is made at logit >= 0."""

    weights: tuple[float, ...]
    bias: float
    merge_margin: float = 0.0  # online: the bridging snippet's link to each story it merges
    repair_margin: float = 0.0  # nightly: the mean member link two stories need to merge

    def logit(self, x: Sequence[float]) -> float:
        return self.bias + sum(w * v for w, v in zip(self.weights, x, strict=True))

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Rows of `FEATURES` at once (the batch form)."""
        return (x @ np.asarray(self.weights, dtype=np.float64) + self.bias).astype(np.float64)

    def as_dict(self) -> dict[str, float]:
        out = dict(zip(FEATURES, self.weights, strict=True))
        out["bias"] = self.bias
        out["merge_margin"] = self.merge_margin
        out["repair_margin"] = self.repair_margin
        return out

    @classmethod
    def from_dict(cls, values: dict[str, float]) -> EventModel:
        missing = [f for f in (*FEATURES, "bias") if f not in values]
        if missing:
            raise ValueError(f"event model: missing weights {', '.join(missing)}")
        return cls(
            tuple(float(values[f]) for f in FEATURES),
            float(values["bias"]),
            float(values.get("merge_margin", 0.0)),
            float(values.get("repair_margin", 0.0)),
        )


def gap_days(published_at: float, first_seen: float, last_seen: float) -> float:
    """Days from the story's span to the snippet (0 inside it), capped at a week."""
    return span_gap_days(published_at, published_at, first_seen, last_seen)


def span_gap_days(first_a: float, last_a: float, first_b: float, last_b: float) -> float:
    """Days between two time spans (0 where they overlap), capped at a week."""
    gap = max(first_b - last_a, first_a - last_b, 0.0) / 86400.0
    return min(gap, MAX_GAP_DAYS)


def story_frequency(stories_names: Iterable[frozenset[str]]) -> tuple[dict[str, int], int]:
    """How many candidate stories carry each name, and how many candidates there are."""
    counts: dict[str, int] = {}
    total = 0
    for names in stories_names:
        total += 1
        for key in names:
            counts[key] = counts.get(key, 0) + 1
    return counts, total


def rarity(key: str, counts: dict[str, int], total: int) -> float:
    """1 for a name only one candidate story carries (or none), towards 0 for one all carry."""
    c = counts.get(key, 0)
    if c <= 1 or total <= 1:
        return 1.0
    return math.log((total + 1) / c) / math.log(total + 1)


def names_share(
    new: frozenset[str], story: frozenset[str], counts: dict[str, int], total: int
) -> float:
    """The share of the snippet's name weight that the story carries (0..1)."""
    if not new or not story:
        return 0.0
    weights = {k: rarity(k, counts, total) for k in new}
    whole = sum(weights.values())
    if whole <= 0.0:
        return 0.0
    # a close spelling needs the same first three letters (`keys_match`): most names fail
    # that cheap test against a story and never reach the fuzzy one
    prefixes = {k[:3] for k in story}
    found = sum(
        w for k, w in weights.items() if k in story or (k[:3] in prefixes and matches(k, story))
    )
    return found / whole


def features(
    centroid: float,
    nearest: float,
    share: float,
    has_names: bool,
    figures: bool,
    gap: float,
) -> tuple[float, ...]:
    """One row of `FEATURES`, in their order."""
    return (centroid, nearest, share, float(has_names), float(figures), gap)
