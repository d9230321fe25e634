"""Every knob of the clustering rules, in one place.

A model's calibration (`embeddings/calibration.json`) fills in the values it was
calibrated with; settings may override any of them. The defaults below are what a
model runs on when nobody calibrated it (`FALLBACK` names the three thresholds that
must then be loose), so online assignment, the nightly re-cluster, the evaluation
harness and the tests all read one definition.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from stories.event import EventModel

DAY = 86400.0


@dataclass(frozen=True)
class Params:
    # -- thresholds: they only mean something next to the model that made the cosines
    near_duplicate: float  # same-language cosine at or above which a snippet is a near copy
    report: float  # report-level score at or above which a snippet joins a report
    story: float  # cosine to a story's centre at or above which a snippet joins it
    window_seconds: float = 3 * DAY  # publication-time window for joining a story
    # -- report-level pair score (stories/scoring.py)
    margin_weight: float = 0.0  # how much of a pair's crowdedness is subtracted (0..2)
    background: float = 0.5  # the model's typical neighbour cosine: the margin's zero point
    background_k: int = 4  # neighbours that define a snippet's background
    same_language_penalty: float = 0.0  # same-language cosines run high: what to take off
    name_weight: float = 0.25  # what a full match of rare names adds to a pair's score
    number_weight: float = 0.05  # a shared figure nudges, a missing one does not punish
    mutual_bonus: float = 0.0  # what being each other's nearest neighbour adds (across langs)
    near_copy_words: float = 0.6  # word overlap (Jaccard) a near copy must also have
    rehome: bool = True  # may a mutual pair pull a member out of its report (assign.rehome)
    # third-language variants of a report leave a cross-language pair's crowd
    # (scoring.variant_relief)
    variant_relief: bool = True
    # -- candidates gathered for one snippet (engine/candidates.py)
    knn: int = 32  # neighbours consulted
    max_reports: int = 8  # reports of those neighbours scored
    members_per_report: int = 16  # most recent members of each scored report
    # -- batch re-clustering (stories/recluster.py)
    missing_gap: float = 0.2  # report edges below `report - gap` count as that floor
    story_slack: float = 0.1  # story candidate edges need cosine >= `story - slack`
    # -- event link (stories/event.py): fitted with the model's calibration; without one a
    # story is joined on its centre's cosine alone (`story`)
    event: EventModel | None = None
    event_link: bool = True  # False: the centre's cosine decides even where a link was fitted
    calibrated_on: str = "uncalibrated"

    @property
    def linker(self) -> EventModel | None:
        """The event link the story level uses, if any."""
        return self.event if self.event_link else None

    def override(self, **values: Any) -> Params:
        """A copy with the values that are not None; the note says settings changed it."""
        changes = {k: v for k, v in values.items() if v is not None}
        if not changes:
            return self
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"unknown parameters: {', '.join(sorted(unknown))}")
        return replace(
            self, calibrated_on=f"{self.calibrated_on}; overridden by settings", **changes
        )

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["event"] = None if self.event is None else self.event.as_dict()
        return out

    @classmethod
    def calibrated(cls, values: dict[str, Any] | None) -> Params:
        """From a calibration entry (field name -> value); None: the fallback."""
        if values is None:
            return FALLBACK
        known = {f.name: f.type for f in fields(cls)}
        kept: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                continue  # a newer calibration file may carry more
            if key == "calibrated_on":
                kept[key] = value
            elif key == "event":
                kept[key] = None if value is None else EventModel.from_dict(value)
            else:
                kept[key] = _number(key, value)
        return replace(FALLBACK, **kept)


def _number(key: str, value: Any) -> float | int | bool:
    default = getattr(FALLBACK, key)
    if isinstance(default, bool):
        return bool(value)
    if isinstance(default, int):
        return int(value)
    return float(value)


# For a model nobody calibrated: loose enough to group paraphrases of typical sentence
# encoders; the service warns and asks for `storyline calibrate`.
FALLBACK = Params(near_duplicate=0.96, report=0.80, story=0.55)

# What a calibration entry records beside the thresholds (the rest keep their defaults).
CALIBRATED = (
    "near_duplicate",
    "report",
    "story",
    "margin_weight",
    "background",
    "name_weight",
    "same_language_penalty",
    "mutual_bonus",
)
