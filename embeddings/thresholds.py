"""Each model carries the thresholds it was calibrated with.

Cosine scales differ a lot between models (USE puts unrelated news near 0.2,
e5 near 0.7), so a threshold only means something next to the model that made
it. Calibration results live in calibration.json beside this file.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from importlib.resources import files

from embeddings.base import ModelIdentity

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Thresholds:
    near_duplicate: float  # cosine at or above which a same-language snippet is a near copy
    report: float  # report-level score at or above which a snippet joins a report
    story: float  # story-level score at or above which a snippet joins a story
    margin_weight: float = 0.0  # share of a pair's crowdedness subtracted from its cosine
    background: float = 0.5  # the model's typical cosine to a snippet's 4 nearest neighbours
    name_weight: float = 0.25  # what shared rare names add to a report-level score
    same_language_penalty: float = 0.0  # what a same-language pair's cosine is marked down
    mutual_bonus: float = 0.0  # what mutual nearest neighbours add to a report-level score
    calibrated_on: str = "uncalibrated"

    def as_dict(self) -> dict[str, float | str]:
        return asdict(self)

    def override(self, **values: float | None) -> Thresholds:
        changes = {k: v for k, v in values.items() if v is not None}
        if not changes:
            return self
        return replace(
            self, calibrated_on=f"{self.calibrated_on}; overridden by settings", **changes
        )


# Used for a model nobody calibrated: loose enough to group paraphrases of
# typical sentence encoders, and a warning tells the user to calibrate.
FALLBACK = Thresholds(near_duplicate=0.96, report=0.80, story=0.55)


def _table() -> dict[str, dict[str, float | str]]:
    text = files("embeddings").joinpath("calibration.json").read_text(encoding="utf-8")
    data: dict[str, dict[str, float | str]] = json.loads(text)
    return data


def thresholds_for(identity: ModelIdentity) -> Thresholds:
    entry = _table().get(identity.name)
    if entry is None:
        log.warning(
            "model %s has no calibrated thresholds; using fallback %s. Calibrate it and set "
            "STORYLINE_REPORT_THRESHOLD / STORYLINE_STORY_THRESHOLD.",
            identity.name,
            FALLBACK,
        )
        return FALLBACK
    numbers = {k: float(v) for k, v in entry.items() if k != "calibrated_on"}
    return Thresholds(**numbers, calibrated_on=str(entry.get("calibrated_on", "")))  # type: ignore[arg-type]
